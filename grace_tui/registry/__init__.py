"""The registry: the one place that owns the database models and their queries."""

from grace_tui.registry.models import ACTIVE_STATUSES, STATUSES, TERMINAL_STATUSES
from grace_tui.registry.tasks import Registry, StatRow, TaskHandle, TaskView, new_task_id

__all__ = [
    "ACTIVE_STATUSES",
    "STATUSES",
    "TERMINAL_STATUSES",
    "Registry",
    "StatRow",
    "TaskHandle",
    "TaskView",
    "new_task_id",
]

"""Every table the registry owns. A new domain module adds its models here."""

from grace_tui.registry.models import Task, TaskStat

ALL_MODELS = [Task, TaskStat]

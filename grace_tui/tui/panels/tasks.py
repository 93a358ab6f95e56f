"""The task registry: what runs now, grouped by subsystem, with progress."""

from __future__ import annotations

from grace_tui.registry import TaskView
from grace_tui.tui import format as fmt
from grace_tui.tui.data import TaskData
from grace_tui.tui.panels.base import Palette, Panel, Row, styled

SUBSYSTEM_ORDER = ("self_healing", "learning", "governance", "ops")


def subsystem_rank(subsystem: str) -> tuple[int, str]:
    try:
        return SUBSYSTEM_ORDER.index(subsystem), subsystem
    except ValueError:
        return len(SUBSYSTEM_ORDER), subsystem


class TasksPanel(Panel):
    TITLE = "Running tasks"
    KEY = "3"
    EMPTY = "nothing running"
    COLUMNS = (
        ("subsystem", "Subsystem"),
        ("title", "Task"),
        ("bar", "Progress"),
        ("percent", "%"),
        ("elapsed", "Elapsed"),
        ("message", "Status"),  # last: the one that may be clipped at 80 columns
    )
    FLEX = ("title", "message")

    def build_rows(self, data: TaskData, now: float, palette: Palette) -> list[Row]:
        rows: list[Row] = []
        previous = None
        for task in sorted(data.active, key=lambda t: (subsystem_rank(t.subsystem), t.created_at, t.id)):
            group = task.subsystem if task.subsystem != previous else ""
            previous = task.subsystem
            rows.append((task.id, active_cells(task, group, now, palette)))
        return rows


def active_cells(t: TaskView, group: str, now: float, palette: Palette) -> tuple:
    pending = t.status == "pending"
    return (
        styled(group, palette.get("sev-low"), bold=True),
        fmt.clip(t.title, 200),
        styled(fmt.bar(t.progress, 10), palette.get("state-idle" if pending else "state-good")),
        "wait" if pending else f"{t.progress:.0f}%",
        fmt.duration(t.elapsed_s(now)) if not pending else "-",
        fmt.clip(t.message, 200),
    )

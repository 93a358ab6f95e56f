"""Recent completions of every subsystem, newest first, with their durations."""

from __future__ import annotations

from grace_tui.registry import TaskView
from grace_tui.tui import format as fmt
from grace_tui.tui.data import TaskData
from grace_tui.tui.panels.base import Palette, Panel, Row, styled

STATUS_COLOUR = {"completed": "state-good", "failed": "state-bad", "cancelled": "state-idle",
                 "interrupted": "state-warn"}


class HistoryPanel(Panel):
    TITLE = "Completed"
    KEY = "4"
    EMPTY = "nothing finished yet"
    COLUMNS = (
        ("subsystem", "Subsystem"),
        ("title", "Task"),
        ("status", "Result"),
        ("duration", "Took"),
        ("ended", "Ago"),
    )
    FLEX = ("title",)

    def build_rows(self, data: TaskData, now: float, palette: Palette) -> list[Row]:
        return [(t.id, done_cells(t, now, palette)) for t in data.recent]


def done_cells(t: TaskView, now: float, palette: Palette) -> tuple:
    ended = fmt.minute_age(now - t.completed_at) if t.completed_at else "-"
    return (
        t.subsystem,
        fmt.clip(t.title, 200),
        styled(t.status, palette.get(STATUS_COLOUR.get(t.status, "state-idle"))),
        fmt.duration(t.duration_s),
        ended,
    )

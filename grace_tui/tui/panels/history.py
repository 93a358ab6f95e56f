"""Completed tasks of every subsystem, newest first, with their durations.

The first rows are the most recent completions (kept live by the loader). Moving
the cursor onto the last row asks for the next older page, and `/` searches the
whole registry by title: both run in the loader thread, a page at a time
(keyset paging on the task id), never loading the whole history.
"""

from __future__ import annotations

from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable

from grace_tui.registry import TaskView
from grace_tui.tui import format as fmt
from grace_tui.tui.data import HistoryPage, TaskData
from grace_tui.tui.panels.base import Palette, Panel, Row, styled

SEARCH_DELAY_S = 0.3  # search once typing pauses: a search matching little scans the whole history

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

    class PageWanted(Message):
        """Ask the loader for a page of history."""

        def __init__(self, search: str, before_id: str | None):
            super().__init__()
            self.search = search
            self.before_id = before_id

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.search = ""  # the registry search ("" = browse the recent completions)
        self.pages: list[TaskView] = []  # loaded below the recent ones (browse) or search results
        self.more = True
        self.pending: tuple[str, str | None] | None = None  # the page asked for and not yet here
        self.next_before_id: str | None = None
        self._search_timer: Timer | None = None

    def build_rows(self, data: TaskData, now: float, palette: Palette) -> list[Row]:
        tasks = self.pages if self.search else data.recent + self.pages
        seen: set[str] = set()
        rows: list[Row] = []
        for t in tasks:
            if t.id not in seen:
                seen.add(t.id)
                rows.append((t.id, done_cells(t, now, palette)))
        return rows

    def set_filter(self, text: str, now: float, palette: Palette) -> None:
        search = text.strip()
        if search != self.search:
            self.search, self.pages, self.more, self.pending = search, [], True, None
            if self._search_timer is not None:
                self._search_timer.stop()
                self._search_timer = None
            if search:
                self._search_timer = self.set_timer(SEARCH_DELAY_S, self._search_now)
        super().set_filter(text, now, palette)

    def filter_done(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_now()

    def _search_now(self) -> None:
        self._search_timer = None
        if self.search and self.pending is None and not self.pages:
            self._want(None)

    def add_page(self, page: HistoryPage, now: float, palette: Palette) -> None:
        if self.pending != (page.search, page.before_id):
            return  # an answer to an older question (the search changed meanwhile)
        self.pending = None
        known = {t.id for t in self.pages}
        self.pages += [t for t in page.tasks if t.id not in known]
        self.next_before_id = page.next_before_id
        self.more = page.more
        self.redraw(now, palette)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= event.data_table.row_count - 1:
            self.load_older()

    def load_older(self) -> None:
        """The next page below what is shown, unless one is on its way or the history ended."""
        if not self.more or self.pending is not None:
            return
        if self.pages:
            before = self.next_before_id
        elif self.search:
            before = None
        else:
            recent = self.data.recent if self.data else []
            if not recent:
                return
            before = min(t.id for t in recent)
        self._want(before)

    def _want(self, before_id: str | None) -> None:
        self.pending = (self.search, before_id)
        self.post_message(self.PageWanted(self.search, before_id))


def done_cells(t: TaskView, now: float, palette: Palette) -> tuple:
    ended = fmt.minute_age(now - t.completed_at) if t.completed_at else "-"
    return (
        t.subsystem,
        fmt.clip(t.title, 200),
        styled(t.status, palette.get(STATUS_COLOUR.get(t.status, "state-idle"))),
        fmt.duration(t.duration_s),
        ended,
    )

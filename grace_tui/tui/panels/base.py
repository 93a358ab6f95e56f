"""What every panel shares: a titled box around one DataTable kept in sync by key.

A panel turns its data into rows (`build_rows`), the base class filters them and
applies them to the table touching only what changed: `update_cell` for changed
cells, `add_row` for new keys, one `clear()` when the order changed.
"""

from __future__ import annotations

import functools
import time
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable

from grace_tui.text import one_line

Cell = str | Text
Row = tuple[str, tuple[Cell, ...]]
Palette = dict[str, str]

MAX_PIECEMEAL_REMOVALS = 3  # beyond this one clear() is cheaper (remove_row re-lays out the table)
MIN_FLEX = 8  # the flexible column never shrinks below this
SCROLLBAR = 1  # the table's vertical scrollbar (app.tcss)


def inert(cell: Cell) -> Text:
    """A cell as text to draw, never markup to parse (DataTable parses a str: a task titled
    "sync [/srv]" raised MarkupError, ":fire:" became an emoji), with control characters made visible."""
    if isinstance(cell, Text):
        return cell if cell.plain.isprintable() else Text(one_line(cell.plain), style=cell.style)
    return _inert_str(str(cell))


@functools.lru_cache(maxsize=4096)
def _inert_str(text: str) -> Text:
    """Shared, so never changed after (clip_cell copies): every tick redraws the same titles."""
    return Text(one_line(text))


def plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def clip_cell(cell: Cell, width: int) -> Cell:
    """Fit a cell into `width` terminal cells, ending in an ellipsis when cut."""
    if cell_len(plain(cell)) <= width:
        return cell
    text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
    text.truncate(width, overflow="ellipsis")
    return text if isinstance(cell, Text) else text.plain


def fit_widths(needs: list[int], flex: list[int], available: int) -> list[int]:
    """Column widths: each its widest cell; the flex columns share what is left (at least MIN_FLEX
    each), a flex column that needs less than its share leaving the rest to the others."""
    widths = list(needs)
    room = available - sum(w for i, w in enumerate(needs) if i not in flex)
    waiting = sorted(flex, key=lambda i: needs[i])
    while waiting:
        share = room // len(waiting)
        if needs[waiting[0]] <= share:
            room -= needs[waiting.pop(0)]
            continue
        for i in waiting:
            widths[i] = max(MIN_FLEX, share)
        break
    return widths


def styled(text: str, colour: str | None, bold: bool = False) -> Text:
    style = f"{'bold ' if bold else ''}{colour or ''}".strip()
    return Text(text, style=style)


class Panel(Vertical):
    """One box of the pane. Subclasses set TITLE, KEY, COLUMNS and build_rows()."""

    TITLE: ClassVar[str] = ""
    KEY: ClassVar[str] = ""  # the number key that focuses it
    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()  # (column key, label)
    EMPTY: ClassVar[str] = "nothing here"
    FLEX: ClassVar[tuple[str, ...]] = ()  # columns sharing the remaining width (clipped with …)

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id, classes="panel")
        self.data: Any = None
        self.filter_text = ""
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._row_count = 0
        self._titles: tuple[str, str] | None = None
        self._palette: Palette = {}
        # Kept by reference: the footer asks for the selected row while the app starts and stops,
        # when a query finds no table yet (or any more).
        self._table: DataTable[Cell] = DataTable(cursor_type="row", zebra_stripes=False, id=f"{id}-table")
        self._table.cursor_foreground_priority = "renderable"

    def compose(self) -> ComposeResult:
        yield self._table

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.table.add_column(label, key=key)
        self._update_title()

    @property
    def table(self) -> DataTable[Cell]:
        return self._table

    # ------------------------------------------------------------------ data in
    def show(self, data: Any, now: float, palette: Palette) -> None:
        self.data = data
        self.redraw(now, palette)

    def redraw(self, now: float, palette: Palette) -> None:
        """Rebuild rows from the cached data (also on each clock tick, for ages)."""
        self._palette = palette
        if self.data is None:
            return
        rows = [(key, tuple(inert(cell) for cell in cells))
                for key, cells in self.build_rows(self.data, now, palette)]
        self._row_count = len(rows)
        if self.filter_text:
            needle = self.filter_text.lower()
            rows = [r for r in rows if any(needle in plain(c).lower() for c in r[1])]
        self._sync(self.fit(rows))
        self._update_title(len(rows))

    def on_resize(self) -> None:
        # the flexible column follows the panel's width
        self.redraw(getattr(self.app, "clock", time.time)(), self._palette)

    def fit(self, rows: list[Row]) -> list[Row]:
        """Clip the flexible columns so every other column shows its widest cell in full."""
        width = self.table.size.width
        if not self.FLEX or width <= 0 or not rows:
            return rows
        keys = [key for key, _ in self.COLUMNS]
        flex = [keys.index(key) for key in self.FLEX]
        needs = [max([cell_len(label)] + [cell_len(plain(cells[i])) for _, cells in rows])
                 for i, (_, label) in enumerate(self.COLUMNS)]
        available = width - SCROLLBAR - 2 * self.table.cell_padding * len(keys)
        widths = fit_widths(needs, flex, available)
        if all(widths[i] >= needs[i] for i in flex):
            return rows
        return [(key, tuple(clip_cell(cell, widths[i]) if i in flex else cell for i, cell in enumerate(cells)))
                for key, cells in rows]

    def build_rows(self, data: Any, now: float, palette: Palette) -> list[Row]:
        raise NotImplementedError

    def invalidate(self) -> None:
        """Forget what was drawn (a theme change restyles every cell)."""
        self._cells = {}

    def set_filter(self, text: str, now: float, palette: Palette) -> None:
        self.filter_text = text.strip()
        self.redraw(now, palette)

    def filter_done(self) -> None:
        """The filter was confirmed (enter): a panel that searches elsewhere starts now."""

    # ------------------------------------------------------------------ selection
    def selected_key(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None

    # ------------------------------------------------------------------ internals
    def _update_title(self, shown: int | None = None) -> None:
        title = f"[{self.KEY}] {self.TITLE}" if self.KEY else self.TITLE
        if self.filter_text:
            title += f"  /{self.filter_text}  {shown}/{self._row_count}"
        elif shown:
            title += f" ({shown})"
        subtitle = self.EMPTY if shown == 0 and not self.filter_text else ""
        if (title, subtitle) != self._titles:  # setting a border title always repaints the panel
            self._titles = (title, subtitle)
            self.border_title = title
            self.border_subtitle = subtitle

    def _sync(self, rows: list[Row]) -> None:
        table = self.table
        old_keys = [row.key.value for row in table.ordered_rows]
        new_keys = [key for key, _ in rows]
        with self.app.batch_update():
            if old_keys == new_keys:
                self._update_changed(rows)
            elif new_keys[: len(old_keys)] == old_keys:  # only new rows at the end
                self._update_changed(rows[: len(old_keys)])
                for key, cells in rows[len(old_keys):]:
                    table.add_row(*cells, key=key)
                    self._cells[key] = cells
            elif self._only_removals(old_keys, new_keys):
                for key in set(old_keys) - set(new_keys):
                    table.remove_row(key)
                    self._cells.pop(key, None)
                self._update_changed(rows)
            else:
                self._rebuild(rows)

    def _only_removals(self, old_keys: list[str], new_keys: list[str]) -> bool:
        keep = set(new_keys)
        return (len(old_keys) - len(new_keys) <= MAX_PIECEMEAL_REMOVALS
                and [k for k in old_keys if k in keep] == new_keys)

    def _update_changed(self, rows: list[Row]) -> None:
        table = self.table
        columns = [key for key, _ in self.COLUMNS]
        for key, cells in rows:
            before = self._cells.get(key)
            if before == cells:
                continue
            for index, cell in enumerate(cells):
                if before is None or before[index] != cell:
                    # re-measuring the column re-lays out the whole table: only when the width changed
                    resized = before is None or cell_len(plain(cell)) != cell_len(plain(before[index]))
                    table.update_cell(key, columns[index], cell, update_width=resized)
            self._cells[key] = cells

    def _rebuild(self, rows: list[Row]) -> None:
        table = self.table
        selected = self.selected_key()
        table.clear()
        self._cells = {}
        for key, cells in rows:
            table.add_row(*cells, key=key)
            self._cells[key] = cells
        if selected is not None:
            index = next((i for i, (key, _) in enumerate(rows) if key == selected), None)
            if index is not None:
                table.move_cursor(row=index, animate=False)

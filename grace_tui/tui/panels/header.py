"""The header line: host, uptime, incident counts, services down and today's MTTR."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from grace_tui.tui import format as fmt
from grace_tui.tui.data import Overview
from grace_tui.tui.panels.base import Palette


class HeaderBar(Static):
    def __init__(self, mode: str, *, id: str | None = None):
        super().__init__("grace-tui", id=id, markup=False)
        self.mode = mode
        self.supervised: bool | None = None  # attached: is a supervisor holding the state dir (None: not known)
        self.overview: Overview | None = None
        self._last: Text | None = None

    def show(self, overview: Overview | None, now: float, palette: Palette) -> None:
        self.overview = overview
        self.redraw(now, palette)

    def set_supervised(self, supervised: bool, now: float, palette: Palette) -> None:
        self.supervised = supervised
        self.redraw(now, palette)

    def redraw(self, now: float, palette: Palette) -> None:
        text = header_text(self.overview, self.mode, now, palette, self.supervised is not False)
        if self._last is None or text.plain != self._last.plain or text.spans != self._last.spans:
            self._last = text
            self.update(text)

    def invalidate(self) -> None:
        self._last = None


def header_text(o: Overview | None, mode: str, now: float, palette: Palette, supervised: bool = True) -> Text:
    text = Text()
    text.append(" grace-tui ", style="bold reverse")
    if o is None:
        text.append("  loading...")
        return text
    text.append(f" {o.host}", style="bold")
    if o.boot_time:
        text.append(f"  up {fmt.coarse_age(now - o.boot_time)}")
    text.append("  |  ")
    open_style = f"bold {palette.get('state-bad', '')}" if o.open_count else palette.get("state-good", "")
    text.append(f"{o.open_count} open", style=open_style)
    text.append(f"  {o.acked_count} acked")
    if o.down_count:  # a failed remediation ends its incident, but the service is still down
        text.append(f"  {o.down_count} down", style=f"bold {palette.get('state-bad', '')}")
    text.append("  |  MTTR today ")
    if o.mttr_today_s is None:
        text.append("-")
    else:
        text.append(fmt.duration(o.mttr_today_s), style="bold")
        text.append(f" ({o.resolved_today} healed)")
    if supervised:
        text.append(f"  |  {mode}", style=palette.get("state-idle", ""))
    else:  # attached to a state dir no supervisor holds: what it shows is not being looked after
        text.append(f"  |  {mode}, NO SUPERVISOR", style=f"bold {palette.get('state-bad', '')}")
    return text

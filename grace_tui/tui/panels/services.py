"""Services: state, PID, uptime, restarts, CPU and RSS with sparklines."""

from __future__ import annotations

from rich.text import Text

from grace_tui.registry.services import ServiceView
from grace_tui.tui import format as fmt
from grace_tui.tui.panels.base import Palette, Panel, Row, styled

STATE_COLOUR = {
    "running": "state-good",
    "starting": "state-warn",
    "backoff": "state-warn",
    "degraded": "state-warn",  # the host row while a host check has an open incident
    "stopped": "state-idle",
    "unknown": "state-idle",
    "escalated": "state-bad",
    "failed": "state-bad",
}


class ServicesPanel(Panel):
    TITLE = "Services"
    KEY = "1"
    EMPTY = "no services configured"
    COLUMNS = (
        ("name", "Service"),
        ("state", "State"),
        ("pid", "PID"),
        ("uptime", "Up"),
        ("restarts", "Rst"),
        ("cpu", "CPU"),
        ("rss", "RSS"),
        ("port", "Port"),
    )
    FLEX = ("name",)

    def build_rows(self, data: list[ServiceView], now: float, palette: Palette) -> list[Row]:
        return [(s.name, service_cells(s, now, palette)) for s in data]


def service_cells(s: ServiceView, now: float, palette: Palette) -> tuple:
    silenced = s.silenced_until is not None and s.silenced_until > now
    state = s.state + (" (silenced)" if silenced else "")
    colour = palette.get(STATE_COLOUR.get(s.state, "state-idle"))
    history = s.history or {}
    return (
        fmt.clip(s.name, 40),
        styled(state, colour, bold=s.state in ("failed", "escalated")),
        str(s.pid) if s.pid else "-",
        fmt.coarse_age(s.uptime_s(now)),
        str(s.restarts),
        figure_with_trend(fmt.percent(s.cpu_pct), 4, history.get("cpu"), palette.get("state-good")),
        figure_with_trend(fmt.size(s.rss_bytes), 5, history.get("rss"), palette.get("sev-low")),
        str(s.port) if s.port else "-",
    )


TREND_WIDTH = 6


def figure_with_trend(figure: str, width: int, history: list[float] | None, colour: str | None) -> Text:
    """ " 12% ▂▃▅▆▇█": the figure right-aligned, then its recent trend (one column, one padding)."""
    return Text.assemble(figure.rjust(width), " ", styled(fmt.sparkline(history, TREND_WIDTH), colour))

"""Incidents: open first, then the most recent ended ones."""

from __future__ import annotations

from grace_tui.registry.incidents import IncidentView
from grace_tui.tui import format as fmt
from grace_tui.tui.incident_text import row_summary
from grace_tui.tui.panels.base import Palette, Panel, Row, styled

INCIDENT_STATE_COLOUR = {
    "open": "state-bad",
    "remediating": "state-warn",
    "escalated": "state-bad",
    "resolved": "state-good",
    "failed": "state-bad",
}


SEVERITY_LABEL = {"critical": "CRIT", "high": "HIGH", "medium": "MED", "low": "LOW", "info": "INFO"}


class IncidentsPanel(Panel):
    TITLE = "Incidents"
    KEY = "2"
    EMPTY = "no incidents"
    COLUMNS = (
        ("severity", "Sev"),
        ("kind", "Kind"),
        ("service", "Service"),
        ("age", "Age"),
        ("state", "State"),
        ("mttr", "MTTR"),
        ("ack", "Ack"),
        ("summary", "Summary"),
    )
    FLEX = ("summary",)

    def build_rows(self, data: list[IncidentView], now: float, palette: Palette) -> list[Row]:
        return [(i.id, incident_cells(i, now, palette)) for i in data]


def incident_cells(i: IncidentView, now: float, palette: Palette) -> tuple:
    sev_colour = palette.get(f"sev-{i.severity}")
    ended = not i.is_open
    age = fmt.coarse_age(now - i.detected_at)
    ack = fmt.clip(i.acked_by, 12) if i.acked_by else ("-" if ended else "no")
    return (
        styled(SEVERITY_LABEL.get(i.severity, i.severity[:4].upper()), sev_colour,
               bold=i.severity in ("critical", "high") and not ended),
        fmt.clip(i.kind, 16),
        fmt.clip(i.service or "host", 16),
        age,
        styled(i.state, palette.get(INCIDENT_STATE_COLOUR.get(i.state, "state-idle")), bold=not ended),
        fmt.duration(i.mttr_s) if i.mttr_s is not None else "-",
        styled(ack, palette.get("state-good") if i.acked_by else palette.get("state-warn") if not ended else None),
        fmt.clip(row_summary(i), 300),
    )

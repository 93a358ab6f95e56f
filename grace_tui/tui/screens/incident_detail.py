"""Enter on an incident: its facts and full timeline, each attempt's argv, exit code, output."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from grace_tui.registry.incidents import IncidentView, TimelineEntry
from grace_tui.tui.incident_text import facts_text, timeline_text


class IncidentDetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("a", "app.acknowledge", "Acknowledge"),
        Binding("r", "app.retry", "Retry"),
        Binding("s", "app.silence", "Silence"),
    ]

    def __init__(self, incident_id: str):
        super().__init__()
        self.incident_id = incident_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static("loading...", id="detail-facts", markup=False)
            yield Static("", id="detail-timeline", markup=False)
        yield Footer()

    def show(self, incident: IncidentView, entries: list[TimelineEntry], palette: dict[str, str]) -> None:
        self.query_one("#detail-facts", Static).update(facts_text(incident, palette))
        self.query_one("#detail-timeline", Static).update(timeline_text(entries, incident.detected_at, palette))

    def action_close(self) -> None:
        self.dismiss(None)

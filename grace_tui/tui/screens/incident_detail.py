"""Enter on an incident: its facts and full timeline, each attempt's argv, exit code, output."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from grace_tui.registry.incidents import IncidentView, TimelineEntry
from grace_tui.text import inert_lines, one_line
from grace_tui.tui import format as fmt
from grace_tui.tui.incident_text import detail_facts

OUTPUT_LINES = 20  # of each attempt's output; the full text is in incidents.jsonl


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


def facts_text(i: IncidentView, palette: dict[str, str]) -> Text:
    text = Text()
    text.append(f"{i.severity.upper()} ", style=f"bold {palette.get(f'sev-{i.severity}', '')}")
    text.append(f"{one_line(i.summary)}\n", style="bold")
    rows = [
        ("incident", i.id),
        ("kind", f"{i.kind}" + (f"  check {i.check}" if i.check else "")),
        ("service", i.service or "host"),
        ("state", i.state),
        ("detected", fmt_time(i.detected_at)),
        ("attempts", str(i.attempts)),
        ("MTTR", fmt.duration(i.mttr_s) if i.mttr_s is not None else "-"),
        ("acked", f"{i.acked_by} at {fmt_time(i.acked_at)}" + (f" ({i.ack_reason})" if i.ack_reason else "")
         if i.acked_by else "no"),
    ]
    facts = detail_facts(i)
    rows += facts
    detail = {k: v for k, v in (i.detail or {}).items() if k != "last_output"}  # shown as lines below
    if detail and not facts:  # the facts already say it in words
        rows.append(("detail", json.dumps(detail, sort_keys=True, default=str)))
    for label, value in rows:
        text.append(f"  {label:<9}", style="dim")
        text.append(f"{one_line(str(value))}\n")
    last_output = str((i.detail or {}).get("last_output") or "")
    if last_output:
        text.append(f"  {'output':<9}", style="dim")
        text.append(f"its last lines (logs/{i.service}.log):\n", style="dim")
        for line in inert_lines(last_output):
            text.append(f"      | {line}\n", style="dim")
    return text


def timeline_text(entries: list[TimelineEntry], t0: float, palette: dict[str, str]) -> Text:
    text = Text()
    text.append("Timeline\n", style="bold underline")
    for entry in entries:
        text.append(f"  +{fmt.duration(max(0.0, entry.at - t0)):>7}  ", style="dim")
        colour = palette.get("state-warn") if entry.type == "remediation" else None
        text.append(f"{entry.type:<12}", style=f"bold {colour or ''}".strip())
        text.append(f" {one_line(timeline_message(entry))}\n")
        if entry.type == "remediation":
            attempt_lines(text, entry.data, palette)
    if not entries:
        text.append("  (no entries)\n", style="dim")
    return text


def timeline_message(entry: TimelineEntry) -> str:
    """A state entry leads with the state it moved to: "→ resolved: recovered by restart"."""
    state = entry.data.get("state") if entry.type == "state" else None
    if not state:
        return entry.message
    return f"→ {state}" + (f": {entry.message}" if entry.message and entry.message != state else "")


def attempt_lines(text: Text, data: dict[str, Any], palette: dict[str, str]) -> None:
    """One remediation attempt: what ran (argv or action), how it ended, its output."""
    argv = data.get("argv")
    if argv:
        text.append("      $ ", style="dim")
        text.append(one_line(" ".join(str(a) for a in argv)) + "\n")
    code = data.get("exit_code")
    facts = []
    if data.get("action") and not argv:
        facts.append(str(data["action"]))
    if code is not None:
        facts.append(f"exit {code}")
    if data.get("pid"):
        facts.append(f"pid {data['pid']}")
    if data.get("duration_s") is not None:
        facts.append(f"took {fmt.duration(float(data['duration_s']))}")
    if data.get("timed_out"):
        facts.append("timed out")
    if data.get("error"):
        facts.append(str(data["error"]))
    if facts:
        ok = data.get("ok", code == 0 and not data.get("timed_out") and not data.get("error"))
        colour = palette.get("state-good" if ok else "state-bad", "")
        text.append("      " + one_line(", ".join(facts)) + "\n", style=colour)
    output = str(data.get("output") or "").rstrip()
    if output:
        lines = inert_lines(output)
        for line in lines[-OUTPUT_LINES:]:
            text.append(f"      | {line}\n", style="dim")
        if len(lines) > OUTPUT_LINES:
            text.append(f"      | ({len(lines) - OUTPUT_LINES} earlier lines in incidents.jsonl)\n", style="dim")


def fmt_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    from datetime import datetime

    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M:%S")

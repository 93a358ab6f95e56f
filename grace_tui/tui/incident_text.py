"""What an anomaly or a forecast incident means, in words a sysadmin reads at a glance.

The learning part opens them with machine detail (grace_tui.learning.online):
anomaly {metric, value, expected, expected_low, expected_high, score};
forecast {metric, eta_s, eta_low_s, eta_high_s, used, capacity, slope_per_h}.
"""

from __future__ import annotations

import json
import math
from typing import Any

from rich.text import Text

from grace_tui.learning.forecast import format_eta
from grace_tui.learning.online import metric_label
from grace_tui.registry.incidents import IncidentView, TimelineEntry
from grace_tui.text import inert_lines, one_line
from grace_tui.tui import format as fmt

OUTPUT_LINES = 20  # of each attempt's output; the full text is in incidents.jsonl

BYTE_METRICS = ("mem_used", "rss_bytes")


def value_text(metric: str, value: Any) -> str:
    """A metric's value in its unit: sizes for bytes, % for percentages."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "?"
    if metric.startswith(("disk:", "dir:")) or metric.endswith(BYTE_METRICS):
        return fmt.size(value)
    if metric.endswith("_pct"):
        return f"{value:.0f}%"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def expected_text(metric: str, detail: dict[str, Any]) -> str:
    """"~1.2G (0.9G–1.5G)": what the learned model expected at that moment."""
    text = f"~{value_text(metric, detail.get('expected'))}"
    low, high = detail.get("expected_low"), detail.get("expected_high")
    if low is not None or high is not None:
        text += f" ({value_text(metric, low) if low is not None else '-∞'}–" \
                f"{value_text(metric, high) if high is not None else '∞'})"
    return text


def range_text(metric: str, detail: dict[str, Any]) -> str:
    """The short form for a table row: the expected band, else the expected value."""
    low, high = detail.get("expected_low"), detail.get("expected_high")
    if low is not None and high is not None:
        return f"{value_text(metric, low)}–{value_text(metric, high)}"
    return f"~{value_text(metric, detail.get('expected'))}"


def eta_band_text(detail: dict[str, Any]) -> str:
    """"~2 h to ~5 h": the forecast's band (its high end may be never)."""
    return f"{format_eta(detail.get('eta_low_s'))} to {format_eta(detail.get('eta_high_s'))}"


def row_summary(i: IncidentView) -> str:
    """The Summary cell: anomaly and forecast incidents say what, how much and against what."""
    detail = i.detail or {}
    metric = str(detail.get("metric") or "")
    if i.kind == "anomaly" and metric:
        return (f"{metric_label(metric)} {value_text(metric, detail.get('value'))}, "
                f"expected {range_text(metric, detail)}")
    if i.kind == "forecast" and metric:
        return (f"{metric_label(metric)} full in {format_eta(detail.get('eta_s'))} "
                f"(band {eta_band_text(detail)})")
    return i.summary


def detail_facts(i: IncidentView) -> list[tuple[str, str]]:
    """Labelled lines for the detail screen; empty for other kinds."""
    detail = i.detail or {}
    metric = str(detail.get("metric") or "")
    if not metric:
        return []
    if i.kind == "anomaly":
        score = detail.get("score")
        return [("metric", f"{metric_label(metric)}  ({metric})"),
                ("value", value_text(metric, detail.get("value"))),
                ("expected", expected_text(metric, detail)),
                ("score", f"{score:.2f}" if isinstance(score, (int, float)) else "-")]
    if i.kind == "forecast":
        facts = [("metric", f"{metric_label(metric)}  ({metric})"),
                 ("full in", format_eta(detail.get("eta_s"))),
                 ("band", eta_band_text(detail))]
        used, capacity = detail.get("used"), detail.get("capacity")
        if isinstance(used, (int, float)) and isinstance(capacity, (int, float)) and capacity:
            facts.append(("used", f"{value_text(metric, used)} of {value_text(metric, capacity)} "
                                  f"({used / capacity * 100:.0f}%)"))
        slope = detail.get("slope_per_h")
        if isinstance(slope, (int, float)):
            facts.append(("growth", f"{value_text(metric, slope)} per hour"))
        return facts
    return []


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
    detail = {k: v for k, v in (i.detail or {}).items() if k != "last_output"}  # lines in the timeline
    if detail and not facts:  # the facts already say it in words
        rows.append(("detail", json.dumps(detail, sort_keys=True, default=str)))
    for label, value in rows:
        text.append(f"  {label:<9}", style="dim")
        text.append(f"{one_line(str(value))}\n")
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
        elif entry.data.get("last_output"):  # a process's last lines when it exited: why, often
            for line in inert_lines(str(entry.data["last_output"]))[-OUTPUT_LINES:]:
                text.append(f"      | {line}\n", style="dim")
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

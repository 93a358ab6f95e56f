"""What an anomaly or a forecast incident means, in words a sysadmin reads at a glance.

The learning part opens them with machine detail (grace_tui.learning.online):
anomaly {metric, value, expected, expected_low, expected_high, score};
forecast {metric, eta_s, eta_low_s, eta_high_s, used, capacity, slope_per_h}.
"""

from __future__ import annotations

import math
from typing import Any

from grace_tui.learning.forecast import format_eta
from grace_tui.learning.online import metric_label
from grace_tui.registry.incidents import IncidentView
from grace_tui.tui import format as fmt

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

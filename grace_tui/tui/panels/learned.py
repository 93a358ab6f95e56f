"""Learned: what healing taught the policy, per service, incident kind and action."""

from __future__ import annotations

from grace_tui.tui import format as fmt
from grace_tui.tui.data import LearnedAction
from grace_tui.tui.panels.base import Palette, Panel, Row, styled


class LearnedPanel(Panel):
    TITLE = "Learned"
    KEY = "6"
    EMPTY = "no remediation outcomes yet"
    COLUMNS = (
        ("service", "Service"),
        ("kind", "Incident"),
        ("action", "Action"),
        ("tries", "Tries"),
        ("success", "Success"),
        ("ttr", "Median TTR"),
        ("policy", "Policy"),
    )
    FLEX = ("service",)

    def build_rows(self, data: list[LearnedAction], now: float, palette: Palette) -> list[Row]:
        return [(f"{a.stats.service}/{a.stats.kind}/{a.stats.action}", learned_cells(a, palette)) for a in data]


def learned_cells(a: LearnedAction, palette: Palette) -> tuple:
    s = a.stats
    rate = s.success_rate
    colour = palette.get("state-good" if rate is not None and rate >= 0.8 else
                         "state-warn" if rate is not None and rate >= 0.5 else "state-bad")
    return (
        fmt.clip(s.service, 40),
        s.kind,
        styled(s.action, palette.get("state-good") if a.preferred else None, bold=a.preferred),
        str(s.tries),
        styled(fmt.percent(rate * 100 if rate is not None else None).rjust(7), colour),
        fmt.duration(s.median_ttr_s).rjust(10),
        styled("prefers", palette.get("state-good"), bold=True) if a.preferred else "",
    )

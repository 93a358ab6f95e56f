"""Learning: jobs of the learning subsystem and config proposals waiting for a decision."""

from __future__ import annotations

import json

from grace_tui.tui import format as fmt
from grace_tui.tui.data import LearningData
from grace_tui.tui.panels.base import Palette, Panel, Row, styled

PROPOSAL_PREFIX = "proposal:"
TASK_PREFIX = "task:"


class LearningPanel(Panel):
    TITLE = "Learning"
    KEY = "5"
    EMPTY = "nothing learning"
    COLUMNS = (
        ("what", "Learning job / proposal"),
        ("bar", "Progress"),
        ("status", "Status"),
        ("detail", "Detail"),
    )
    FLEX = ("what", "detail")

    def build_rows(self, data: LearningData, now: float, palette: Palette) -> list[Row]:
        rows: list[Row] = []
        for p in data.proposals:
            changes = "; ".join(change_text(c) for c in p.changes)
            rows.append((f"{PROPOSAL_PREFIX}{p.id}", (
                styled(f"#{p.id} {p.kind}", palette.get("state-warn"), bold=True),
                "",
                styled("y/n?", palette.get("state-warn"), bold=True),
                fmt.clip(f"{changes} ({p.reason})" if changes else p.reason, 300),
            )))
        for t in data.jobs:
            running = t.status in ("active", "pending")
            status = f"{t.progress:.0f}%" if running else t.status
            detail = t.message if running else (t.error or t.message or fmt.duration(t.duration_s))
            rows.append((f"{TASK_PREFIX}{t.id}", (
                fmt.clip(t.title, 200),
                styled(fmt.bar(t.progress, 10), palette.get("state-good" if running else "state-idle")),
                status,
                fmt.clip(f"{detail}  {fmt.duration(t.elapsed_s(now))}", 200),
            )))
        return rows


def change_text(change: dict) -> str:
    """"services.api.cpu_pct: 80 → 92" (values as JSON so strings and lists read unambiguously)."""
    return (f"{change.get('path')}: {json.dumps(change.get('old'), default=str)} → "
            f"{json.dumps(change.get('new'), default=str)}")


def proposal_id(key: str | None) -> int | None:
    if key and key.startswith(PROPOSAL_PREFIX):
        return int(key[len(PROPOSAL_PREFIX):])
    return None


def learning_task_id(key: str | None) -> str | None:
    if key and key.startswith(TASK_PREFIX):
        return key[len(TASK_PREFIX):]
    return None

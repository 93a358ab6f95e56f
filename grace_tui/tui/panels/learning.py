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

    def build_rows(self, data: LearningData, now: float, palette: Palette) -> list[Row]:
        rows: list[Row] = []
        for p in data.proposals:
            changes = ", ".join(f"{c.get('path')}: {json.dumps(c.get('old'))}->{json.dumps(c.get('new'))}"
                                for c in p.changes)
            rows.append((f"{PROPOSAL_PREFIX}{p.id}", (
                styled(f"#{p.id} {p.kind}", palette.get("state-warn"), bold=True),
                "",
                styled("y/n?", palette.get("state-warn"), bold=True),
                fmt.clip(changes or p.reason, 60),
            )))
        for t in data.jobs:
            running = t.status in ("active", "pending")
            status = f"{t.progress:.0f}%" if running else t.status
            detail = t.message if running else (t.error or t.message or fmt.duration(t.duration_s))
            rows.append((f"{TASK_PREFIX}{t.id}", (
                fmt.clip(t.title, 32),
                styled(fmt.bar(t.progress, 10), palette.get("state-good" if running else "state-idle")),
                status,
                fmt.clip(f"{detail}  {fmt.duration(t.elapsed_s(now))}", 50),
            )))
        return rows


def proposal_id(key: str | None) -> int | None:
    if key and key.startswith(PROPOSAL_PREFIX):
        return int(key[len(PROPOSAL_PREFIX):])
    return None


def learning_task_id(key: str | None) -> str | None:
    if key and key.startswith(TASK_PREFIX):
        return key[len(TASK_PREFIX):]
    return None

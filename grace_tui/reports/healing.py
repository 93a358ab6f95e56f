"""`grace-tui report healing`: how incidents were healed, computed from the registry,
and cross-checked against incidents.jsonl."""

from __future__ import annotations

import statistics
from collections import Counter
from time import sleep
from typing import Any

from grace_tui.incidents import read_jsonl
from grace_tui.registry import incidents as store
from grace_tui.registry.incidents import HealingColumns


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(q * len(ordered) + 0.5)) - 1))
    return ordered[index]


def summarize(columns: HealingColumns) -> dict[str, Any]:
    mttr, mtta = columns.mttr_s, columns.mtta_s
    resolved = columns.by_state.get("resolved", 0)
    ended = resolved + columns.by_state.get("failed", 0)
    return {
        "incidents_total": sum(columns.by_state.values()),
        "by_kind": columns.by_kind,
        "by_state": columns.by_state,
        "resolved": resolved,
        "success_rate": (resolved / ended) if ended else None,
        "remediation_attempts": columns.attempts,
        "mttr_s": {
            "count": len(mttr),
            "average": statistics.fmean(mttr) if mttr else None,
            "median": statistics.median(mttr) if mttr else None,
            "p90": percentile(mttr, 0.9),
            "fastest": min(mttr) if mttr else None,
            "slowest": max(mttr) if mttr else None,
        },
        "mtta_s": {
            "count": len(mtta),
            "average": statistics.fmean(mtta) if mtta else None,
            "median": statistics.median(mtta) if mtta else None,
        },
    }


def jsonl_summary(path) -> dict[str, Any]:
    """The same totals from incidents.jsonl alone (last record per incident wins)."""
    read = read_jsonl(path)
    last: dict[str, dict[str, Any]] = {}
    for record in read.records:
        if "incident" in record:
            last[record["incident"]] = record
    return {
        "incidents_total": len(last),
        "resolved": sum(1 for r in last.values() if r.get("state") == "resolved"),
        "by_state": dict(Counter(r.get("state") for r in last.values())),
        "warnings": read.warnings(path),
    }


READS = 5  # a disagreement must outlast this many reads...
READ_PAUSE_S = 0.1  # ...this far apart


def build(ctx) -> dict[str, Any]:
    """The registry's figures and whether incidents.jsonl agrees. A running supervisor writes each
    change to the registry and then to the file, a few ms apart: a disagreement is only reported
    once it outlasts a change in flight."""
    ctx.registry  # opens the database
    for read in range(READS):
        if read:
            sleep(READ_PAUSE_S)
        data = summarize(store.healing_columns())
        jsonl = jsonl_summary(ctx.paths.incidents_jsonl)
        if _agree(data, jsonl):
            break
    data["jsonl"] = jsonl
    data["jsonl_agrees"] = _agree(data, jsonl)
    return data


def _agree(data: dict[str, Any], jsonl: dict[str, Any]) -> bool:
    return (jsonl["incidents_total"] == data["incidents_total"] and jsonl["resolved"] == data["resolved"]
            and jsonl["by_state"] == data["by_state"])


def _s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def render(data: dict[str, Any]) -> str:
    mttr, mtta = data["mttr_s"], data["mtta_s"]
    rate = data["success_rate"]
    lines = [
        f"incidents: {data['incidents_total']}   resolved: {data['resolved']}   success rate: "
        + ("-" if rate is None else f"{rate:.1%}") + f"   remediation attempts: {data['remediation_attempts']}",
        "by kind:  " + (", ".join(f"{k} {v}" for k, v in sorted(data["by_kind"].items())) or "-"),
        "by state: " + (", ".join(f"{k} {v}" for k, v in sorted(data["by_state"].items())) or "-"),
        f"MTTR ({mttr['count']} resolved): average {_s(mttr['average'])}, median {_s(mttr['median'])}, "
        f"p90 {_s(mttr['p90'])}, fastest {_s(mttr['fastest'])}, slowest {_s(mttr['slowest'])}",
        f"MTTA ({mtta['count']} acknowledged): average {_s(mtta['average'])}, median {_s(mtta['median'])}",
    ]
    jsonl = data.get("jsonl")
    if jsonl is not None:
        verdict = "agrees" if data.get("jsonl_agrees") else "DISAGREES"
        lines.append(f"incidents.jsonl {verdict}: {jsonl['incidents_total']} incidents, {jsonl['resolved']} resolved")
        lines += jsonl["warnings"]
    return "\n".join(lines)

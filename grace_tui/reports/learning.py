"""`grace-tui report learning`: what grace-tui learned and what it changed, from real records.

Sources: the audit log (learning events by type, chain status), the task
registry (learning jobs and their results), config versions and proposals, the
learned remediation table and the learned listener inventory.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any

from grace_tui.governance import audit
from grace_tui.registry import governance as gov_store
from grace_tui.registry import learned
from grace_tui.registry.ids import iso

JOB_SUBSYSTEM = "learning"


def build(ctx: Any) -> dict[str, Any]:
    registry = ctx.registry  # opens the DB
    entries = audit.read_entries(ctx.paths.audit_log)
    chain = audit.verify(ctx.paths.audit_log)
    return {
        "generated_at": iso(time.time()),
        "learning_events": dict(Counter(e["data"].get("event", "?") for e in entries if e["type"] == "learning_event")),
        "audit": {"entries": len(entries), "by_type": dict(Counter(e["type"] for e in entries)),
                  "chain_ok": chain.ok, "checked": chain.checked, "why": chain.why},
        "jobs": jobs(registry),
        "config_versions": versions(),
        "pending_proposals": [_proposal(p) for p in gov_store.pending_proposals()],
        "proposals_by_status": dict(Counter(p.status for p in gov_store.list_proposals(10_000))),
        "remediation": remediation_table(),
        "inventory": {"known_listeners": learned.listener_count(),
                      "baseline_learned_at": iso(learned.baseline_learned_at())},
    }


def jobs(registry: Any) -> list[dict[str, Any]]:
    """Per learning job kind: runs by status, average duration, the last result."""
    by_kind: dict[str, list[Any]] = defaultdict(list)
    for task in registry.list_tasks(subsystem=JOB_SUBSYSTEM, limit=5000):
        by_kind[task.kind].append(task)
    out = []
    for kind, tasks in sorted(by_kind.items()):
        durations = [t.duration_s for t in tasks if t.duration_s is not None]
        last = tasks[0]  # newest first
        out.append({"job": kind, "runs": len(tasks), "by_status": dict(Counter(t.status for t in tasks)),
                    "avg_duration_s": round(statistics.fmean(durations), 3) if durations else None,
                    "last_status": last.status, "last_at": iso(last.completed_at or last.created_at),
                    "last_result": last.result if last.result is not None else last.error})
    return out


def versions() -> dict[str, Any]:
    midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    all_versions = list(reversed(gov_store.list_versions(1000)))
    progression = []
    for v in all_versions:
        changed = [line[1:].split(" = ")[0] for line in v.diff.splitlines()
                   if line[:1] == "+" and not line.startswith("+++")]
        progression.append({"number": v.number, "at": iso(v.created_at), "author": v.author, "reason": v.reason,
                            "proposal": v.proposal_id, "changed": changed})
    return {"total": len(all_versions), "today": sum(1 for v in all_versions if v.created_at >= midnight),
            "by_author": dict(Counter(v.author for v in all_versions)), "progression": progression}


def remediation_table() -> list[dict[str, Any]]:
    return [{"service": s.service, "kind": s.kind, "action": s.action, "tries": s.tries,
             "success_rate": round(s.success_rate, 4) if s.success_rate is not None else None,
             "median_ttr_s": round(s.median_ttr_s, 3) if s.median_ttr_s is not None else None}
            for s in learned.action_stats()]


def _proposal(p: Any) -> dict[str, Any]:
    return {"id": p.id, "at": iso(p.created_at), "kind": p.kind, "changes": p.changes, "reason": p.reason}


# ---------------------------------------------------------------------- text
def render(data: dict[str, Any]) -> str:
    lines = [f"Learning report ({data['generated_at']})", ""]
    events = data["learning_events"]
    lines.append("Learning events: " + (", ".join(f"{k} {v}" for k, v in sorted(events.items())) or "none yet"))
    a = data["audit"]
    lines.append(f"Audit log: {a['entries']} entries, chain {'whole' if a['chain_ok'] else 'BROKEN: ' + a['why']}")
    lines += ["", "Jobs:"]
    for job in data["jobs"] or []:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(job["by_status"].items()))
        lines.append(f"  {job['job']:<24} {job['runs']:>4} run(s) ({statuses}); avg {_s(job['avg_duration_s'])}; "
                     f"last {job['last_status']} at {job['last_at']}: {_short(job['last_result'])}")
    if not data["jobs"]:
        lines.append("  none run yet")
    v = data["config_versions"]
    lines += ["", f"Config versions: {v['total']} total, {v['today']} today "
                  f"({', '.join(f'{k} {n}' for k, n in sorted(v['by_author'].items())) or '-'})"]
    for item in v["progression"][-10:]:
        changed = ", ".join(item["changed"][:3]) + (" ..." if len(item["changed"]) > 3 else "")
        lines.append(f"  v{item['number']:<4} {item['at']}  {item['author']:<10} {item['reason']}  [{changed}]")
    lines += ["", f"Pending proposals: {len(data['pending_proposals'])}"]
    for p in data["pending_proposals"]:
        changes = ", ".join(f"{c['path']}: {c['old']} -> {c['new']}" for c in p["changes"])
        lines.append(f"  #{p['id']} {p['kind']}: {changes} -- {p['reason']}")
    lines += ["", "Learned remediation:"]
    if not data["remediation"]:
        lines.append("  no remediation outcomes yet")
    else:
        lines.append(f"  {'service':<16} {'incident kind':<18} {'action':<12} {'tries':>5} {'success':>8} "
                     f"{'median TTR':>10}")
        for row in data["remediation"]:
            rate = f"{row['success_rate'] * 100:.0f}%" if row["success_rate"] is not None else "-"
            lines.append(f"  {row['service']:<16} {row['kind']:<18} {row['action']:<12} {row['tries']:>5} "
                         f"{rate:>8} {_s(row['median_ttr_s']):>10}")
    inv = data["inventory"]
    lines += ["", f"Inventory: {inv['known_listeners']} known listener(s); baseline "
                  f"{'learned at ' + inv['baseline_learned_at'] if inv['baseline_learned_at'] else 'not learned yet'}"]
    return "\n".join(lines)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."

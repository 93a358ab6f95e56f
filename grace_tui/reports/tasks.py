"""`grace-tui report tasks`: the unified registry -- every subsystem's tasks in one view.

Counts and average durations come from the registry's maintained stats (exact,
constant cost); active tasks and recent completions from the task table.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from grace_tui.registry import TERMINAL_STATUSES
from grace_tui.registry.ids import iso


def build(ctx: Any) -> dict[str, Any]:
    registry = ctx.registry
    now = time.time()
    by_subsystem: dict[str, dict[str, int]] = defaultdict(dict)
    durations: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for row in registry.stats():
        by_subsystem[row.subsystem][row.status] = row.count
        if row.status in TERMINAL_STATUSES and row.avg_duration_s is not None:
            durations[row.subsystem].append((row.count, row.avg_duration_s))
    average = {subsystem: round(sum(n * avg for n, avg in pairs) / sum(n for n, _ in pairs), 3)
               for subsystem, pairs in durations.items() if sum(n for n, _ in pairs)}
    return {
        "generated_at": iso(now),
        "total": sum(sum(s.values()) for s in by_subsystem.values()),
        "by_subsystem": {k: dict(sorted(v.items())) for k, v in sorted(by_subsystem.items())},
        "avg_duration_s_by_subsystem": dict(sorted(average.items())),
        "active": [_task(t, now) for t in registry.active_tasks(limit=200)],
        "recent_completions": [_task(t, now) for t in registry.recent_completions(limit=15)],
    }


def _task(task: Any, now: float) -> dict[str, Any]:
    return {"id": task.id, "subsystem": task.subsystem, "kind": task.kind, "title": task.title,
            "status": task.status, "progress": task.progress, "message": task.message,
            "elapsed_s": round(task.elapsed_s(now), 3), "completed_at": iso(task.completed_at),
            "error": task.error}


def render(data: dict[str, Any]) -> str:
    lines = [f"Task report ({data['generated_at']}): {data['total']} task(s)", "", "By subsystem:"]
    for subsystem, statuses in data["by_subsystem"].items():
        counts = ", ".join(f"{status} {n}" for status, n in statuses.items())
        avg = data["avg_duration_s_by_subsystem"].get(subsystem)
        lines.append(f"  {subsystem:<14} {counts}" + (f"; avg duration {avg:.2f}s" if avg is not None else ""))
    if not data["by_subsystem"]:
        lines.append("  no tasks yet")
    lines += ["", f"Active ({len(data['active'])}):"]
    for t in data["active"]:
        lines.append(f"  {t['id']}  {t['subsystem']:<12} {t['progress']:5.1f}%  {_elapsed(t['elapsed_s']):>8}  "
                     f"{t['title']}" + (f" -- {t['message']}" if t["message"] else ""))
    lines += ["", "Recent completions:"]
    for t in data["recent_completions"]:
        lines.append(f"  {t['completed_at']}  {t['subsystem']:<12} {t['status']:<11} {_elapsed(t['elapsed_s']):>8}  "
                     f"{t['title']}" + (f" -- {t['error']}" if t["error"] else ""))
    return "\n".join(lines)


def _elapsed(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"

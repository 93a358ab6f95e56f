"""Fill a registry with N historical tasks quickly (for benchmarks only)."""

from __future__ import annotations

import random
import time

from grace_tui.registry import Registry
from grace_tui.registry.ids import _b32
from grace_tui.registry.models import Task, TaskStat

SUBSYSTEMS = ("self_healing", "learning", "ops", "backup")
KINDS = {"self_healing": "incident", "learning": "ml_training", "ops": "job", "backup": "job"}
FINAL = ("completed",) * 8 + ("failed", "cancelled")


def fill_history(registry: Registry, n: int, batch: int = 20_000, seed: int = 1) -> None:
    """Insert n finished tasks spread over the past 90 days, with matching stats."""
    rng = random.Random(seed)
    now = time.time()
    start = now - 90 * 86400
    step = (now - start) / max(n, 1)
    totals: dict[tuple[str, str], list[float]] = {}
    rows = []
    for i in range(n):
        created = start + i * step
        duration = rng.expovariate(1 / 30.0)
        subsystem = SUBSYSTEMS[i % len(SUBSYSTEMS)]
        status = rng.choice(FINAL)
        rows.append({
            "id": _b32(int(created * 1000), 9) + _b32(i % (1 << 20), 4),
            "subsystem": subsystem, "kind": KINDS[subsystem], "title": f"historical task {i}",
            "status": status, "progress": 100.0 if status == "completed" else 50.0, "message": "",
            "created_at": created, "started_at": created, "completed_at": created + duration,
            "updated_at": created + duration, "duration_s": duration, "host": "bench",
        })
        agg = totals.setdefault((subsystem, status), [0, 0.0])
        agg[0] += 1
        agg[1] += duration
        if len(rows) >= batch:
            _flush(registry, rows)
            rows = []
    _flush(registry, rows)
    with registry.database.atomic():
        for (subsystem, status), (count, dsum) in totals.items():
            TaskStat.insert(subsystem=subsystem, status=status, count=count, duration_sum=dsum,
                            duration_n=count).on_conflict(
                conflict_target=[TaskStat.subsystem, TaskStat.status],
                update={TaskStat.count: TaskStat.count + count, TaskStat.duration_sum: TaskStat.duration_sum + dsum,
                        TaskStat.duration_n: TaskStat.duration_n + count}).execute()


def _flush(registry: Registry, rows: list[dict]) -> None:
    if rows:
        with registry.database.atomic():
            for chunk in range(0, len(rows), 500):
                Task.insert_many(rows[chunk:chunk + 500]).execute()

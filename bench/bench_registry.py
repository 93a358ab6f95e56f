#!/usr/bin/env python3
"""Registry benchmark: progress updates/s from 4 threads, and query latency at 1M tasks.

Targets (issue 2): >= 10,000 updates/s; active-task query <= 5 ms and stats <= 50 ms
with 1,000,000 historical tasks in the DB. Prints figures; asserts nothing.

    python bench/bench_registry.py [--rows 1000000] [--updates 20000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from history import fill_history  # noqa: E402

from grace_tui.registry import Registry  # noqa: E402


def updates_per_second(registry: Registry, threads: int, per_thread: int) -> float:
    ids = [registry.start_task(f"bench job {n}") for n in range(threads)]

    def work(task_id: str) -> None:
        for i in range(per_thread):
            registry.progress(task_id, (i % 100), f"step {i}")

    workers = [threading.Thread(target=work, args=(tid,)) for tid in ids]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    for tid in ids:
        registry.complete(tid)
    return threads * per_thread / elapsed


def latency_ms(fn, repeat: int = 50) -> tuple[float, float]:
    fn()  # warm the page cache
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.9 * (len(samples) - 1))]


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--updates", type=int, default=20_000, help="updates per thread")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="grace-bench-") as state:
        registry = Registry.open(state)
        rate = updates_per_second(registry, 4, args.updates)
        print(f"progress updates from 4 threads: {rate:,.0f} updates/s (target >= 10,000)")

        t0 = time.perf_counter()
        fill_history(registry, args.rows)
        print(f"filled {args.rows:,} historical tasks in {time.perf_counter() - t0:.1f} s")
        live = [registry.start_task(f"live {n}", subsystem=s) for n, s in enumerate(["learning"] * 3 + ["ops"] * 2)]
        for tid in live:
            registry.progress(tid, 33, "running")
        rate_full = updates_per_second(registry, 4, args.updates // 4)
        print(f"progress updates from 4 threads at {args.rows:,} rows: {rate_full:,.0f} updates/s")

        med, p90 = latency_ms(lambda: registry.active_tasks())
        print(f"active-task query: median {med:.2f} ms, p90 {p90:.2f} ms (target <= 5 ms)")
        med, p90 = latency_ms(lambda: registry.stats())
        print(f"stats query: median {med:.2f} ms, p90 {p90:.2f} ms (target <= 50 ms)")
        med, p90 = latency_ms(lambda: registry.recent_completions(20))
        print(f"recent completions (20): median {med:.2f} ms, p90 {p90:.2f} ms")
        med, p90 = latency_ms(lambda: registry.list_tasks(limit=50, before_id=registry.list_tasks(limit=1)[0].id))
        print(f"one page of 50 tasks: median {med:.2f} ms, p90 {p90:.2f} ms")
        size = sum(f.stat().st_size for f in Path(state).iterdir())
        print(f"state dir size: {size / 1e6:.0f} MB")
        registry.close()


if __name__ == "__main__":
    main()

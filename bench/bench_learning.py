"""Learning subsystem costs, measured: sampler, online scoring, training, forecasts, DB size.

    python3 bench/bench_learning.py [--month-metrics 20] [--write bench/results/learning.md]

Every figure is measured on this machine (or, for the DB size, computed from the
defaults and then measured on a simulated month). `bench_mttr()` runs the
supervisor's drill idle and with a training job running (target: MTTR within 20 %).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grace_tui.incidents import IncidentLog  # noqa: E402
from grace_tui.learning.anomaly import AnomalyDetector  # noqa: E402
from grace_tui.learning.fitproc import FitProcess  # noqa: E402
from grace_tui.learning.forecast import forecast_exhaustion  # noqa: E402
from grace_tui.learning.jobs import fit_detector  # noqa: E402
from grace_tui.learning.online import OnlineMonitor  # noqa: E402
from grace_tui.learning.runner import LearningRunner  # noqa: E402
from grace_tui.learning.sampler import MetricSampler  # noqa: E402
from grace_tui.learning.settings import LearningSettings  # noqa: E402
from grace_tui.paths import StatePaths  # noqa: E402
from grace_tui.registry import Registry, metrics  # noqa: E402
from grace_tui.registry.metrics import Sample  # noqa: E402
from grace_tui.registry.services import upsert_service  # noqa: E402

DAY = 86400


def open_registry(root: Path) -> Registry:
    return Registry.open(root)


# ---------------------------------------------------------------------- sampler
def bench_sampler(root: Path, services: int = 5, rounds: int = 200) -> dict[str, float]:
    """sample_once() with host metrics and N real service processes, DB write included."""
    registry = open_registry(root / "sampler")
    procs = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(services)]
    try:
        for i, proc in enumerate(procs):
            upsert_service(f"svc{i}", mode="watched", state="running", pid=proc.pid, connect_ms=1.0)
        sampler = MetricSampler(LearningSettings())
        sampler.sample_once(now=0.0)
        times = []
        per_round = 0
        for r in range(rounds):
            start = time.perf_counter()
            per_round = len(sampler.sample_once(now=15.0 * (r + 1)))
            times.append(time.perf_counter() - start)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        registry.close()
    return {"metrics_per_round": per_round, "ms_per_round_median": statistics.median(times) * 1e3,
            "ms_per_round_p95": sorted(times)[int(0.95 * len(times))] * 1e3}


# ---------------------------------------------------------------------- detector
def synthetic(n: int, seed: int = 1) -> list[Sample]:
    rng = random.Random(seed)
    return [Sample("m", 15.0 * i, 40 + 10 * math.sin(2 * math.pi * i / 5760) + rng.gauss(0, 2)) for i in range(n)]


def bench_training(series: int = 40, points: int = 5760) -> dict[str, float]:
    """train_anomaly's fit on 24 h of raw samples at 15 s (5760 points) per series."""
    history = synthetic(points)
    start = time.perf_counter()
    for _ in range(series):
        fit_detector(history, 0.305)
    elapsed = time.perf_counter() - start
    return {"series": series, "points_per_series": points, "s_total": elapsed,
            "ms_per_series": elapsed / series * 1e3, "us_per_point": elapsed / (series * points) * 1e6}


def bench_online(root: Path, points: int = 20000) -> dict[str, float]:
    """OnlineMonitor.score() per sample (detector step + threshold check), no incident opened."""
    registry = open_registry(root / "online")
    monitor = OnlineMonitor(IncidentLog(registry, StatePaths(root / "online")), LearningSettings())
    detector, _ = fit_detector(synthetic(5760), 0.305)
    monitor.install("m", detector)
    stream = [Sample("m", s.ts + 5760 * 15, s.value) for s in synthetic(points, seed=2)]
    start = time.perf_counter()
    for sample in stream:
        monitor.score(sample)
    elapsed = time.perf_counter() - start
    alarms = sum(1 for i in registry.list_tasks(subsystem="self_healing", limit=10000))
    registry.close()
    return {"us_per_sample": elapsed / points * 1e6, "incidents_on_steady_noise": alarms, "samples": points,
            "state_kb": len(str(detector.to_state())) / 1024}


def bench_forecast(repeat: int = 20) -> dict[str, float]:
    """One resource's forecast on 7 days of history at the default tiers (raw 24 h + 5-min means)."""
    raw = [(6 * DAY + 15.0 * i, 1e9 + 1e3 * i, 1e11) for i in range(5760)]
    mid = [(300.0 * i, 1e9 + 20.0 * i, 1e11) for i in range(6 * 288)]
    series = mid + raw
    start = time.perf_counter()
    for _ in range(repeat):
        forecast_exhaustion(series, horizon_s=30 * DAY)
    return {"points": len(series), "ms_per_series": (time.perf_counter() - start) / repeat * 1e3}


def bench_forecast_job(root: Path, services: int = 20, disks: int = 5) -> dict[str, float]:
    """The whole forecast_exhaustion job as the daemon runs it every 5 min: a week of history at
    the default tiers for every resource with a capacity (per service fds, host memory and fds,
    disks), read from a real registry; CPU seconds of one run."""
    from grace_tui.learning.jobs import forecast_resources
    from grace_tui.registry.db import database

    registry = Registry.open(root / "forecast")
    paths = StatePaths(root / "forecast").ensure()
    names = [f"svc:s{i}.fds" for i in range(services)] + ["host.mem_used", "host.fds"] + \
        [f"disk:/d{i}" for i in range(disks)]
    rng = random.Random(3)
    end = 1_700_000_000.0
    rows = []
    for name in names:
        sid = metrics.series_id(name)
        rows += [(sid, 300, end - 7 * DAY + 300.0 * k, 100 + rng.random(), 1000.0) for k in range(6 * 288)]
        rows += [(sid, 0, end - DAY + 15.0 * k, 100 + rng.random(), 1000.0) for k in range(5760)]
    sql, _ = metrics.MetricSample.insert_many([rows[0]], fields=metrics._SAMPLE_FIELDS).on_conflict_ignore().sql()
    with database.atomic():
        database.cursor().executemany(sql, rows)

    class Quiet:
        def progress(self, percent: float, message: str) -> None:
            pass

    settings = LearningSettings()
    online = OnlineMonitor(IncidentLog(registry, paths), settings)
    times = []
    for _ in range(3):
        start = time.process_time()
        forecast_resources(Quiet(), online, settings)
        times.append(time.process_time() - start)
    registry.close()
    return {"resources": len(names), "rows_per_resource": 6 * 288 + 5760, "cpu_s": statistics.median(times)}


# ---------------------------------------------------------------------- DB size
def rows_per_metric(settings: LearningSettings, days: float) -> float:
    """Rows one metric holds after `days` of sampling with these tiers."""
    span = days * DAY
    raw = min(span, settings.raw_keep_s) / settings.sample_interval_s
    mid = max(0.0, min(span, settings.mid_keep_s) - settings.raw_keep_s) / settings.mid_resolution_s
    coarse = max(0.0, min(span, settings.coarse_keep_s) - settings.mid_keep_s) / settings.coarse_resolution_s
    return raw + mid + coarse


def simulate_month(root: Path, metric_count: int, days: int = 30) -> dict[str, float]:
    """Write `days` of samples for `metric_count` metrics at the default interval, maintaining
    hourly as the sampler does; report rows and the DB file's size."""
    settings = LearningSettings()
    registry = open_registry(root / "month")
    names = [f"svc:s{i // 4}.m{i % 4}" for i in range(metric_count)]
    step = settings.sample_interval_s
    per_hour = int(3600 / step)
    rng = random.Random(3)
    start = time.perf_counter()
    for hour in range(days * 24):
        t0 = hour * 3600.0
        batch = [Sample(name, t0 + k * step, rng.random() * 100, 1000.0 if name.endswith("m2") else None)
                 for k in range(per_hour) for name in names]
        metrics.add_samples(batch)
        MetricSampler(settings).maintain(now=t0 + 3600.0)
    elapsed = time.perf_counter() - start
    rows = metrics.count_samples()
    db = root / "month" / "grace.db"
    registry.database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db.stat().st_size
    page_size = registry.database.execute_sql("PRAGMA page_size").fetchone()[0]
    free = registry.database.execute_sql("PRAGMA freelist_count").fetchone()[0] * page_size
    registry.close()
    return {"metrics": metric_count, "days": days, "rows": rows, "rows_expected": rows_per_metric(settings, days)
            * metric_count, "db_mb": size / 2**20, "free_mb": free / 2**20,
            "bytes_per_row": (size - free) / rows, "simulate_s": elapsed}


# ---------------------------------------------------------------------- MTTR
def bench_mttr(root: Path, trials: int = 10, rounds: int = 3) -> dict[str, float]:
    """The supervisor's drill (SIGKILL a supervised TCP service, measure MTTR from its
    incidents): idle, with a job training detectors non-stop, idle again; `rounds` times.
    Each block gets a fresh state dir, so a growing DB does not favour the first block."""
    from grace_tui.supervisor.drill import run_drill

    blocks: dict[str, list[float]] = {"idle": [], "training": [], "idle_after": []}
    for r in range(rounds):
        for name in blocks:
            paths = StatePaths(root / f"drill-{r}-{name}").ensure()
            registry = open_registry(paths.root)
            try:
                if name == "training":
                    with training_load(registry):
                        blocks[name] += mttrs(run_drill(paths, registry, trials))
                else:
                    blocks[name] += mttrs(run_drill(paths, registry, trials))
            finally:
                registry.close()
    idle = blocks["idle"] + blocks["idle_after"]
    busy = blocks["training"]
    return {"trials": len(busy), "idle_median_s": statistics.median(idle), "idle_p90_s": p90(idle),
            "training_median_s": statistics.median(busy), "training_p90_s": p90(busy),
            "ratio": statistics.median(busy) / statistics.median(idle),
            "control_ratio": statistics.median(blocks["idle_after"]) / statistics.median(blocks["idle"])}


def mttr_in_fresh_process(trials: int) -> dict[str, float]:
    """bench_mttr in a new process: the heap of the benches above (millions of objects)
    would make every GC pass the training job's allocations trigger far longer than in
    a daemon. (Measured: with a 3-million-object heap the ratio was 1.27; with that heap
    frozen out of the GC, gc.freeze(), 0.99.)"""
    out = subprocess.run([sys.executable, __file__, "--mttr-only", "--drill-trials", str(trials)],
                         capture_output=True, text=True, timeout=1200, check=True)
    return json.loads(out.stdout)


def mttrs(drill: dict) -> list[float]:
    return [t["mttr_s"] for t in drill["trials"] if t["resolved"] and t["kind"] == "process_down"]


def p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


class training_load:
    """A LearningRunner training detectors non-stop, the way train_anomaly does (FitProcess),
    on the given registry (one registry per process: the DB proxy is global)."""

    def __init__(self, registry: Registry):
        self.registry = registry

    def __enter__(self) -> "training_load":
        self.runner = LearningRunner(self.registry, workers=1)
        history = synthetic(5760)
        ts, values = [s.ts for s in history], [s.value for s in history]

        def train_forever(ctx):  # what train_anomaly does per series, without end
            with FitProcess() as fitter:
                i = 0
                while True:
                    ctx.progress(i % 100, f"fitting {i % 40}/40 series")
                    state, _ = fitter.fit("m", ts, values, 0.305)
                    AnomalyDetector.from_state(state)
                    i += 1

        self.runner.register_job("train_forever", "ml_training", train_forever)
        self.runner.start(schedule=False)
        self.task = self.runner.run_now("train_forever")
        while self.registry.get(self.task).status != "active":
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.runner.stop()


# ---------------------------------------------------------------------- report
def report(args: argparse.Namespace) -> str:
    settings = LearningSettings()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sampler = bench_sampler(root)
        training = bench_training()
        online = bench_online(root)
        forecast = bench_forecast()
        forecast_job = bench_forecast_job(root)
        month = simulate_month(root, args.month_metrics, args.days)
    mttr = mttr_in_fresh_process(args.drill_trials)
    per_metric_month = rows_per_metric(settings, 30)
    per_metric_year = rows_per_metric(settings, 365)
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, nproc {os.cpu_count()}, "
        f"Python {platform.python_version()}",
        "",
        "| what | figure |",
        "|---|---|",
        f"| sampler round (host + {5} real services, {sampler['metrics_per_round']} metrics, DB write) | "
        f"median {sampler['ms_per_round_median']:.2f} ms, p95 {sampler['ms_per_round_p95']:.2f} ms |",
        f"| online scoring per sample (detector step + incident check) | {online['us_per_sample']:.1f} µs |",
        f"| incidents opened on {online['samples']} steady noisy samples after training | "
        f"{online['incidents_on_steady_noise']} |",
        f"| detector state per metric (JSON) | {online['state_kb']:.0f} kB |",
        f"| training: fit one series of {training['points_per_series']} points (24 h at 15 s) | "
        f"{training['ms_per_series']:.0f} ms ({training['us_per_point']:.2f} µs/point) |",
        f"| training: {training['series']} series | {training['s_total']:.1f} s |",
        f"| forecast one resource, {forecast['points']} points (7 days at the default tiers) | "
        f"{forecast['ms_per_series']:.1f} ms |",
        f"| forecast job: {forecast_job['resources']} resources ({20} services), a week of history each "
        f"({forecast_job['rows_per_resource']} rows), CPU per run | {forecast_job['cpu_s'] * 1e3:.0f} ms |",
        f"| rows per metric after 30 days at the defaults (computed) | {per_metric_month:.0f} |",
        f"| rows per metric at steady state, 1 year (computed) | {per_metric_year:.0f} |",
        f"| simulated {month['days']} days × {month['metrics']} metrics: rows (expected) | "
        f"{month['rows']} ({month['rows_expected']:.0f}) |",
        f"| simulated month: DB file / of which free pages / bytes per row | {month['db_mb']:.1f} MB / "
        f"{month['free_mb']:.1f} MB / {month['bytes_per_row']:.0f} B |",
        f"| supervisor drill MTTR, idle ({2 * mttr['trials']} SIGKILLs, before and after): median / p90 | "
        f"{mttr['idle_median_s'] * 1e3:.0f} ms / {mttr['idle_p90_s'] * 1e3:.0f} ms |",
        f"| same, with a training job running ({mttr['trials']} SIGKILLs): median / p90 / ratio of medians | "
        f"{mttr['training_median_s'] * 1e3:.0f} ms / {mttr['training_p90_s'] * 1e3:.0f} ms / "
        f"{mttr['ratio']:.2f} |",
        f"| control: idle after / idle before (the noise of this shared machine) | "
        f"{mttr['control_ratio']:.2f} |",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month-metrics", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--drill-trials", type=int, default=10)
    parser.add_argument("--write", metavar="FILE", help="replace the measured block of this markdown file")
    parser.add_argument("--mttr-only", action="store_true", help="print bench_mttr's figures as JSON")
    args = parser.parse_args()
    if args.mttr_only:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(bench_mttr(Path(tmp), args.drill_trials)))
        return 0
    text = report(args)
    print(text)
    if args.write:
        path = Path(args.write)
        doc = path.read_text()
        begin, end = "<!-- measured:begin -->", "<!-- measured:end -->"
        head, _, rest = doc.partition(begin)
        _, _, tail = rest.partition(end)
        path.write_text(f"{head}{begin}\n{text}\n{end}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Daemon memory with a day of history, the way a server sees it after its first day.

bench_supervisor.py measures an empty state dir. Here a fresh state dir first gets a day
of 15 s samples for N services and the host (what the sampler would have stored), then
`grace-tui daemon` (the clean venv of bench_supervisor.py) supervises N idle echo
servers, and the two learning jobs that read that history run through the CLI. The state
dir also holds a year of incidents (20,000 by default, each with its timeline), and one
service is killed and healed, which re-renders the metrics file over that history. VmRSS
and VmHWM of the daemon are printed after each step, and once more after a restart, which
loads the trained models.

    python bench/bench_memory.py            # 20 services
    python bench/bench_memory.py --n 5 --incidents 0
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_supervisor import ANCHORS, GRACE_PY, ensure_grace  # noqa: E402

ECHO = ANCHORS / "echo_server.py"
DAY_S = 86400
STEP_S = 15

# Runs in the clean venv: a day of samples shaped like a server's (a daily cycle plus noise).
FILL = r"""
import math, random, sys, time
from grace_tui.paths import StatePaths
from grace_tui.registry import Registry, metrics
from grace_tui.registry.metrics import Sample

from grace_tui.registry import incidents

state, n, day, step, n_incidents = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
random.seed(1)
series = {"host.cpu_pct": 20.0, "host.load1": 0.8, "host.mem_used": 2e9, "host.fds": 3000.0, "disk:/": 2e10}
for i in range(n):
    series.update({f"svc:echo{i}.cpu_pct": 2.0, f"svc:echo{i}.rss_bytes": 1.4e7,
                   f"svc:echo{i}.fds": 8.0, f"svc:echo{i}.connect_ms": 0.2})
registry = Registry.open(StatePaths(state).ensure().root)
start, batch = time.time() - day, []
for k in range(day // step):
    ts = start + k * step
    daily = math.sin(2 * math.pi * k * step / day)
    for name, base in series.items():
        batch.append(Sample(name, ts, base * (1 + 0.3 * daily + 0.05 * random.random())))
    if len(batch) >= 20000:
        metrics.add_samples(batch)
        batch = []
metrics.add_samples(batch)
year_ago = time.time() - 365 * 86400
with incidents.Incident._meta.database.atomic():  # a year of healed kills, as the supervisor records them
    for k in range(n_incidents):
        at = year_ago + k * 365 * 86400 / max(1, n_incidents)
        argv = [sys.executable, "echo_server.py", "--port", str(40000 + k % n)]
        found = incidents.create_incident("process_down", "high", f"echo{k % n} exited (SIGKILL)", service=f"echo{k % n}",
                                          check="process", detail={"pid": 1000 + k, "signal": "SIGKILL"}, detected_at=at)
        incidents.add_timeline(found.id, "remediation", "restart", {"argv": argv, "exit_code": None}, at=at + 0.001)
        incidents.add_timeline(found.id, "verification", "recovered", {"pid": 2000 + k}, at=at + 0.04)
        incidents.update_incident(found.id, state="resolved", recovered_at=at + 0.04, ended_at=at + 0.04,
                                  mttr_s=0.04 + random.random() / 50, attempts=1, updated_at=at + 0.04)
registry.close()
print(len(series))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_one_service(daemon_pid: int) -> None:
    """SIGKILL one of the daemon's echo servers: an incident the daemon heals."""
    echo = next(c for c in psutil.Process(daemon_pid).children() if str(ECHO) in c.cmdline())
    echo.send_signal(signal.SIGKILL)


def status_kb(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/status") as f:
        return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f) if k in ("VmRSS", "VmHWM")}


def measure(a: argparse.Namespace, work: Path, deps: str) -> None:
    """Fill a state dir in `work`, run the daemon on it through the steps, print the table."""
    state = work / "state"
    t0 = time.monotonic()
    n_series = subprocess.run([GRACE_PY, "-c", FILL, str(state), str(a.n), str(DAY_S), str(STEP_S),
                               str(a.incidents)],
                              capture_output=True, text=True, check=True, timeout=600).stdout.strip()
    fill_s = time.monotonic() - t0
    lines = []
    for i in range(a.n):
        port = free_port()
        lines += [f"[services.echo{i}]", f'command = ["{sys.executable}", "{ECHO}", "--port", "{port}"]',
                  f"port = {port}", ""]
    config = work / "config.toml"
    config.write_text("\n".join(lines))
    command = [GRACE_PY, "-m", "grace_tui", "daemon", "--config", str(config), "--state-dir", str(state),
               "--log-level", "warning"]
    rows = []
    daemon = subprocess.Popen(command)
    try:
        time.sleep(a.settle)
        rows.append(("started on the history", status_kb(daemon.pid), None))
        kill_one_service(daemon.pid)
        time.sleep(a.settle)
        rows.append(("after a service was killed and healed", status_kb(daemon.pid), None))
        for job in ("train_anomaly", "forecast_exhaustion"):
            t = time.monotonic()
            subprocess.run([GRACE_PY, "-m", "grace_tui", "learn", "run", job, "--state-dir", str(state)],
                           capture_output=True, text=True, check=True, timeout=900)
            took = time.monotonic() - t
            time.sleep(a.settle)
            rows.append((f"after {job}", status_kb(daemon.pid), took))
    finally:
        daemon.terminate()
        daemon.wait(60)
    daemon = subprocess.Popen(command)  # what every later start looks like: trained models loaded
    try:
        time.sleep(a.settle)
        rows.append(("restarted (models loaded)", status_kb(daemon.pid), None))
    finally:
        daemon.terminate()
        daemon.wait(60)
    db_mb = (state / "grace.db").stat().st_size / 1e6
    print(f"grace-tui daemon, {a.n} services, a day of {STEP_S} s samples for {n_series} series and "
          f"{a.incidents:,} incidents ({db_mb:.0f} MB of SQLite, filled in {fill_s:.0f} s); clean venv: {deps}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}\n")
    print("| step | VmRSS | VmHWM | job took (CLI, start to completed) |")
    print("|---|---|---|---|")
    for label, kb, took in rows:
        print(f"| {label} | {kb['VmRSS'] / 1024:.1f} MB | {kb['VmHWM'] / 1024:.1f} MB | "
              f"{'-' if took is None else f'{took:.1f} s'} |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20, help="services (and their series)")
    p.add_argument("--settle", type=float, default=20.0, help="seconds after start and after each job")
    p.add_argument("--incidents", type=int, default=20000, help="resolved incidents in the history (a year's)")
    a = p.parse_args()
    deps = ensure_grace()
    work = Path(tempfile.mkdtemp(prefix="grace-bench-memory-"))
    try:
        measure(a, work, deps)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The registry on a real PostgreSQL server (a throwaway cluster on 127.0.0.1).

Skipped only where no PostgreSQL server binaries are installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from grace_tui.registry import Registry

INITDB = shutil.which("initdb") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))), None)


def _as_postgres(argv: list[str]) -> list[str]:
    """The server refuses to run as root: run its tools as the `postgres` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    if INITDB is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    pytest.importorskip("psycopg2")
    bindir = Path(INITDB).resolve().parent
    root = Path(tempfile.mkdtemp(prefix="grace-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = _free_port()
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "grace"]),
                   check=True, capture_output=True, timeout=120)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "60",
                                 "-l", str(root / "log"), "start"]), check=True, capture_output=True, timeout=90)
    try:
        yield f"postgresql://grace@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def test_lifecycle_and_concurrent_updates_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    registry = Registry.open(tmp_path, postgres_url)
    ids = [registry.start_task(f"fleet job {n}", subsystem="ops") for n in range(4)]
    errors: list[BaseException] = []

    def work(task_id: str, n: int) -> None:
        try:
            for i in range(1, 101):
                registry.progress(task_id, i, f"worker {n} step {i}")
            registry.complete(task_id, {"n": n})
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(tid, n)) for n, tid in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [registry.get(tid).message for tid in ids] == [f"worker {n} step 100" for n in range(4)]
    stats = {(s.subsystem, s.status): s.count for s in registry.stats()}
    assert stats[("ops", "completed")] == 4 and registry.active_tasks() == []
    registry.close()


def test_metric_samples_and_service_rows_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    """The hand-rendered bulk statements (metric samples, service samples) in PostgreSQL's dialect."""
    from grace_tui.registry import metrics
    from grace_tui.registry.metrics import Sample
    from grace_tui.registry.services import list_services, record_samples, upsert_service

    registry = Registry.open(tmp_path, postgres_url)
    samples = [Sample("host.cpu_pct", 100.0, 5.0), Sample("disk:/", 100.0, 10.0, 50.0)]
    assert metrics.add_samples(samples) == 2
    assert metrics.add_samples(samples) == 2  # a repeated (metric, ts) is ignored, not an error
    assert [(s.ts, s.value, s.capacity) for s in metrics.samples("disk:/")] == [(100.0, 10.0, 50.0)]
    rising = [Sample("pg:fill", 1000.0 + 60 * i, 10.0 + i % 7 + i / 10) for i in range(400)]
    metrics.add_samples(rising)
    ts, used = metrics.bucket_means("pg:fill", 0.0, 150)  # averaged in PostgreSQL's SQL
    from grace_tui.learning.forecast import _bucket_means

    expected_ts, expected_used = _bucket_means([s.ts for s in rising], [s.value for s in rising], 150)
    assert ts == pytest.approx(expected_ts) and used == pytest.approx(expected_used)
    upsert_service("pg-web", mode="managed", state="running", pid=123)
    record_samples({"pg-web": {"cpu_pct": 1.5, "rss_bytes": 2048, "num_fds": 7, "connect_ms": 0.3,
                               "history": {"cpu": [1.5]}}})
    [view] = [v for v in list_services() if v.name == "pg-web"]
    assert (view.state, view.pid, view.cpu_pct, view.num_fds, view.history) == ("running", 123, 1.5, 7, {"cpu": [1.5]})
    registry.close()

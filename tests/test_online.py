"""Online anomaly and forecast incidents: synthetic series, then real processes and files.

The end-to-end tests drive the sampler with injected timestamps, so what they
check does not depend on how fast this machine is; the values are real
(psutil readings of a real CPU burner, real bytes of a real growing file).
"""

from __future__ import annotations

import math
import random
import subprocess
import sys
import time

import psutil
import pytest

from conftest import wait_until
from grace_tui.incidents import IncidentLog
from grace_tui.learning.jobs import fit_detector
from grace_tui.learning.online import OnlineMonitor, metric_label
from grace_tui.learning.service import LearningService
from grace_tui.learning.settings import LearningSettings
from grace_tui.paths import StatePaths
from grace_tui.registry import incidents as incident_store
from grace_tui.registry.metrics import Sample
from grace_tui.registry.services import upsert_service


@pytest.fixture
def incidents(registry, state_dir):
    return IncidentLog(registry, StatePaths(state_dir))


def steady(i: int, rng: random.Random) -> float:
    return 50.0 + 5.0 * math.sin(2 * math.pi * i / 50) + rng.uniform(-0.5, 0.5)


def anomalies(metric: str) -> list:
    return [i for i in incident_store.list_incidents(1000) if i.kind == "anomaly" and i.detail["metric"] == metric]


def trained_monitor(incidents, metric: str, points: int = 2000, **settings) -> tuple[OnlineMonitor, random.Random]:
    rng = random.Random(7)
    history = [Sample(metric, float(i), steady(i, rng)) for i in range(points)]
    detector, stats = fit_detector(history, threshold=0.305)
    assert stats["points"] == points and 40 < stats["expected"] < 60
    monitor = OnlineMonitor(incidents, LearningSettings(**settings))
    monitor.install(metric, detector)
    return monitor, rng


def test_steady_series_stays_quiet_a_spike_opens_one_incident_that_resolves(incidents):
    monitor, rng = trained_monitor(incidents, "host.load1")
    t = 2000
    for _ in range(1000):
        monitor.score(Sample("host.load1", float(t), steady(t, rng)))
        t += 1
    assert anomalies("host.load1") == []

    monitor.score(Sample("host.load1", float(t), 200.0))
    t += 1
    [incident] = anomalies("host.load1")
    assert (incident.state, incident.severity) == ("open", "low")
    assert incident.detail["value"] == 200.0 and 40 < incident.detail["expected"] < 60
    assert incident.detail["expected_low"] < 50 < incident.detail["expected_high"] < 200
    assert incident.detail["remediate"] is False
    assert "load 200, expected ~" in incident.summary

    for _ in range(5):
        monitor.score(Sample("host.load1", float(t), steady(t, rng)))
        t += 1
    [incident] = anomalies("host.load1")
    assert incident.state == "resolved" and incident.mttr_s is not None


def test_a_level_shift_is_one_incident_accepted_as_the_new_normal(incidents):
    monitor, rng = trained_monitor(incidents, "svc:db.connect_ms", anomaly_settle_samples=100)
    t = 2000
    for _ in range(300):
        monitor.score(Sample("svc:db.connect_ms", float(t), steady(t, rng) + 40.0))
        t += 1
    found = anomalies("svc:db.connect_ms")
    assert len(found) == 1, [i.summary for i in found]
    assert found[0].service == "db" and found[0].state == "resolved"
    assert "new normal" in incident_store.timeline(found[0].id)[-1].message


def test_a_constant_series_does_not_alarm_at_its_first_small_wiggle(incidents):
    history = [Sample("svc:web.fds", float(i), 3.0) for i in range(300)]
    monitor = OnlineMonitor(incidents, LearningSettings())
    monitor.install("svc:web.fds", fit_detector(history, 0.305)[0])
    assert monitor.score(Sample("svc:web.fds", 300.0, 4.0)) >= monitor.settings.anomaly_threshold
    assert anomalies("svc:web.fds") == []  # one more open file is not an incident
    monitor.score(Sample("svc:web.fds", 301.0, 900.0))
    assert len(anomalies("svc:web.fds")) == 1  # a leak is


def test_open_anomalies_are_adopted_after_a_restart(incidents):
    monitor, _ = trained_monitor(incidents, "host.cpu_pct")
    monitor.score(Sample("host.cpu_pct", 2000.0, 500.0))
    again = OnlineMonitor(incidents, LearningSettings())
    again.load()
    assert again.open_anomalies() == monitor.open_anomalies() != {}


def test_labels_say_what_runs_out():
    assert metric_label("disk:/var") == "/var"
    assert metric_label("host.mem_used") == "memory"
    assert metric_label("svc:web.fds") == "web open files"


BURNABLE_SERVICE = """
import subprocess, sys
burner = None
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "burn":
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        print(burner.pid, flush=True)
    elif line.strip() == "stop" and burner:
        burner.kill(); burner.wait(); burner = None
        print("stopped", flush=True)
"""


def run_job(registry, service: LearningService, name: str):
    task_id = service.runner.run_now(name)
    wait_until(lambda: registry.get(task_id).status in ("completed", "failed"), message=f"{name} done")
    task = registry.get(task_id)
    assert task.status == "completed", task.error
    return task


def test_a_cpu_burner_beside_a_watched_service_opens_an_anomaly_incident(registry, incidents):
    """The burner is a child of the watched service: its CPU counts in the service's tree."""
    proc = subprocess.Popen([sys.executable, "-c", BURNABLE_SERVICE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    settings = {"sample_host": False, "min_train_points": 100, "workers": 1}
    service = LearningService(registry, incidents, settings)
    try:
        assert proc.stdout.readline().strip() == "ready"
        upsert_service("web", mode="watched", state="running", pid=proc.pid)
        clock = iter(range(1_000_000, 10_000_000, 15))
        for _ in range(200):  # an idle service's history
            service.sampler.sample_once(now=float(next(clock)))
        service.start(sample=False, schedule=False)
        task = run_job(registry, service, "train_anomaly")
        stats = task.result["models"]["svc:web.cpu_pct"]
        assert stats["points"] == 200 and stats["max"] < 50
        assert task.result["summary"].startswith("trained ")

        proc.stdin.write("burn\n")
        proc.stdin.flush()
        burner = int(proc.stdout.readline())
        assert psutil.pid_exists(burner)

        def burning_incident():
            time.sleep(0.2)  # a real CPU window for psutil
            service.sampler.sample_once(now=float(next(clock)))
            return service.online.open_anomalies().get("svc:web.cpu_pct")

        incident = incidents.get(wait_until(burning_incident, message="anomaly incident"))
        assert (incident.kind, incident.severity, incident.service) == ("anomaly", "low", "web")
        assert incident.detail["value"] > 5 and incident.detail["metric"] == "svc:web.cpu_pct"
        assert incident.detail["expected"] < incident.detail["value"]
        assert "web CPU %" in incident.summary

        proc.stdin.write("stop\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "stopped"

        def resolved():
            service.sampler.sample_once(now=float(next(clock)))
            return incidents.get(incident.id).state == "resolved"

        wait_until(resolved, message="anomaly resolved once the burner stopped")
    finally:
        service.stop()
        proc.kill()
        proc.wait()


def test_a_filling_watched_dir_opens_a_forecast_incident_and_closes_it_when_the_trend_turns(registry, incidents,
                                                                                          tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    quota = 10_000_000
    settings = {"sample_host": False, "sample_services": False, "watch_dirs": {str(spool): quota},
                "forecast_window_s": 1800, "forecast_horizon_s": 86400, "workers": 1}
    service = LearningService(registry, incidents, settings).start(sample=False, schedule=False)
    metric = f"dir:{spool}"
    try:
        growing = spool / "app.log"
        now = 1_000_000.0
        with open(growing, "ab") as f:
            for _ in range(31):  # 100 kB a minute for half an hour
                f.write(b"x" * 100_000)
                f.flush()
                service.sampler.sample_once(now=now)
                now += 60
        task = run_job(registry, service, "forecast_exhaustion")
        [incident] = incidents.open_incidents(kind="forecast")
        expected_eta = (quota - 3_100_000) / (100_000 / 60)  # 6.9 MB left at 1.67 kB/s: 69 min
        assert incident.detail["eta_s"] == pytest.approx(expected_eta, rel=0.05)
        assert incident.detail["eta_low_s"] <= incident.detail["eta_s"] <= (incident.detail["eta_high_s"] or math.inf)
        assert incident.summary == f"{spool} full in ~1 h 9 m"
        assert task.result["forecasts"][metric]["incident"] == "opened"

        for _ in range(31):  # the writer stopped: flat for half an hour
            service.sampler.sample_once(now=now)
            now += 60
        task = run_job(registry, service, "forecast_exhaustion")
        assert task.result["forecasts"][metric]["incident"] == "resolved"
        assert incidents.get(incident.id).state == "resolved"
        assert incidents.open_incidents(kind="forecast") == []
    finally:
        service.stop()

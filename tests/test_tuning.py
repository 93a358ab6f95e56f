"""Threshold tuning from incidents acknowledged as noise."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from grace_tui.governance.tuning import ThresholdTuner
from grace_tui.governance.versions import ConfigVersions, get_path
from grace_tui.incidents import IncidentLog
from grace_tui.learning.anomaly import DEFAULT_THRESHOLD
from grace_tui.paths import StatePaths

CONFIG = """
[governance]
max_threshold_change_pct = 20

[services.web]
cpu_max_pct = 80
"""


@pytest.fixture
def world(registry, state_dir: Path, tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    versions = ConfigVersions(lambda: tomllib.loads(path.read_text()), lambda config: None)
    versions.sync_file()
    return versions, IncidentLog(registry, StatePaths(state_dir))


def _cpu_incident(log: IncidentLog, cpu: float, reason: str) -> None:
    incident = log.open("resource_threshold", "high", f"web: CPU {cpu}% > 80%", service="web",
                        check="resource_threshold", detail={"cpu_pct": cpu, "rss_bytes": 10 * 2**20, "num_fds": 9})
    log.acknowledge(incident.id, "alice", reason)


def test_noise_acks_lead_to_an_auto_approved_threshold_inside_bounds(world) -> None:
    versions, log = world
    _cpu_incident(log, 84.0, "noise")
    tuner = ThresholdTuner(versions)
    assert tuner.run()["proposals"] == []  # one ack is not enough evidence
    _cpu_incident(log, 86.0, "Noise: batch job")
    _cpu_incident(log, 99.0, "real: runaway loop")  # not noise: ignored
    result = tuner.run()
    assert result["summary"] == f"2 noise acks over {result['limits_examined']} limits: 1 proposal"  # in the pane
    (proposal,) = result["proposals"]
    assert proposal["path"] == "services.web.cpu_max_pct" and proposal["new"] == pytest.approx(86.0 * 1.05)
    assert proposal["status"] == "auto_approved"  # 80 -> 90.3 is +12.9%
    assert get_path(versions.effective(), "services.web.cpu_max_pct") == pytest.approx(90.3)
    assert tuner.run()["proposals"] == []  # the same acks do not propose twice


def test_a_big_move_waits_as_a_pending_proposal(world) -> None:
    versions, log = world
    _cpu_incident(log, 95.0, "noise")
    _cpu_incident(log, 97.0, "noise")
    (proposal,) = ThresholdTuner(versions).run()["proposals"]
    assert proposal["status"] == "pending" and proposal["new"] == pytest.approx(101.85)
    assert [p.id for p in versions.pending()] == [proposal["id"]]
    assert get_path(versions.effective(), "services.web.cpu_max_pct") == 80


def test_metric_history_raises_the_proposal(world) -> None:
    versions, log = world
    _cpu_incident(log, 82.0, "noise")
    _cpu_incident(log, 83.0, "noise")
    history = [50.0] * 90 + [88.0] * 10  # normal peaks of 88%
    (proposal,) = ThresholdTuner(versions, lambda metric: history if metric == "svc:web.cpu_pct" else []).run()[
        "proposals"]
    assert proposal["new"] == pytest.approx(88.0 * 1.05)


def test_anomaly_sensitivity_is_tuned_from_noise(world) -> None:
    versions, log = world
    for score in (DEFAULT_THRESHOLD * 1.08, DEFAULT_THRESHOLD * 1.10):  # just above the threshold
        incident = log.open("anomaly", "low", "web latency anomaly", service="web", check="anomaly:latency",
                            detail={"score": score, "metric": "latency"})
        log.acknowledge(incident.id, "bob", "noise")
    (proposal,) = ThresholdTuner(versions).run()["proposals"]
    assert proposal["path"] == "learning.anomaly_threshold" and proposal["old"] == pytest.approx(DEFAULT_THRESHOLD)
    # 5% above the highest noise score: +15.5%, inside the 20% bound, so applied at once
    assert proposal["new"] == pytest.approx(DEFAULT_THRESHOLD * 1.10 * 1.05, abs=0.005) and proposal["status"] == "auto_approved"


def test_a_learned_anomaly_sensitivity_reaches_the_running_detector(registry, state_dir: Path, tmp_path: Path) -> None:
    from grace_tui.engine import Engine

    config = tmp_path / "engine.toml"
    config.write_text("[host]\nenabled = false\n[governance]\nmax_sensitivity_change_pct = 20\n")
    engine = Engine(StatePaths(state_dir), registry, config)
    engine.start(watch_config=False)
    try:
        before = engine.learning_service.online.settings.anomaly_threshold
        proposal = engine.governance.versions.propose(
            "anomaly_sensitivity", [{"path": "learning.anomaly_threshold", "new": round(before * 1.1, 4),
                                     "default": before}], "noise")
        assert proposal.status == "auto_approved"
        assert engine.learning_service.online.settings.anomaly_threshold == round(before * 1.1, 4)
    finally:
        engine.stop(leave_running=False)


def test_a_flapping_port_check_needs_one_more_failure(world) -> None:
    versions, log = world
    for _ in range(2):
        incident = log.open("port_unreachable", "high", "web: port 8080 does not accept connections",
                            service="web", check="port_unreachable", detail={"port": 8080})
        log.acknowledge(incident.id, "alice", "noise: deploy window")
    (proposal,) = ThresholdTuner(versions).run()["proposals"]
    assert (proposal["path"], proposal["old"], proposal["new"]) == ("services.web.failures_before_incident", 2, 3)
    assert proposal["status"] == "pending"  # +50% is outside the 20% bound

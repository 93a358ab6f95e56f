"""Knowledge acquisition: a listener that appears after the baseline opens an incident; an ack teaches it."""

from __future__ import annotations

import socket
from pathlib import Path

import psutil
from conftest import wait_until

from grace_tui.engine import Engine

from grace_tui.governance.inventory import KIND, InventoryWatcher, scan
from grace_tui.incidents import IncidentLog
from grace_tui.paths import StatePaths
from grace_tui.registry import learned
from grace_tui.text import count


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def _for_port(incidents: IncidentLog, port: int):
    return [i for i in incidents.open_incidents(kind=KIND) if i.detail["port"] == port]


def test_unexpected_listener_opens_an_incident_and_an_ack_teaches_it(registry, state_dir: Path) -> None:
    incidents = IncidentLog(registry, StatePaths(state_dir))
    events: list[str] = []
    watcher = InventoryWatcher(incidents, lambda type, data: events.append(type))
    registry.events.subscribe(watcher.on_event)

    first = watcher.run()
    assert first["summary"] == f"baseline: {count(first['listeners'], 'listener')} learned"  # the job's last word
    assert first["baseline"] and learned.listener_count() == first["listeners"] and "inventory_baseline" in events

    sock = _listen()
    port = sock.getsockname()[1]
    try:
        assert watcher.run()["summary"].endswith(", 1 unexpected, 0 gone")
        (incident,) = _for_port(incidents, port)
        assert incident.severity == "high" and incident.detail["pid"] == psutil.Process().pid
        assert incident.detail["process"] == psutil.Process().name() and str(port) in incident.summary
        watcher.run()
        assert len(_for_port(incidents, port)) == 1  # no duplicate while it is open

        incidents.acknowledge(incident.id, "alice", "our test server")
        assert incidents.get(incident.id).state == "resolved"
        assert "listener_learned" in events
        watcher.run()
        assert _for_port(incidents, port) == []  # now normal
    finally:
        sock.close()


def test_a_listener_that_goes_away_resolves(registry, state_dir: Path) -> None:
    incidents = IncidentLog(registry, StatePaths(state_dir))
    watcher = InventoryWatcher(incidents)
    watcher.run()
    sock = _listen()
    port = sock.getsockname()[1]
    watcher.run()
    (incident,) = _for_port(incidents, port)
    sock.close()
    watcher.run()
    assert incidents.get(incident.id).state == "resolved"


def test_the_engine_schedules_the_governance_jobs(registry, state_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[host]\nenabled = false\n[learning.schedule]\nlistener_inventory = 120\n")
    engine = Engine(StatePaths(state_dir), registry, config)
    engine.start(watch_config=False)
    try:
        specs = {spec.name: spec for spec in engine.learning.jobs()}
        assert specs["tune_thresholds"].kind == "config_update"
        assert (specs["listener_inventory"].kind, specs["listener_inventory"].every_s) == ("knowledge_acquisition", 120)
        engine.run_job("listener_inventory")
        wait_until(lambda: learned.baseline_learned_at() is not None, message="baseline learned by the job")
    finally:
        engine.stop(leave_running=False)


def test_a_port_the_config_names_is_expected(registry, state_dir: Path) -> None:
    incidents = IncidentLog(registry, StatePaths(state_dir))
    sock = None
    watcher = InventoryWatcher(incidents, expected_ports=lambda: {sock.getsockname()[1]} if sock else set())
    watcher.run()
    sock = _listen()
    try:
        watcher.run()
        assert _for_port(incidents, sock.getsockname()[1]) == []
    finally:
        sock.close()

"""Knowledge acquisition: a listener that appears after the baseline opens an incident; an ack teaches it."""

from __future__ import annotations

import socket
from pathlib import Path

import psutil

from grace_tui.governance.inventory import KIND, InventoryWatcher, scan
from grace_tui.incidents import IncidentLog
from grace_tui.paths import StatePaths
from grace_tui.registry import learned


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
    assert first["baseline"] and learned.listener_count() == first["listeners"] and "inventory_baseline" in events

    sock = _listen()
    port = sock.getsockname()[1]
    try:
        watcher.run()
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

"""Knowledge acquisition: learn which processes normally listen on which TCP ports.

The first run of the `knowledge_acquisition` job records every listener as the
host's baseline. Later runs open an `unexpected_listener` incident (through
IncidentLog) for a listener that is not known -- a new process accepting
connections is a common sign of compromise. Acknowledging such an incident
teaches it as normal: it joins the known listeners and the incident resolves.
An unexpected listener that goes away on its own resolves too.

A listener is identified by (port, process name, user); the address is kept for
display only, so a service rebinding from 0.0.0.0 to :: does not alarm. Ports
the config names (a service's `port`, the metrics port) are expected, whoever
listens on them: the supervisor watches those services already.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import psutil

from grace_tui.events import Event
from grace_tui.incidents import IncidentLog
from grace_tui.registry import learned
from grace_tui.registry.incidents import IncidentView
from grace_tui.text import count

KIND = "unexpected_listener"
LearningSink = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Listener:
    port: int
    address: str
    process: str
    exe: str
    user: str
    pid: int | None

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.port, self.process, self.user)


def scan() -> list[Listener]:
    """Every TCP listener on the host, one per (port, process, user)."""
    found: dict[tuple[int, str, str], Listener] = {}
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status != psutil.CONN_LISTEN or not conn.laddr:
            continue
        process, exe, user = _identify(conn.pid)
        listener = Listener(conn.laddr.port, conn.laddr.ip, process, exe, user, conn.pid)
        found.setdefault(listener.key, listener)
    return sorted(found.values(), key=lambda item: item.key)


def _identify(pid: int | None) -> tuple[str, str, str]:
    """(name, exe, user) of a process; "?" where the OS will not tell us (another user's)."""
    if pid is None:
        return "?", "", "?"
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            name, user = proc.name(), proc.username()
            try:
                exe = proc.exe()
            except (psutil.AccessDenied, psutil.ZombieProcess):
                exe = ""
        return name, exe, user
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "?", "", "?"


def configured_ports(config: dict[str, Any]) -> set[int]:
    """Ports the config names: each service's `port` and the metrics port."""
    ports = {svc.get("port") for svc in (config.get("services") or {}).values() if isinstance(svc, dict)}
    ports.add((config.get("supervisor") or {}).get("metrics_port"))
    return {p for p in ports if isinstance(p, int)}


def _check(listener_key: tuple[int, str, str]) -> str:
    port, process, user = listener_key
    return f"listener:{port}:{process}:{user}"


class InventoryWatcher:
    def __init__(self, incidents: IncidentLog, on_learning: LearningSink | None = None,
                 scanner: Callable[[], list[Listener]] = scan,
                 expected_ports: Callable[[], set[int]] = lambda: set()):
        self.incidents = incidents
        self.on_learning = on_learning or (lambda type, data: None)
        self.scanner = scanner
        self.expected_ports = expected_ports

    def run(self, ctx: Any = None) -> dict[str, Any]:
        """The knowledge_acquisition job: learn the baseline, then flag what is new."""
        listeners = self.scanner()
        if ctx is not None:
            ctx.progress(30.0, f"{len(listeners)} listeners found")
        if learned.baseline_learned_at() is None:
            return self._learn_baseline(listeners)
        self.teach_acknowledged()
        known = {(k.port, k.process, k.user) for k in learned.known_listeners()}
        expected = self.expected_ports()
        listeners = [item for item in listeners if item.port not in expected]
        open_by_check = {i.check: i for i in self.incidents.open_incidents(kind=KIND)}
        opened = []
        for listener in listeners:
            if listener.key in known or _check(listener.key) in open_by_check:
                continue
            opened.append(self._open(listener).id)
        present = {_check(item.key) for item in listeners}
        gone = [i.id for check, i in open_by_check.items() if check not in present and not i.acknowledged]
        for incident_id in gone:
            self.incidents.resolve(incident_id, "the listener went away")
        summary = f"{count(len(listeners), 'listener')} off the config, {len(opened)} unexpected, {len(gone)} gone"
        return {"summary": summary, "listeners": len(listeners), "known": len(known), "unexpected": opened,
                "gone": gone}

    def _learn_baseline(self, listeners: list[Listener]) -> dict[str, Any]:
        for item in listeners:
            learned.learn_listener(item.port, item.address, item.process, item.exe, item.user, "baseline")
        learned.mark_baseline_learned(time.time())
        self.on_learning("inventory_baseline", {"listeners": [asdict(item) for item in listeners]})
        summary = f"baseline: {count(len(listeners), 'listener')} learned"
        return {"summary": summary, "listeners": len(listeners), "baseline": True, "unexpected": []}

    def _open(self, listener: Listener) -> IncidentView:
        summary = (f"unexpected listener: {listener.process} (user {listener.user}, pid {listener.pid}) "
                   f"on {listener.address}:{listener.port}")
        incident = self.incidents.open(KIND, "high", summary, check=_check(listener.key), detail=asdict(listener))
        self.on_learning("unexpected_listener", {"incident": incident.id, **asdict(listener)})
        return incident

    # ------------------------------------------------------------------ acknowledgements teach
    def teach_acknowledged(self) -> list[str]:
        taught = []
        for incident in self.incidents.open_incidents(kind=KIND):
            if incident.acknowledged:
                self._teach(incident)
                taught.append(incident.id)
        return taught

    def _teach(self, incident: IncidentView) -> None:
        d = incident.detail
        if learned.learn_listener(int(d["port"]), d.get("address", ""), d["process"], d.get("exe", ""),
                                  d["user"], "ack"):
            self.on_learning("listener_learned", {"incident": incident.id, "port": d["port"],
                                                  "process": d["process"], "user": d["user"],
                                                  "by": incident.acked_by, "reason": incident.ack_reason})
        self.incidents.resolve(incident.id, f"taught as normal by {incident.acked_by}")

    def on_event(self, event: Event) -> None:
        """EventBus subscriber: an acknowledged unexpected listener becomes known at once."""
        if event.topic != "incident":
            return
        try:
            incident = self.incidents.get(event.key)
        except Exception:
            return
        if incident.kind == KIND and incident.acknowledged and incident.is_open:
            self._teach(incident)

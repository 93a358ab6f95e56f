"""IncidentLog: open, advance and close incidents in one place.

Every change goes to three places that must agree: the incident tables, the
`self_healing` task that mirrors the incident while it lasts, and incidents.jsonl.
Subsystems (supervisor, learning, inventory) only ever call this class.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from grace_tui.errors import UserError
from grace_tui.incidents.jsonl import JsonlAppender
from grace_tui.paths import StatePaths
from grace_tui.registry import Registry
from grace_tui.registry import incidents as store
from grace_tui.registry.db import log_failure
from grace_tui.registry.incidents import IncidentView, TimelineEntry
from grace_tui.registry.ids import iso
from grace_tui.users import current_user

log = logging.getLogger(__name__)
# What the journal (the daemon's stderr) says about each change: a detection or an incident
# that healing could not end needs a look, the rest is the record.
STATE_LEVELS = {"failed": logging.ERROR, "escalated": logging.ERROR,
                "remediating": logging.DEBUG}  # the remediation line that follows says what was done


class IncidentLog:
    def __init__(self, registry: Registry, paths: StatePaths):
        self.registry = registry
        self.events = registry.events
        self.jsonl = JsonlAppender(paths.incidents_jsonl)
        self._lock = threading.RLock()  # one incident changes at a time, in order

    # ------------------------------------------------------------------ lifecycle
    def open(
        self,
        kind: str,
        severity: str,
        summary: str,
        *,
        service: str | None = None,
        check: str = "",
        detail: dict[str, Any] | None = None,
        detected_at: float | None = None,
    ) -> IncidentView:
        with self._lock:
            incident = store.create_incident(kind, severity, summary, service=service, check=check,
                                             detail=detail, detected_at=detected_at)
            task_id = self.registry.start_task(f"{severity.upper()}: {summary}", "self_healing", "incident",
                                               ref=incident.id, message="detected")
            incident = store.update_incident(incident.id, task_id=task_id, updated_at=incident.detected_at)
            self._append(incident, "detected", summary, detail or {})
        self.events.publish("incident", incident.id, incident.state)
        return incident

    def note(self, incident_id: str, type: str, message: str = "", data: dict[str, Any] | None = None) -> None:
        """Add a timeline entry: a remediation attempt, a verification, a silence..."""
        with self._lock:
            entry = store.add_timeline(incident_id, type, message, data)
            incident = store.get_incident(incident_id)
            if type == "remediation":
                incident = store.update_incident(incident_id, attempts=incident.attempts + 1)
            self._append(incident, type, message, entry.data)
            self._mirror_message(incident, message)
        self.events.publish("incident", incident_id, incident.state)

    def set_state(self, incident_id: str, state: str, message: str = "", at: float | None = None) -> IncidentView:
        """Move an incident; resolving it records MTTR (detection to verified recovery)."""
        now = at or time.time()
        with self._lock:
            incident = store.get_incident(incident_id)
            if incident.state in store.ENDED_STATES:
                return incident  # ended incidents stay ended
            fields: dict[str, Any] = {"state": state, "updated_at": now}
            if state == "resolved":
                fields.update(recovered_at=now, ended_at=now, mttr_s=max(0.0, now - incident.detected_at))
            elif state == "failed":
                fields.update(ended_at=now)
            incident = store.update_incident(incident_id, **fields)
            store.add_timeline(incident_id, "state", message or state, {"state": state}, at=now)
            self._append(incident, "state", message or state, {})
            self._mirror_state(incident, message)
        self.events.publish("incident", incident_id, state)
        return incident

    def resolve(self, incident_id: str, message: str = "recovered", at: float | None = None) -> IncidentView:
        return self.set_state(incident_id, "resolved", message, at)

    def acknowledge(self, incident_id: str, user: str | None = None, reason: str = "") -> IncidentView:
        """Record who acknowledged and when; MTTA = detection to acknowledgement."""
        now = time.time()
        who = user or current_user()
        with self._lock:
            incident = store.get_incident(incident_id)
            if incident.acknowledged:
                raise UserError(f"incident {incident_id} was already acknowledged by {incident.acked_by}")
            incident = store.update_incident(incident_id, acked_at=now, acked_by=who, ack_reason=reason or None,
                                             mtta_s=max(0.0, now - incident.detected_at))
            data = {"user": who, "reason": reason}
            store.add_timeline(incident_id, "ack", f"acknowledged by {who}" + (f": {reason}" if reason else ""),
                               data, at=now)
            self._append(incident, "ack", reason, data)
        self.events.publish("incident", incident_id, incident.state)
        return incident

    # ------------------------------------------------------------------ reading
    def get(self, incident_id: str) -> IncidentView:
        return store.get_incident(incident_id)

    def timeline(self, incident_id: str) -> list[TimelineEntry]:
        return store.timeline(incident_id)

    def open_incidents(self, service: str | None = None, kind: str | None = None) -> list[IncidentView]:
        return store.open_incidents(service, kind)

    def recent(self, limit: int = 100, before_id: str | None = None) -> list[IncidentView]:
        return store.list_incidents(limit, before_id)

    # ------------------------------------------------------------------ internals
    def _append(self, incident: IncidentView, event: str, message: str, data: dict[str, Any]) -> None:
        _log_change(incident, event, message)
        try:
            self._append_jsonl(incident, event, message, data)
        except OSError:  # a full disk must not stop the healing: the registry has the change
            log_failure(log, "%s: cannot append incident %s %s", self.jsonl.path, incident.id, event)

    def _append_jsonl(self, incident: IncidentView, event: str, message: str, data: dict[str, Any]) -> None:
        self.jsonl.append({
            "ts": iso(time.time()),
            "incident": incident.id,
            "event": event,
            "kind": incident.kind,
            "service": incident.service,
            "severity": incident.severity,
            "state": incident.state,
            "message": message,
            "detected_at": incident.detected_at,
            "mttr_s": incident.mttr_s,
            "mtta_s": incident.mtta_s,
            "acked_by": incident.acked_by,
            "data": data,
        })

    def _mirror_message(self, incident: IncidentView, message: str) -> None:
        if incident.task_id and message and incident.state in store.OPEN_STATES:
            try:
                task = self.registry.get(incident.task_id)
                if task.status == "active":
                    self.registry.progress(incident.task_id, task.progress, message)
            except UserError:
                pass  # the mirror task ended already

    def _mirror_state(self, incident: IncidentView, message: str) -> None:
        if not incident.task_id:
            return
        try:
            if incident.state == "resolved":
                self.registry.complete(incident.task_id, {"mttr_s": incident.mttr_s}, message or "resolved")
            elif incident.state in ("failed", "escalated"):
                self.registry.fail(incident.task_id, message or incident.state)
            else:
                self._mirror_message(incident, message or incident.state)
        except UserError:
            pass  # the mirror task ended already (e.g. an escalated incident resolving later)


def _log_change(incident: IncidentView, event: str, message: str) -> None:
    """One line per change, like supervisord's and monit's logs: what, which service, how it ended."""
    about = f"incident {incident.id} ({incident.kind}{', ' + incident.service if incident.service else ''})"
    if event == "detected":
        log.warning("%s opened, %s: %s", about, incident.severity, message)
    elif event == "state" and incident.state == "resolved":
        log.info("%s resolved in %s: %s", about, _duration(incident.mttr_s), message)
    elif event == "state":
        log.log(STATE_LEVELS.get(incident.state, logging.INFO), "%s %s: %s", about, incident.state, message)
    elif event == "ack":
        log.info("%s acknowledged by %s%s", about, incident.acked_by, f": {message}" if message else "")
    else:
        log.info("%s %s: %s", about, event, message)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"

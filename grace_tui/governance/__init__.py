"""Governance: learning from outcomes, where every learned change is visible,
bounded, reversible and recorded.

Parts: `audit` (hash-chained audit log), `versions` (versioned effective config,
bounds, proposals), `policy` (learned remediation), `tuning` (the config_update
job), `inventory` (the knowledge_acquisition job). `Governance` composes them for
the Engine and audits every learning event, config version and decision,
acknowledgement, silence and remediation.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from grace_tui.events import Event
from grace_tui.governance.audit import AuditLog
from grace_tui.governance.inventory import InventoryWatcher, configured_ports
from grace_tui.governance.policy import RemediationPolicy
from grace_tui.governance.tuning import History, ThresholdTuner
from grace_tui.governance.versions import ConfigVersions
from grace_tui.incidents import IncidentLog
from grace_tui.paths import StatePaths
from grace_tui.registry import Registry
from grace_tui.registry import governance as gov_store
from grace_tui.registry import incidents as incident_store
from grace_tui.registry.db import log_failure
from grace_tui.registry.governance import VersionView
from grace_tui.registry.models import TERMINAL_STATUSES
from grace_tui.users import current_user

log = logging.getLogger(__name__)

# Timeline entries worth an audit line, and the audit type they get.
AUDITED_TIMELINE = {"detected": "incident_opened", "ack": "acknowledgement", "silence": "silence",
                    "remediation": "remediation", "state": "incident_state"}
SEEN_LIMIT = 10_000  # incidents remembered; older ones have long been audited
JOBS = (("tune_thresholds", "config_update", 3600.0), ("listener_inventory", "knowledge_acquisition", 600.0))
JOB_TITLES = {"tune_thresholds": "tune thresholds from noise acks", "listener_inventory": "learn the host's listeners"}
FIRST_RUN_S = {"tune_thresholds": 60.0, "listener_inventory": 5.0}


class Governance:
    def __init__(self, registry: Registry, incidents: IncidentLog, paths: StatePaths,
                 config_provider: Callable[[], dict[str, Any]], apply_config: Callable[[dict[str, Any]], None],
                 *, history: History | None = None, policy: RemediationPolicy | None = None):
        self.registry = registry
        self.incidents = incidents
        self.audit = AuditLog(paths.audit_log, on_append=self._anchor)
        self.versions = ConfigVersions(config_provider, apply_config, self.record)
        self.policy = policy or RemediationPolicy()
        self.policy.on_learning = self._learning
        self.tuner = ThresholdTuner(self.versions, history)
        self.inventory = InventoryWatcher(incidents, self._learning,
                                          expected_ports=lambda: configured_ports(self.versions.effective()))
        self._unsubscribe: Callable[[], None] | None = None
        self._seen: OrderedDict[str, float] = OrderedDict()  # incident id -> last timeline entry audited
        self._seen_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> VersionView | None:
        """Listen to the engine's events and record the config file as a version if it changed."""
        self._unsubscribe = self.registry.events.subscribe(self.on_event)
        return self.versions.sync_file("config file changed while grace-tui was stopped")

    def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None

    def config_reloaded(self) -> VersionView | None:
        """The config file changed on disk (hot reload): a new version, applied with the learned overrides."""
        return self.versions.sync_file("config file edited")

    def jobs(self) -> list[tuple[str, str, Callable[[Any], Any], float]]:
        """(name, kind, func, every_s) for LearningRunner.register_job; `[learning] schedule`
        (name = seconds) overrides the default interval."""
        funcs = {"tune_thresholds": self.tuner.run, "listener_inventory": self.inventory.run}
        schedule = (self.versions.effective().get("learning") or {}).get("schedule") or {}
        return [(name, kind, funcs[name], float(schedule.get(name, every))) for name, kind, every in JOBS]

    def register_jobs(self, runner: Any) -> None:
        """Schedule the governance jobs; the inventory's first run comes soon (the baseline
        should describe the host as it was at start), tuning after a minute."""
        for name, kind, func, every_s in self.jobs():
            runner.register_job(name, kind, func, every_s, title=JOB_TITLES[name],
                                first_delay_s=FIRST_RUN_S[name])

    # ------------------------------------------------------------------ actions
    def record(self, type: str, actor: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.audit.append(type, actor, data)

    def approve(self, proposal_id: int, user: str | None = None) -> str:
        version = self.versions.approve(int(proposal_id), user or current_user())
        return f"approved proposal {proposal_id}: config version {version.number}"

    def reject(self, proposal_id: int, user: str | None = None) -> str:
        self.versions.reject(int(proposal_id), user or current_user())
        return f"rejected proposal {proposal_id}"

    def rollback(self, number: int, user: str | None = None) -> str:
        version = self.versions.rollback(int(number), user or current_user())
        return f"rolled back to version {number}: config version {version.number}"

    # ------------------------------------------------------------------ reading (for the pane)
    def pending(self) -> list[Any]:
        """Proposals waiting for a person (ProposalView: id, kind, changes, reason)."""
        return self.versions.pending()

    def history(self, limit: int = 20) -> list[VersionView]:
        return self.versions.history(limit)

    def learned_remediation(self) -> list[dict[str, Any]]:
        """Per (service, kind, action): tries, successes, success_rate, median_ttr_s."""
        return self.policy.table()

    # ------------------------------------------------------------------ auditing
    def _anchor(self, entry: dict[str, Any]) -> None:
        """Keep the newest (seq, hash) in the registry too; a failure here must not lose the entry."""
        try:
            gov_store.set_audit_anchor(str(self.audit.path.resolve()), entry["seq"], entry["hash"])
        except Exception:
            log_failure(log, "could not record the audit head in the registry")

    def _learning(self, type: str, data: dict[str, Any]) -> None:
        self.record("learning_event", "learning", {"event": type, **data})

    def on_event(self, event: Event) -> None:
        if event.topic == "remediation_outcome":
            self.policy.on_event(event)
        elif event.topic == "incident":
            self._audit_incident(event.key)
            self.inventory.on_event(event)
        elif event.topic == "task" and event.data in TERMINAL_STATUSES:
            self._audit_job(event.key)

    def _audit_incident(self, incident_id: str) -> None:
        with self._seen_lock:
            since = self._seen.get(incident_id, 0.0)
            try:
                entries = [e for e in incident_store.timeline(incident_id) if e.at > since]
                incident = incident_store.get_incident(incident_id)
            except Exception:
                return
            for entry in entries:
                kind = AUDITED_TIMELINE.get(entry.type)
                if kind:
                    actor = entry.data.get("user") or ("supervisor" if entry.type == "remediation" else "grace-tui")
                    self.record(kind, actor, {"incident": incident_id, "kind": incident.kind,
                                              "service": incident.service, "message": entry.message,
                                              "data": entry.data})
            if entries:
                self._seen[incident_id] = max(e.at for e in entries)
                self._seen.move_to_end(incident_id)
            while len(self._seen) > SEEN_LIMIT:
                self._seen.popitem(last=False)

    def _audit_job(self, task_id: str) -> None:
        try:
            task = self.registry.get(task_id)
        except Exception:
            return
        if task.subsystem == "learning":
            self.record("learning_job", "learning", {"task": task.id, "kind": task.kind, "title": task.title,
                                                     "status": task.status, "result": task.result,
                                                     "error": task.error, "duration_s": task.duration_s})


def load_file_config(path: Path | None) -> dict[str, Any]:
    """The config file as plain data (the supervisor's loader when present)."""
    try:
        from grace_tui.config import load_config
    except ImportError:
        import tomllib

        if path is None or not Path(path).exists():
            return {}
        with open(path, "rb") as f:
            return tomllib.load(f)
    return load_config(path).to_dict()


def validate_config(data: dict[str, Any], path: Path | None = None) -> Any:
    """Refuse a config the supervisor would not run; returns its typed Config when available.
    `path` is the file it came from (kept so hot reload keeps watching it)."""
    try:
        from grace_tui.config import config_from_dict
    except ImportError:
        return data
    return config_from_dict(data, source=f"effective config ({path or 'built-in default'})", path=path)


"""What the system learned from outcomes: remediation results and the host's normal listeners.

RemediationOutcome is one row per remediation attempt (service, incident kind,
action, success, time to recovery); the policy in grace_tui.governance.policy
reads the aggregates. KnownListener is one learned (port, process) pair that is
normal on this host.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import peewee

from grace_tui.registry.db import BaseModel, database

if TYPE_CHECKING:
    from grace_tui.registry.incidents import IncidentView


class RemediationOutcome(BaseModel):
    at = peewee.DoubleField()
    service = peewee.CharField(max_length=255)
    kind = peewee.CharField(max_length=64)
    action = peewee.CharField(max_length=64)
    success = peewee.BooleanField()
    ttr_s = peewee.DoubleField(null=True)  # detection to verified recovery, on success

    class Meta:
        indexes = ((("service", "kind", "action"), False),)


class KnownListener(BaseModel):
    port = peewee.IntegerField()
    address = peewee.CharField(max_length=64)
    process = peewee.CharField(max_length=255)  # name
    exe = peewee.CharField(max_length=1024, default="")
    user = peewee.CharField(max_length=255, default="")
    learned_at = peewee.DoubleField()
    source = peewee.CharField(max_length=32, default="baseline")  # baseline, ack

    class Meta:
        indexes = ((("port", "process", "user"), True),)


@dataclass(frozen=True)
class ActionStats:
    service: str
    kind: str
    action: str
    tries: int
    successes: int
    median_ttr_s: float | None

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.tries if self.tries else None


def record_outcome(service: str, kind: str, action: str, success: bool, ttr_s: float | None,
                   at: float | None = None) -> None:
    RemediationOutcome.create(at=at or time.time(), service=service, kind=kind, action=action,
                              success=bool(success), ttr_s=ttr_s if success else None)


def action_stats(service: str | None = None, kind: str | None = None) -> list[ActionStats]:
    """Tries, successes and median time to recovery per (service, kind, action)."""
    query = RemediationOutcome.select(RemediationOutcome.service, RemediationOutcome.kind,
                                      RemediationOutcome.action, RemediationOutcome.success,
                                      RemediationOutcome.ttr_s)
    if service is not None:
        query = query.where(RemediationOutcome.service == service)
    if kind is not None:
        query = query.where(RemediationOutcome.kind == kind)
    groups: dict[tuple[str, str, str], list[tuple[bool, float | None]]] = {}
    for row in query.tuples():
        groups.setdefault(row[:3], []).append((row[3], row[4]))
    result = []
    for (svc, knd, action), rows in sorted(groups.items()):
        times = [t for ok, t in rows if ok and t is not None]
        result.append(ActionStats(svc, knd, action, len(rows), sum(1 for ok, _ in rows if ok),
                                  statistics.median(times) if times else None))
    return result


def known_listeners() -> list[KnownListener]:
    return list(KnownListener.select().order_by(KnownListener.port))


def learn_listener(port: int, address: str, process: str, exe: str, user: str, source: str) -> bool:
    """Remember a listener as normal; False if it was known already."""
    with database.atomic():
        exists = KnownListener.get_or_none((KnownListener.port == port) & (KnownListener.process == process)
                                           & (KnownListener.user == user))
        if exists:
            return False
        KnownListener.create(port=port, address=address, process=process, exe=exe, user=user,
                             learned_at=time.time(), source=source)
    return True


def listener_count() -> int:
    return KnownListener.select().count()


def noise_acks(since: float = 0.0) -> list["IncidentView"]:
    """Incidents acknowledged with a reason that says "noise", oldest first."""
    from grace_tui.registry.incidents import Incident, IncidentView

    query = (Incident.select()
             .where(Incident.acked_at.is_null(False) & (Incident.acked_at >= since)
                    & peewee.fn.LOWER(Incident.ack_reason).contains("noise"))
             .order_by(Incident.acked_at))
    return [IncidentView.from_row(r) for r in query]


def baseline_learned_at() -> float | None:
    from grace_tui.registry.db import Meta

    row = Meta.get_or_none(Meta.key == "inventory_baseline_at")
    return float(row.value) if row else None


def mark_baseline_learned(at: float) -> None:
    from grace_tui.registry.db import Meta

    Meta.insert(key="inventory_baseline_at", value=repr(at)).on_conflict(
        conflict_target=[Meta.key], update={Meta.value: repr(at)}).execute()

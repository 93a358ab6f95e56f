"""Incidents and their timelines: tables and queries.

An incident moves open -> remediating -> resolved | failed | escalated. While it
lasts it is mirrored as a `self_healing` task in the task registry (kind
`incident`, ref = incident id); every change is also appended to
incidents.jsonl by `grace_tui.incidents.IncidentLog`, which is the only writer
that should call these functions.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import peewee

from grace_tui.errors import UserError
from grace_tui.registry.db import BaseModel
from grace_tui.registry.ids import iso, new_task_id

INCIDENT_STATES = ("open", "remediating", "resolved", "failed", "escalated")
OPEN_STATES = ("open", "remediating", "escalated")  # still needs attention
ENDED_STATES = ("resolved", "failed")
SEVERITIES = ("info", "low", "medium", "high", "critical")


class Incident(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=16)
    kind = peewee.CharField(max_length=64)  # process_down, port_in_use, anomaly...
    service = peewee.CharField(max_length=255, null=True)  # None for host checks
    check = peewee.CharField(max_length=255, default="")  # the check that fired
    severity = peewee.CharField(max_length=16)
    state = peewee.CharField(max_length=16)
    summary = peewee.CharField(max_length=500)
    detail = peewee.TextField(default="{}")  # JSON: metric, value, expected, port...
    detected_at = peewee.DoubleField()
    updated_at = peewee.DoubleField()
    recovered_at = peewee.DoubleField(null=True)  # verified recovery
    ended_at = peewee.DoubleField(null=True)
    acked_at = peewee.DoubleField(null=True)
    acked_by = peewee.CharField(max_length=255, null=True)
    ack_reason = peewee.CharField(max_length=500, null=True)
    mttr_s = peewee.DoubleField(null=True)
    mtta_s = peewee.DoubleField(null=True)
    attempts = peewee.IntegerField(default=0)
    task_id = peewee.CharField(max_length=16, null=True)

    class Meta:
        indexes = (
            (("state", "detected_at"), False),
            (("detected_at",), False),
            (("service", "kind", "state"), False),
            (("updated_at",), False),
        )


class IncidentEvent(BaseModel):
    """One line of an incident's timeline."""

    incident = peewee.ForeignKeyField(Incident, backref="events", on_delete="CASCADE")
    at = peewee.DoubleField()
    type = peewee.CharField(max_length=32)  # detected, remediation, verification, state, ack, silence, note
    message = peewee.TextField(default="")
    data = peewee.TextField(default="{}")  # JSON: argv, exit_code, output, duration_s...

    class Meta:
        indexes = ((("incident", "at"), False),)


@dataclass(frozen=True)
class IncidentView:
    id: str
    kind: str
    service: str | None
    check: str
    severity: str
    state: str
    summary: str
    detail: dict[str, Any]
    detected_at: float
    updated_at: float
    recovered_at: float | None
    ended_at: float | None
    acked_at: float | None
    acked_by: str | None
    ack_reason: str | None
    mttr_s: float | None
    mtta_s: float | None
    attempts: int
    task_id: str | None

    @classmethod
    def from_row(cls, row: Incident) -> "IncidentView":
        data = {f: getattr(row, f) for f in cls.__dataclass_fields__}
        data["detail"] = json.loads(row.detail or "{}")
        return cls(**data)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("detected_at", "updated_at", "recovered_at", "ended_at", "acked_at"):
            data[key] = iso(data[key])
        return data


@dataclass(frozen=True)
class TimelineEntry:
    at: float
    type: str
    message: str
    data: dict[str, Any]


def create_incident(
    kind: str,
    severity: str,
    summary: str,
    *,
    service: str | None = None,
    check: str = "",
    detail: dict[str, Any] | None = None,
    task_id: str | None = None,
    detected_at: float | None = None,
) -> IncidentView:
    if severity not in SEVERITIES:
        raise UserError(f"unknown severity {severity!r}; one of {', '.join(SEVERITIES)}")
    now = detected_at or time.time()
    incident_id = new_task_id()
    row = Incident.create(
        id=incident_id,
        kind=kind,
        service=service,
        check=check,
        severity=severity,
        state="open",
        summary=summary[:500],
        detail=json.dumps(detail or {}, default=str),
        detected_at=now,
        updated_at=now,
        task_id=task_id,
    )
    IncidentEvent.create(incident=incident_id, at=now, type="detected", message=summary, data=row.detail)
    return IncidentView.from_row(row)


def get_incident(incident_id: str) -> IncidentView:
    row = Incident.get_or_none(Incident.id == incident_id)
    if row is None:
        raise UserError(f"unknown incident id {incident_id!r}")
    return IncidentView.from_row(row)


def update_incident(incident_id: str, **fields: Any) -> IncidentView:
    """Set columns of one incident (state, recovered_at, mttr_s, acked_*, attempts...)."""
    if "detail" in fields and not isinstance(fields["detail"], str):
        fields["detail"] = json.dumps(fields["detail"], default=str)
    fields.setdefault("updated_at", time.time())
    if "state" in fields and fields["state"] not in INCIDENT_STATES:
        raise UserError(f"unknown incident state {fields['state']!r}")
    columns = {getattr(Incident, name): value for name, value in fields.items()}
    if not Incident.update(columns).where(Incident.id == incident_id).execute():
        raise UserError(f"unknown incident id {incident_id!r}")
    return get_incident(incident_id)


def add_timeline(incident_id: str, type: str, message: str = "", data: dict[str, Any] | None = None,
                 at: float | None = None) -> TimelineEntry:
    entry = TimelineEntry(at or time.time(), type, message, data or {})
    IncidentEvent.create(incident=incident_id, at=entry.at, type=type, message=message,
                         data=json.dumps(entry.data, default=str))
    Incident.update({Incident.updated_at: entry.at}).where(Incident.id == incident_id).execute()
    return entry


def timeline(incident_id: str) -> list[TimelineEntry]:
    # In the order written, which is the order things happened: an entry's time can be a moment
    # earlier than the one before it (a resolution is dated at the recovery its verification saw).
    rows = IncidentEvent.select().where(IncidentEvent.incident == incident_id).order_by(IncidentEvent.id)
    return [TimelineEntry(r.at, r.type, r.message, json.loads(r.data or "{}")) for r in rows]


def open_incidents(service: str | None = None, kind: str | None = None) -> list[IncidentView]:
    """Incidents that still need attention, newest first."""
    query = Incident.select().where(Incident.state.in_(OPEN_STATES))
    if service is not None:
        query = query.where(Incident.service == service)
    if kind is not None:
        query = query.where(Incident.kind == kind)
    return [IncidentView.from_row(r) for r in query.order_by(Incident.detected_at.desc())]


def last_failed(service: str) -> IncidentView | None:
    """The service's newest failed incident: for a service left down, the one that says why."""
    row = (Incident.select().where((Incident.service == service) & (Incident.state == "failed"))
           .order_by(Incident.detected_at.desc()).first())
    return IncidentView.from_row(row) if row else None


def list_incidents(limit: int = 100, before_id: str | None = None, state: str | None = None,
                   since: float | None = None) -> list[IncidentView]:
    """A page of incidents, newest first (keyset paging by id)."""
    query = Incident.select()
    if before_id:
        query = query.where(Incident.id < before_id)
    if state:
        query = query.where(Incident.state == state)
    if since is not None:
        query = query.where(Incident.detected_at >= since)
    return [IncidentView.from_row(r) for r in query.order_by(Incident.id.desc()).limit(limit)]


def all_incidents(since: float | None = None) -> list[IncidentView]:
    """Every incident (for reports), oldest first."""
    query = Incident.select()
    if since is not None:
        query = query.where(Incident.detected_at >= since)
    return [IncidentView.from_row(r) for r in query.order_by(Incident.detected_at)]


@dataclass(frozen=True)
class HealingColumns:
    """What the healing figures are computed from: counts and the MTTR/MTTA values alone, so
    the metrics file, re-rendered at every incident change, never loads a year of incidents."""

    by_kind: dict[str, int]
    by_state: dict[str, int]
    attempts: int
    mttr_s: list[float]  # of resolved incidents
    mtta_s: list[float]  # of acknowledged incidents


def healing_columns() -> HealingColumns:
    def counts(column: peewee.Field) -> dict[str, int]:
        return dict(Incident.select(column, peewee.fn.COUNT(Incident.id)).group_by(column).tuples())

    def values(column: peewee.Field, *where: Any) -> list[float]:
        return [v for (v,) in Incident.select(column).where(column.is_null(False), *where).tuples()]

    return HealingColumns(counts(Incident.kind), counts(Incident.state),
                          int(Incident.select(peewee.fn.SUM(Incident.attempts)).scalar() or 0),
                          values(Incident.mttr_s, Incident.state == "resolved"), values(Incident.mtta_s))


def incidents_changed_since(ts: float, limit: int = 200) -> list[IncidentView]:
    query = Incident.select().where(Incident.updated_at > ts).order_by(Incident.updated_at).limit(limit)
    return [IncidentView.from_row(r) for r in query]


def last_incident_change() -> float:
    return Incident.select(peewee.fn.MAX(Incident.updated_at)).scalar() or 0.0


def resolved_since(ts: float) -> tuple[int, float | None]:
    """How many incidents were resolved at or after `ts` (local midnight: the pane's header), and
    their mean MTTR; counted by the database, re-read at every incident change."""
    count, mttr = (Incident.select(peewee.fn.COUNT(Incident.id), peewee.fn.AVG(Incident.mttr_s))
                   .where(Incident.state == "resolved", Incident.ended_at >= ts).tuples().get())
    return count, mttr

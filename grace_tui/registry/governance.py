"""Config versions and change proposals: tables and queries.

Every change to the effective config is a numbered ConfigVersion (its diff,
author, reason). A learned change outside the configured bounds waits as a
pending Proposal until a user approves or rejects it.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from dataclasses import dataclass
from typing import Any

import peewee

from grace_tui.errors import UserError
from grace_tui.registry.db import BaseModel, database

PROPOSAL_STATES = ("pending", "approved", "rejected", "auto_approved", "superseded")


class ConfigVersion(BaseModel):
    number = peewee.IntegerField(primary_key=True)
    created_at = peewee.DoubleField()
    author = peewee.CharField(max_length=255)  # "learning", "file", or a user name
    reason = peewee.TextField(default="")
    diff = peewee.TextField(default="")  # unified diff against the previous version
    config = peewee.TextField()  # the whole effective config, JSON
    proposal_id = peewee.IntegerField(null=True)


class Proposal(BaseModel):
    id = peewee.AutoField()
    created_at = peewee.DoubleField()
    author = peewee.CharField(max_length=255, default="learning")
    kind = peewee.CharField(max_length=64)  # threshold, anomaly_sensitivity, ...
    reason = peewee.TextField(default="")
    changes = peewee.TextField()  # JSON list of {"path": "services.web.cpu_pct", "old": 80, "new": 95}
    status = peewee.CharField(max_length=16, default="pending")
    decided_at = peewee.DoubleField(null=True)
    decided_by = peewee.CharField(max_length=255, null=True)
    version = peewee.IntegerField(null=True)  # the ConfigVersion it produced

    class Meta:
        indexes = ((("status", "id"), False),)


@dataclass(frozen=True)
class VersionView:
    number: int
    created_at: float
    author: str
    reason: str
    diff: str
    config: dict[str, Any]
    proposal_id: int | None


@dataclass(frozen=True)
class ProposalView:
    id: int
    created_at: float
    author: str
    kind: str
    reason: str
    changes: list[dict[str, Any]]
    status: str
    decided_at: float | None
    decided_by: str | None
    version: int | None


def _version(row: ConfigVersion) -> VersionView:
    return VersionView(row.number, row.created_at, row.author, row.reason, row.diff, json.loads(row.config),
                       row.proposal_id)


def _proposal(row: Proposal) -> ProposalView:
    return ProposalView(row.id, row.created_at, row.author, row.kind, row.reason, json.loads(row.changes),
                        row.status, row.decided_at, row.decided_by, row.version)


def add_version(config: dict[str, Any], author: str, reason: str, diff: str,
                proposal_id: int | None = None) -> VersionView:
    with database.atomic():
        last = ConfigVersion.select(peewee.fn.MAX(ConfigVersion.number)).scalar() or 0
        row = ConfigVersion.create(number=last + 1, created_at=time.time(), author=author, reason=reason, diff=diff,
                                   config=json.dumps(config, sort_keys=True, default=str), proposal_id=proposal_id)
    return _version(row)


def latest_version() -> VersionView | None:
    row = ConfigVersion.select().order_by(ConfigVersion.number.desc()).first()
    return _version(row) if row else None


def get_version(number: int) -> VersionView:
    row = ConfigVersion.get_or_none(ConfigVersion.number == number)
    if row is None:
        raise UserError(f"unknown config version {number}")
    return _version(row)


def list_versions(limit: int = 100) -> list[VersionView]:
    rows = ConfigVersion.select().order_by(ConfigVersion.number.desc()).limit(limit)
    return [_version(r) for r in rows]


def create_proposal(kind: str, changes: list[dict[str, Any]], reason: str, author: str = "learning",
                    status: str = "pending") -> ProposalView:
    row = Proposal.create(created_at=time.time(), author=author, kind=kind, reason=reason,
                          changes=json.dumps(changes, default=str), status=status)
    return _proposal(row)


def get_proposal(proposal_id: int) -> ProposalView:
    row = Proposal.get_or_none(Proposal.id == proposal_id)
    if row is None:
        raise UserError(f"unknown proposal {proposal_id}")
    return _proposal(row)


def decide_proposal(proposal_id: int, status: str, user: str, version: int | None = None) -> ProposalView:
    if status not in PROPOSAL_STATES:
        raise UserError(f"unknown proposal status {status!r}")
    changed = Proposal.update({Proposal.status: status, Proposal.decided_at: time.time(),
                               Proposal.decided_by: user, Proposal.version: version}).where(
        (Proposal.id == proposal_id) & (Proposal.status == "pending")).execute()
    if not changed:
        current = get_proposal(proposal_id)
        raise UserError(f"proposal {proposal_id} is already {current.status}")
    return get_proposal(proposal_id)


def pending_proposals() -> list[ProposalView]:
    rows = Proposal.select().where(Proposal.status == "pending").order_by(Proposal.id)
    return [_proposal(r) for r in rows]


def list_proposals(limit: int = 100) -> list[ProposalView]:
    return [_proposal(r) for r in Proposal.select().order_by(Proposal.id.desc()).limit(limit)]


class LearnedOverride(BaseModel):
    """One approved learned value laid over the config file (the effective config
    is the file plus these). `base` is the file's value when it was learned: if a
    hand edit changes that field, the file wins and the override is dropped."""

    path = peewee.CharField(primary_key=True, max_length=500)
    value = peewee.TextField()  # JSON
    base = peewee.TextField()  # JSON
    version = peewee.IntegerField(null=True)


def overrides() -> dict[str, tuple[Any, Any]]:
    """path -> (value, base)."""
    return {r.path: (json.loads(r.value), json.loads(r.base)) for r in LearnedOverride.select()}


def set_overrides(items: dict[str, tuple[Any, Any]], version: int | None) -> None:
    """Replace every override at once (after an approval, a rollback or a reload)."""
    with database.atomic():
        LearnedOverride.delete().execute()
        for path, (value, base) in items.items():
            LearnedOverride.create(path=path, value=json.dumps(value), base=json.dumps(base), version=version)


def supersede_pending(paths: set[str]) -> list[int]:
    """Mark pending proposals that touch any of `paths` superseded (a newer one replaces them)."""
    superseded = []
    for proposal in pending_proposals():
        if paths & {c.get("path") for c in proposal.changes}:
            Proposal.update({Proposal.status: "superseded", Proposal.decided_at: time.time(),
                             Proposal.decided_by: "learning"}).where(
                (Proposal.id == proposal.id) & (Proposal.status == "pending")).execute()
            superseded.append(proposal.id)
    return superseded


def versions_since(ts: float) -> list[VersionView]:
    rows = ConfigVersion.select().where(ConfigVersion.created_at >= ts).order_by(ConfigVersion.number)
    return [_version(r) for r in rows]


def last_proposal_change() -> float:
    """When a proposal was last created or decided (cheap): lets another process notice."""
    created = Proposal.select(peewee.fn.MAX(Proposal.created_at)).scalar() or 0.0
    decided = Proposal.select(peewee.fn.MAX(Proposal.decided_at)).scalar() or 0.0
    return max(created, decided)


def _anchor_key(log_path: str) -> str:
    """One anchor per audit file per host (a fleet may share one PostgreSQL registry)."""
    digest = hashlib.sha256(f"{socket.gethostname()}:{log_path}".encode()).hexdigest()[:32]
    return f"audit_head:{digest}"


def set_audit_anchor(log_path: str, seq: int, digest: str) -> None:
    """The audit log's newest (seq, hash), kept apart from the log file."""
    from grace_tui.registry.db import Meta

    value = json.dumps({"seq": seq, "hash": digest})
    Meta.insert(key=_anchor_key(log_path), value=value).on_conflict(
        conflict_target=[Meta.key], update={Meta.value: value}).execute()


def audit_anchor(log_path: str) -> tuple[int, str] | None:
    from grace_tui.registry.db import Meta

    row = Meta.get_or_none(Meta.key == _anchor_key(log_path))
    if row is None:
        return None
    data = json.loads(row.value)
    return int(data["seq"]), str(data["hash"])

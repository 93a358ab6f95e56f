"""Versioned config under governance.

The effective config is the config file plus the learned changes that were
approved (kept as overrides in the registry). Every change to it -- learned,
made by a user, a rollback, or a hand edit of the file picked up on reload -- is
a numbered ConfigVersion with a unified diff, an author and a reason.

A learned change inside the bounds of the `[governance]` table (for example
`max_threshold_change_pct = 20`) is approved automatically and applied; any
other change waits as a pending Proposal until a user approves or rejects it.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import threading
from typing import Any, Callable

from grace_tui.config.model import GovernanceBounds
from grace_tui.errors import UserError
from grace_tui.registry import governance as store
from grace_tui.registry.governance import ProposalView, VersionView

DEFAULT_BOUNDS = dataclasses.asdict(GovernanceBounds())  # [governance], checked by the config loader
BOUND_FOR_KIND = {"threshold": "max_threshold_change_pct", "anomaly_sensitivity": "max_sensitivity_change_pct"}

Audit = Callable[[str, str, dict[str, Any]], None]  # (type, actor, data)


# ---------------------------------------------------------------------- dotted paths
def _split(path: str) -> list[str]:
    return path.split(".")


def get_path(config: dict[str, Any], path: str, default: Any = None) -> Any:
    node: Any = config
    for part in _split(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def set_path(config: dict[str, Any], path: str, value: Any) -> None:
    parts = _split(path)
    node: Any = config
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}: the leaves, for diffs and overrides."""
    if isinstance(config, dict) and config:
        out: dict[str, Any] = {}
        for key, value in config.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: config} if prefix else {}  # an empty config has no leaves


def render(config: dict[str, Any]) -> list[str]:
    return [f"{path} = {json.dumps(value, sort_keys=True, default=str)}\n"
            for path, value in sorted(flatten(config).items())]


def unified_diff(old: dict[str, Any] | None, new: dict[str, Any], old_name: str, new_name: str) -> str:
    return "".join(difflib.unified_diff(render(old or {}), render(new), old_name, new_name, n=1))


# ---------------------------------------------------------------------- bounds
def bounds(config: dict[str, Any]) -> dict[str, Any]:
    return {**DEFAULT_BOUNDS, **(config.get("governance") or {})}


def within_bounds(kind: str, changes: list[dict[str, Any]], config: dict[str, Any]) -> tuple[bool, str]:
    """Can this learned change be applied without asking? Returns (yes, why)."""
    limits = bounds(config)
    if not limits.get("auto_approve", True):
        return False, "auto-approval is off ([governance] auto_approve = false)"
    key = BOUND_FOR_KIND.get(kind)
    if key is None:
        return False, f"{kind} changes always need a person"
    limit = float(limits[key])
    for change in changes:
        old, new = change.get("old"), change.get("new")
        if not _is_number(old) or not _is_number(new) or old == 0:
            return False, f"{change['path']}: not a numeric change from a non-zero value"
        pct = abs(new - old) / abs(old) * 100.0
        if pct > limit + 1e-9:
            return False, f"{change['path']}: {old} -> {new} is {pct:.1f}% (> {key} = {limit:g})"
    return True, f"every change within {key} = {limit:g}%"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------------- versions
class ConfigVersions:
    """Versions, proposals and the effective config of one registry.

    `file_config()` returns the config file as a dict; `apply(config)` hands an
    effective config to whoever runs it (the supervisor); `audit(type, actor,
    data)` records every version and decision.
    """

    def __init__(self, file_config: Callable[[], dict[str, Any]], apply: Callable[[dict[str, Any]], None],
                 audit: Audit | None = None):
        self.file_config = file_config
        self.apply = apply
        self.audit = audit or (lambda type, actor, data: None)
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ reading
    def effective(self) -> dict[str, Any]:
        latest = store.latest_version()
        return latest.config if latest else self._compose(self.file_config(), store.overrides())[0]

    def history(self, limit: int = 100) -> list[VersionView]:
        return store.list_versions(limit)

    def pending(self) -> list[ProposalView]:
        return store.pending_proposals()

    # ------------------------------------------------------------------ the file
    def sync_file(self, reason: str = "config file reloaded") -> VersionView | None:
        """Pick up the config file (at start and on every reload): a new version if it changed."""
        with self._lock:
            file_config = self.file_config()
            config, kept = self._compose(file_config, store.overrides())
            latest = store.latest_version()
            if latest is not None and latest.config == config:
                self.apply(config)
                return None
            store.set_overrides(kept, latest.number + 1 if latest else 1)
            return self._new_version(config, "file", reason if latest else "initial config")

    @staticmethod
    def _compose(file_config: dict[str, Any], overrides: dict[str, tuple[Any, Any]]
                 ) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
        """file + overrides; an override whose field was edited by hand in the file is dropped."""
        config = copy.deepcopy(file_config)
        kept = {}
        for path, (value, base) in overrides.items():
            if get_path(file_config, path) == base:
                set_path(config, path, value)
                kept[path] = (value, base)
        return config, kept

    # ------------------------------------------------------------------ proposals
    def propose(self, kind: str, changes: list[dict[str, Any]], reason: str, author: str = "learning"
                ) -> ProposalView:
        """A learned change: applied at once inside the bounds, else left pending for a person."""
        with self._lock:
            current = self.effective()
            changes = [{"path": c["path"], "new": c["new"], "old": get_path(current, c["path"], c.get("default"))}
                       for c in changes]
            changes = [c for c in changes if c["old"] != c["new"]]
            if not changes:
                raise UserError("the proposal changes nothing")
            store.supersede_pending({c["path"] for c in changes})
            ok, why = within_bounds(kind, changes, current)
            proposal = store.create_proposal(kind, changes, reason, author)
            self.audit("proposal", author, {"proposal": proposal.id, "kind": kind, "changes": changes,
                                            "reason": reason, "within_bounds": ok, "why": why})
            if ok:
                version = self._apply_changes(proposal, author)
                proposal = store.decide_proposal(proposal.id, "auto_approved", "governance", version.number)
                self.audit("decision", "governance", {"proposal": proposal.id, "decision": "auto_approved",
                                                      "version": version.number, "why": why})
            return proposal

    def approve(self, proposal_id: int, user: str) -> VersionView:
        with self._lock:
            proposal = store.get_proposal(proposal_id)
            if proposal.status != "pending":
                raise UserError(f"proposal {proposal_id} is already {proposal.status}")
            version = self._apply_changes(proposal, user)
            store.decide_proposal(proposal_id, "approved", user, version.number)
            self.audit("decision", user, {"proposal": proposal_id, "decision": "approved",
                                          "version": version.number})
            return version

    def reject(self, proposal_id: int, user: str) -> ProposalView:
        with self._lock:
            proposal = store.decide_proposal(proposal_id, "rejected", user)
            self.audit("decision", user, {"proposal": proposal_id, "decision": "rejected"})
            return proposal

    def rollback(self, number: int, user: str) -> VersionView:
        """Return to version `number`: a new version whose config is that one's."""
        with self._lock:
            target = store.get_version(number)
            file_config = self.file_config()
            file_flat, target_flat = flatten(file_config), flatten(target.config)
            kept = {p: (v, file_flat.get(p)) for p, v in target_flat.items() if file_flat.get(p) != v}
            version = self._new_version(target.config, user, f"rollback to version {number}")
            store.set_overrides(kept, version.number)
            return version

    # ------------------------------------------------------------------ internals
    def _apply_changes(self, proposal: ProposalView, author: str) -> VersionView:
        config = copy.deepcopy(self.effective())
        file_config = self.file_config()
        items = store.overrides()
        for change in proposal.changes:
            set_path(config, change["path"], change["new"])
            base = items.get(change["path"], (None, get_path(file_config, change["path"])))[1]
            items[change["path"]] = (change["new"], base)
        version = self._new_version(config, author, proposal.reason, proposal.id)
        store.set_overrides(items, version.number)
        return version

    def _new_version(self, config: dict[str, Any], author: str, reason: str,
                     proposal_id: int | None = None) -> VersionView:
        latest = store.latest_version()
        number = (latest.number + 1) if latest else 1
        diff = unified_diff(latest.config if latest else None, config,
                            f"v{latest.number}" if latest else "empty", f"v{number}")
        self.apply(config)  # refuse to record a config the supervisor cannot run
        version = store.add_version(config, author, reason, diff, proposal_id)
        self.audit("config_version", author, {"version": version.number, "reason": reason, "diff": diff,
                                              "proposal": proposal_id})
        return version

"""Config versions: auto-approval inside the bounds, pending outside, approve/reject/rollback, hand edits."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from grace_tui.errors import UserError
from grace_tui.governance.audit import AuditLog, verify
from grace_tui.governance.versions import ConfigVersions, get_path

CONFIG = """
[governance]
max_threshold_change_pct = 20

[services.web]
cpu_pct = 80
port = 8080
"""


@pytest.fixture
def setup(registry, tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    applied: list[dict] = []
    log = AuditLog(tmp_path / "audit.jsonl")
    versions = ConfigVersions(lambda: tomllib.loads(path.read_text()), applied.append,
                              lambda t, a, d: log.append(t, a, d))
    versions.sync_file()
    return versions, path, applied, log


def _threshold(path: str, new: float) -> list[dict]:
    return [{"path": path, "new": new}]


def test_first_sync_is_version_one(setup) -> None:
    versions, _, applied, _ = setup
    (v1,) = versions.history()
    assert (v1.number, v1.author, v1.reason) == (1, "file", "initial config")
    assert applied[-1]["services"]["web"]["cpu_pct"] == 80
    assert versions.sync_file() is None  # unchanged file: no new version


def test_change_inside_bounds_is_auto_approved_and_applied(setup) -> None:
    versions, _, applied, log = setup
    proposal = versions.propose("threshold", _threshold("services.web.cpu_pct", 92), "3 noise acks")
    assert proposal.status == "auto_approved" and proposal.version == 2
    assert applied[-1]["services"]["web"]["cpu_pct"] == 92
    v2 = versions.history()[0]
    assert v2.author == "learning" and "-services.web.cpu_pct = 80" in v2.diff and "+services.web.cpu_pct = 92" in v2.diff
    assert versions.pending() == []
    types = [e["type"] for e in log.tail(10)]
    assert types[-3:] == ["proposal", "config_version", "decision"] and verify(log.path).ok


def test_change_outside_bounds_waits_then_approve_applies(setup) -> None:
    versions, _, applied, _ = setup
    proposal = versions.propose("threshold", _threshold("services.web.cpu_pct", 99), "noise")  # +23.75%
    assert proposal.status == "pending" and [p.id for p in versions.pending()] == [proposal.id]
    assert get_path(versions.effective(), "services.web.cpu_pct") == 80 and len(versions.history()) == 1
    version = versions.approve(proposal.id, "alice")
    assert version.number == 2 and version.author == "alice"
    assert applied[-1]["services"]["web"]["cpu_pct"] == 99
    with pytest.raises(UserError, match="already approved"):
        versions.approve(proposal.id, "bob")


def test_reject_leaves_the_config_alone(setup) -> None:
    versions, _, applied, _ = setup
    proposal = versions.propose("threshold", _threshold("services.web.cpu_pct", 40), "noise")
    assert proposal.status == "pending"
    assert versions.reject(proposal.id, "alice").status == "rejected"
    assert len(versions.history()) == 1 and versions.pending() == []
    with pytest.raises(UserError):
        versions.reject(proposal.id, "alice")


def test_non_threshold_kinds_always_wait(setup) -> None:
    versions, _, _, _ = setup
    assert versions.propose("port", _threshold("services.web.port", 8081), "x").status == "pending"


def test_rollback_returns_to_a_version_and_survives_a_reload(setup) -> None:
    versions, _, applied, _ = setup
    versions.propose("threshold", _threshold("services.web.cpu_pct", 90), "a")  # v2
    versions.propose("threshold", _threshold("services.web.cpu_pct", 100), "b")  # v3 (+11%)
    assert get_path(versions.effective(), "services.web.cpu_pct") == 100
    v4 = versions.rollback(2, "alice")
    assert v4.number == 4 and v4.reason == "rollback to version 2"
    assert applied[-1]["services"]["web"]["cpu_pct"] == 90
    assert versions.sync_file() is None  # the rolled-back learned value is still laid over the file
    versions.rollback(1, "alice")
    assert get_path(versions.effective(), "services.web.cpu_pct") == 80
    with pytest.raises(UserError, match="unknown config version 99"):
        versions.rollback(99, "alice")


def test_hand_edit_becomes_a_version_and_wins_over_learning(setup) -> None:
    versions, path, applied, _ = setup
    versions.propose("threshold", _threshold("services.web.cpu_pct", 90), "learned")  # v2
    path.write_text(CONFIG.replace("port = 8080", "port = 9090"))
    v3 = versions.sync_file()
    assert v3 is not None and v3.author == "file" and "+services.web.port = 9090" in v3.diff
    assert get_path(versions.effective(), "services.web.cpu_pct") == 90  # untouched field keeps the learned value
    path.write_text(CONFIG.replace("cpu_pct = 80", "cpu_pct = 70"))
    v4 = versions.sync_file()
    assert get_path(v4.config, "services.web.cpu_pct") == 70  # the person's edit wins


def test_the_first_diff_lists_every_setting_and_nothing_else(setup) -> None:
    versions, _, _, _ = setup
    (v1,) = versions.history()
    assert v1.diff.splitlines()[:3] == ["--- empty", "+++ v1", "@@ -0,0 +1,3 @@"]
    assert "+services.web.cpu_pct = 80" in v1.diff and " = {}" not in v1.diff

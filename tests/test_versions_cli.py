"""`grace-tui config approve|reject|history|rollback` from a shell, with and without a running daemon."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from conftest import run_cli

from grace_tui.engine import Engine
from grace_tui.governance.audit import verify
from grace_tui.governance.versions import get_path
from grace_tui.lockfile import SupervisorLock
from grace_tui.paths import StatePaths
from grace_tui.registry import governance as store

CONFIG = """
[governance]
max_threshold_change_pct = 20

[services.web]
mode = "watched"
process_name = "web"
cpu_max_pct = 80.0
"""


def _propose(engine: Engine, new: float):
    return engine.governance.versions.propose("threshold", [{"path": "services.web.cpu_max_pct", "new": new}],
                                              "noise acks")


def _engine(registry, state_dir: Path, config: Path) -> Engine:
    engine = Engine(StatePaths(state_dir), registry, config)
    engine._start_governance()  # governance alone: no supervisor needed for these commands
    return engine


def test_cli_approve_reject_history_rollback_without_daemon(registry, state_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    engine = _engine(registry, state_dir, config)
    first, second = _propose(engine, 120.0), _propose(engine, 40.0)
    assert store.get_proposal(first.id).status == "superseded"  # a newer proposal on the same field
    third = engine.governance.versions.propose("port", [{"path": "services.web.port", "new": 9000}], "x")
    common = ("--config", str(config))

    pending = run_cli("config", "pending", *common, state_dir=state_dir)
    assert f"#{second.id}" in pending.stdout and f"#{third.id}" in pending.stdout, pending.stderr

    approved = run_cli("config", "approve", str(second.id), "--user", "alice", *common, state_dir=state_dir)
    assert approved.returncode == 0 and "config version 2" in approved.stdout, approved.stderr
    rejected = run_cli("config", "reject", str(third.id), "--user", "alice", *common, state_dir=state_dir)
    assert rejected.returncode == 0, rejected.stderr
    again = run_cli("config", "approve", str(second.id), *common, state_dir=state_dir)
    assert again.returncode == 1 and again.stderr.strip() == f"grace-tui: proposal {second.id} is already approved"

    history = json.loads(run_cli("config", "history", "--json", *common, state_dir=state_dir).stdout)
    assert [(v["number"], v["author"]) for v in history] == [(2, "alice"), (1, "file")]
    assert "+services.web.cpu_max_pct = 40.0" in history[0]["diff"]

    rolled = run_cli("config", "rollback", "1", "--user", "bob", *common, state_dir=state_dir)
    assert rolled.returncode == 0 and "config version 3" in rolled.stdout, rolled.stderr
    assert get_path(store.latest_version().config, "services.web.cpu_max_pct") == 80.0
    text = run_cli("config", "history", *common, state_dir=state_dir).stdout
    assert "rollback to version 1" in text and "bob" in text
    bad = run_cli("config", "rollback", "42", *common, state_dir=state_dir)
    assert bad.returncode == 1 and bad.stderr.strip() == "grace-tui: unknown config version 42"

    result = verify(state_dir / "audit.jsonl")
    assert result.ok and result.checked >= 8


def test_cli_approve_goes_through_the_running_daemon(registry, state_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    engine = _engine(registry, state_dir, config)
    applied: list[dict] = []
    engine.governance.versions.apply = applied.append  # what the daemon's supervisor would receive
    proposal = _propose(engine, 150.0)
    with SupervisorLock(StatePaths(state_dir).lock):
        thread = threading.Thread(target=engine._serve_commands, daemon=True)
        thread.start()
        try:
            result = run_cli("config", "approve", str(proposal.id), "--user", "carol", "--config", str(config),
                             state_dir=state_dir)
        finally:
            engine._stop.set()
            thread.join(timeout=20)
    assert result.returncode == 0 and "config version 2" in result.stdout, result.stderr
    assert applied and applied[-1]["services"]["web"]["cpu_max_pct"] == 150.0  # applied in the daemon's process
    assert store.get_proposal(proposal.id).decided_by == "carol"

"""`grace-tui report learning|tasks`: figures computed from what really happened."""

from __future__ import annotations

import json
import random
from pathlib import Path

from conftest import run_cli

from grace_tui.engine import Engine
from grace_tui.paths import StatePaths


def _report(name: str, state_dir: Path, *extra: str):
    result = run_cli("report", name, *extra, state_dir=state_dir)
    assert result.returncode == 0, result.stderr
    return result


def test_learning_report_reflects_outcomes_versions_and_proposals(registry, state_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[services.web]\nprocess_name = \"web\"\ncpu_max_pct = 80.0\n")
    engine = Engine(StatePaths(state_dir), registry, config)
    engine._start_governance()
    engine.governance.policy.rng = random.Random(5)
    for ok, ttr in ((True, 2.0), (True, 4.0), (False, None)):
        engine.events.publish("remediation_outcome", "web", {"kind": "port_in_use", "action": "restart",
                                                             "success": ok, "ttr_s": ttr})
    engine.events.publish("remediation_outcome", "web", {"kind": "port_in_use", "action": "free_port",
                                                         "success": False, "ttr_s": None})
    versions = engine.governance.versions
    versions.propose("threshold", [{"path": "services.web.cpu_max_pct", "new": 88.0}], "2 noise acks")  # auto
    pending = versions.propose("threshold", [{"path": "services.web.cpu_max_pct", "new": 200.0}], "big")
    with registry.task("tune thresholds", subsystem="learning", kind="config_update") as task:
        task.result = None
    with registry.task("learn listeners", subsystem="learning", kind="knowledge_acquisition"):
        pass

    data = json.loads(_report("learning", state_dir, "--json").stdout)
    assert data["learning_events"] == {"remediation_outcome": 4}
    rows = {r["action"]: r for r in data["remediation"]}
    assert (rows["restart"]["tries"], rows["restart"]["success_rate"], rows["restart"]["median_ttr_s"]) == (
        3, round(2 / 3, 4), 3.0)
    assert (rows["free_port"]["tries"], rows["free_port"]["success_rate"]) == (1, 0.0)
    assert data["config_versions"]["total"] == 2 and data["config_versions"]["today"] == 2
    assert data["config_versions"]["progression"][1]["changed"] == ["services.web.cpu_max_pct"]
    assert [p["id"] for p in data["pending_proposals"]] == [pending.id]
    assert {j["job"]: j["runs"] for j in data["jobs"]} == {"config_update": 1, "knowledge_acquisition": 1}
    assert data["audit"]["chain_ok"] and data["audit"]["entries"] >= 8

    text = _report("learning", state_dir).stdout
    assert "restart" in text and "67%" in text and f"#{pending.id}" in text and "chain whole" in text


def test_tasks_report_counts_by_subsystem(registry, state_dir: Path) -> None:
    for i in range(3):
        with registry.task(f"backup {i}", subsystem="ops"):
            pass
    registry.fail(registry.start_task("train", "learning", "anomaly"), "boom")
    active = registry.start_task("long job", "learning", "forecast")
    registry.progress(active, 40, "fitting")

    data = json.loads(_report("tasks", state_dir, "--json").stdout)
    assert data["total"] == 5
    assert data["by_subsystem"] == {"learning": {"active": 1, "failed": 1}, "ops": {"completed": 3}}
    assert set(data["avg_duration_s_by_subsystem"]) == {"learning", "ops"}
    (row,) = data["active"]
    assert (row["id"], row["progress"], row["message"]) == (active, 40.0, "fitting") and row["elapsed_s"] >= 0
    assert len(data["recent_completions"]) == 4
    text = _report("tasks", state_dir).stdout
    assert "long job" in text and "40.0%" in text and "ops" in text

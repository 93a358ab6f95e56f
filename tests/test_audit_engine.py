"""The Governance facade audits acknowledgements, silences, remediations, outcomes, learning jobs and versions."""

from __future__ import annotations

import json
from pathlib import Path

from grace_tui.engine import Engine
from grace_tui.governance.audit import read_entries, verify
from grace_tui.paths import StatePaths


def test_everything_that_matters_lands_in_a_whole_chain(registry, state_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[services.web]\nprocess_name = \"web\"\ncpu_max_pct = 80.0\n")
    engine = Engine(StatePaths(state_dir), registry, config)
    engine._start_governance()

    incident = engine.incidents.open("port_in_use", "high", "web: port 8080 taken", service="web", check="port")
    engine.incidents.note(incident.id, "remediation", "free_port: killed pid 42", {"pid": 42})
    engine.incidents.note(incident.id, "silence", "silenced for 60s", {"until": 1})
    engine.acknowledge(incident.id, "alice", "noise")
    engine.events.publish("remediation_outcome", "web", {"kind": "port_in_use", "action": "free_port",
                                                         "success": True, "ttr_s": 1.5})
    with registry.task("config_update", subsystem="learning", kind="config_update"):
        pass
    engine.governance.versions.propose("threshold", [{"path": "services.web.cpu_max_pct", "new": 90.0}], "noise")

    entries = read_entries(state_dir / "audit.jsonl")
    types = [e["type"] for e in entries]
    for expected in ("config_version", "incident_opened", "remediation", "silence", "acknowledgement",
                     "learning_event", "learning_job", "proposal", "decision"):
        assert expected in types, (expected, types)
    ack = next(e for e in entries if e["type"] == "acknowledgement")
    assert ack["actor"] == "alice" and ack["data"]["incident"] == incident.id
    outcome = next(e for e in entries if e["type"] == "learning_event")
    assert outcome["data"]["event"] == "remediation_outcome" and outcome["data"]["action"] == "free_port"
    assert types.count("remediation") == 1  # each timeline entry audited once
    assert verify(state_dir / "audit.jsonl").ok

    text = (state_dir / "audit.jsonl").read_text().replace('"actor":"alice"', '"actor":"mallory"')
    (state_dir / "audit.jsonl").write_text(text)
    result = verify(state_dir / "audit.jsonl")
    assert not result.ok and result.first_bad_seq == ack["seq"]
    engine.stop()
    assert json.loads((state_dir / "audit.jsonl.head").read_text())["seq"] == len(entries)


def test_cutting_the_end_and_the_head_file_is_caught_by_the_registry_copy(registry, state_dir: Path,
                                                                         tmp_path: Path) -> None:
    from conftest import run_cli

    config = tmp_path / "config.toml"
    config.write_text("[host]\nenabled = false\n")
    engine = Engine(StatePaths(state_dir), registry, config)
    engine._start_governance()
    for i in range(3):
        engine.governance.record("learning_event", "learning", {"i": i})
    engine.stop()
    audit = state_dir / "audit.jsonl"
    assert run_cli("audit", "verify", state_dir=state_dir).returncode == 0
    audit.write_text("".join(audit.read_text().splitlines(keepends=True)[:-2]))
    (state_dir / "audit.jsonl.head").unlink()
    assert verify(audit).ok  # the file alone cannot tell...
    broken = run_cli("audit", "verify", state_dir=state_dir)
    assert broken.returncode != 0 and "removed from the end (the registry says seq 4)" in broken.stdout

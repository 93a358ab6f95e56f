"""`grace-tui report healing` computes its figures from the registry and checks incidents.jsonl."""

from __future__ import annotations

import json

from grace_tui.cli.main import main
from grace_tui.incidents import IncidentLog, read_jsonl
from grace_tui.incidents.jsonl import JsonlAppender
from grace_tui.paths import StatePaths
from grace_tui.registry import Registry


def _seed(state):
    paths = StatePaths(state).ensure()
    registry = Registry.open(paths.root)
    log = IncidentLog(registry, paths)
    for mttr in (0.02, 0.04, 0.5):
        i = log.open("process_down", "high", "svc died", service="svc", detected_at=1000.0)
        log.note(i.id, "remediation", "restart", {"action": "restart"})
        log.resolve(i.id, at=1000.0 + mttr)
    failed = log.open("port_in_use", "high", "port held", service="svc", detected_at=1000.0)
    log.set_state(failed.id, "failed", "left alone")
    acked = log.open("disk_low", "high", "/ full", detected_at=1000.0)
    log.acknowledge(acked.id, "ops", "")
    registry.close()
    return paths


def test_report_healing_figures(tmp_path, capsys):
    paths = _seed(tmp_path / "s")
    assert main(["report", "healing", "--json", "--state-dir", str(paths.root)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["incidents_total"] == 5 and data["resolved"] == 3
    assert data["by_kind"] == {"process_down": 3, "port_in_use": 1, "disk_low": 1}
    assert data["by_state"] == {"resolved": 3, "failed": 1, "open": 1}
    assert data["success_rate"] == 0.75 and data["remediation_attempts"] == 3
    assert abs(data["mttr_s"]["median"] - 0.04) < 1e-6 and abs(data["mttr_s"]["fastest"] - 0.02) < 1e-6
    assert abs(data["mttr_s"]["p90"] - 0.5) < 1e-6 and data["mtta_s"]["count"] == 1
    assert data["jsonl_agrees"] is True
    assert main(["report", "healing", "--state-dir", str(paths.root)]) == 0
    text = capsys.readouterr().out
    assert "incidents: 5" in text and "success rate: 75.0%" in text and "incidents.jsonl agrees" in text


def test_a_change_in_flight_is_not_a_disagreement_but_a_lost_record_is(tmp_path, capsys, monkeypatch):
    """A running supervisor writes the registry, then incidents.jsonl: a report read in between
    said DISAGREES (a flaky daemon test). It reads again; a record really missing still disagrees."""
    from grace_tui.reports import healing

    paths = _seed(tmp_path / "s")
    lines = paths.incidents_jsonl.read_bytes().splitlines(keepends=True)
    held = max(n for n, line in enumerate(lines) if json.loads(line)["state"] == "failed")
    in_registry_only = b"".join(lines[:held] + lines[held + 1:])  # port_in_use failed: not in the file yet
    paths.incidents_jsonl.write_bytes(in_registry_only)
    pauses = []

    def the_append_lands(seconds):  # while the report waits, the supervisor's append lands
        pauses.append(seconds)
        with open(paths.incidents_jsonl, "ab") as out:
            out.write(lines[held])

    monkeypatch.setattr(healing, "sleep", the_append_lands)
    assert main(["report", "healing", "--json", "--state-dir", str(paths.root)]) == 0
    assert json.loads(capsys.readouterr().out)["jsonl_agrees"] is True and len(pauses) == 1

    paths.incidents_jsonl.write_bytes(in_registry_only)
    monkeypatch.setattr(healing, "sleep", pauses.append)  # nothing lands: the record is lost
    assert main(["report", "healing", "--json", "--state-dir", str(paths.root)]) == 0
    assert json.loads(capsys.readouterr().out)["jsonl_agrees"] is False and len(pauses) == 1 + healing.READS - 1


def test_torn_jsonl_line_is_skipped_and_reported(tmp_path, capsys):
    paths = _seed(tmp_path / "s")
    with open(paths.incidents_jsonl, "a") as f:
        f.write('{"incident": "x", "event": "state", "sta')
    read = read_jsonl(paths.incidents_jsonl)
    assert read.torn_last_line and all("incident" in r for r in read.records)
    assert main(["report", "healing", "--state-dir", str(paths.root)]) == 0
    out = capsys.readouterr().out
    assert "skipped a torn last line" in out and "incidents.jsonl agrees" in out


def test_an_append_after_a_torn_line_is_not_glued_to_it(tmp_path):
    """The torn fragment stays a line of its own (skipped, named by number); the new record is whole."""
    path = tmp_path / "incidents.jsonl"
    appender = JsonlAppender(path)
    appender.append({"incident": "a", "event": "detected"})
    with open(path, "a") as f:
        f.write('{"incident": "a", "event": "state", "sta')  # the daemon died mid-write
    appender.append({"incident": "b", "event": "detected"})
    read = read_jsonl(path)
    assert [r["incident"] for r in read.records] == ["a", "b"]
    assert read.bad_lines == [2] and not read.torn_last_line
    assert read.warnings(path) == [f"{path}:2: skipped a line that is not JSON"]


def test_a_full_disk_under_incidents_jsonl_does_not_stop_an_incident(tmp_path, caplog):
    """/dev/full fails every write with ENOSPC, as a full disk would: the change is still recorded
    in the registry and the incident goes on; the journal says which line was not written."""
    paths = StatePaths(tmp_path / "s").ensure()
    paths.incidents_jsonl.symlink_to("/dev/full")
    registry = Registry.open(paths.root)
    log = IncidentLog(registry, paths)
    incident = log.open("process_down", "high", "svc died", service="svc")
    log.resolve(incident.id)
    assert log.get(incident.id).state == "resolved"
    assert "cannot append incident" in caplog.text and "No space left on device" in caplog.text
    registry.close()

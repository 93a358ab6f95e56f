"""The audit log: a whole chain verifies; any edit, deletion, swap or insertion is named."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

from conftest import run_cli

from grace_tui.governance.audit import AuditLog, tail, verify


def _write_log(path: Path, n: int = 5) -> AuditLog:
    log = AuditLog(path)
    for i in range(n):
        log.append("learning_event", "learning", {"i": i})
    return log


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_whole_chain_verifies_and_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, 5)
    result = verify(path)
    assert result.ok and result.checked == 5 and result.first_bad_seq is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [e["seq"] for e in tail(path, 2)] == [4, 5]
    entries = [json.loads(line) for line in _lines(path)]
    assert all(entries[i]["prev"] == entries[i - 1]["hash"] for i in range(1, 5))


def test_edit_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    lines = _lines(path)
    lines[2] = lines[2].replace('"i":2', '"i":9')
    path.write_text("".join(lines))
    result = verify(path)
    assert not result.ok and result.first_bad_seq == 3 and "modified" in result.why


def test_delete_in_the_middle_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    lines = _lines(path)
    del lines[1]
    path.write_text("".join(lines))
    result = verify(path)
    assert not result.ok and result.first_bad_seq == 2 and result.checked == 1


def test_delete_at_the_end_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    path.write_text("".join(_lines(path)[:-1]))
    result = verify(path)
    assert not result.ok and result.first_bad_seq == 5 and "removed from the end" in result.why


def test_swap_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    lines = _lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    path.write_text("".join(lines))
    result = verify(path)
    assert not result.ok and result.first_bad_seq == 2


def test_insert_is_caught_even_with_a_valid_hash(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path)
    lines = _lines(path)
    forged_log = tmp_path / "forged.jsonl"  # a self-consistent entry made by the same code
    forged = AuditLog(forged_log).append("config_version", "mallory", {"x": 1})
    lines.insert(3, json.dumps(forged) + "\n")
    path.write_text("".join(lines))
    result = verify(path)
    assert not result.ok and result.first_bad_seq == 4


def test_torn_final_line_is_reported_then_repaired_by_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _write_log(path, 3)
    with open(path, "a") as f:
        f.write('{"seq": 4, "ts"')
    result = verify(path)
    assert not result.ok and "torn final line" in result.why and result.checked == 3
    assert log.append("ack", "alice", {})["seq"] == 4
    assert verify(path).ok and verify(path).checked == 4


def test_threads_append_in_order(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    threads = [threading.Thread(target=lambda: [log.append("t", "x", {}) for _ in range(25)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = verify(path)
    assert result.ok and result.checked == 100


def test_cli_verify_and_tail(state_dir: Path) -> None:
    path = state_dir / "audit.jsonl"
    _write_log(path, 4)
    ok = run_cli("audit", "verify", state_dir=state_dir)
    assert ok.returncode == 0 and "OK: 4 entries checked" in ok.stdout, ok.stdout + ok.stderr
    tailed = run_cli("audit", "tail", "-n", "2", "--json", state_dir=state_dir)
    assert [json.loads(line)["seq"] for line in tailed.stdout.splitlines()] == [3, 4]
    lines = _lines(path)
    lines[0] = lines[0].replace('"actor":"learning"', '"actor":"mallory"')
    path.write_text("".join(lines))
    bad = run_cli("audit", "verify", state_dir=state_dir)
    assert bad.returncode != 0 and "entry seq 1" in bad.stdout and "Traceback" not in bad.stderr

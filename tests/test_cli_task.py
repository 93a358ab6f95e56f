"""`grace-tui task ...` from a shell: the round trip an outside job makes."""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path

from conftest import run_cli


def test_round_trip_from_a_shell(state_dir: Path) -> None:
    started = run_cli("task", "start", "--title", "nightly backup", "--subsystem", "ops", state_dir=state_dir)
    assert started.returncode == 0, started.stderr
    task_id = started.stdout.strip()
    assert len(task_id) == 13 and "\n" not in task_id

    assert run_cli("task", "progress", task_id, "40", "--message", "copying", state_dir=state_dir).returncode == 0
    active = json.loads(run_cli("task", "list", "--active", "--json", state_dir=state_dir).stdout)
    assert [(t["id"], t["progress"], t["message"]) for t in active] == [(task_id, 40.0, "copying")]

    done = run_cli("task", "done", task_id, "--result", '{"bytes": 5}', state_dir=state_dir)
    assert done.returncode == 0, done.stderr
    listed = json.loads(run_cli("task", "list", "--json", state_dir=state_dir).stdout)
    assert listed[0]["status"] == "completed" and listed[0]["result"] == {"bytes": 5}


def test_fail_records_the_error(state_dir: Path) -> None:
    task_id = run_cli("task", "start", "--title", "deploy", state_dir=state_dir).stdout.strip()
    assert run_cli("task", "fail", task_id, "--error", "rsync exit 23", state_dir=state_dir).returncode == 0
    (task,) = json.loads(run_cli("task", "list", "--json", state_dir=state_dir).stdout)
    assert (task["status"], task["error"]) == ("failed", "rsync exit 23")


def test_state_dir_from_environment(tmp_path: Path) -> None:
    env_dir = tmp_path / "from-env"
    result = run_cli("task", "start", "--title", "x", env={"GRACE_TUI_STATE_DIR": str(env_dir)})
    assert result.returncode == 0, result.stderr
    assert (env_dir / "grace.db").exists()


def test_default_state_dir_is_under_xdg_state_home(tmp_path: Path) -> None:
    result = run_cli("task", "start", "--title", "x")
    assert result.returncode == 0, result.stderr
    assert (Path(os.environ["XDG_STATE_HOME"]) / "grace-tui" / "grace.db").exists()


def test_global_options_work_after_the_subcommand(state_dir: Path) -> None:
    result = run_cli("task", "start", "--title", "x", "--state-dir", str(state_dir))
    assert result.returncode == 0, result.stderr
    assert (state_dir / "grace.db").exists()


def _one_line_error(result) -> str:
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_bad_input_gets_one_line_and_keeps_data(state_dir: Path, tmp_path: Path) -> None:
    task_id = run_cli("task", "start", "--title", "job", state_dir=state_dir).stdout.strip()
    run_cli("task", "progress", task_id, "25", state_dir=state_dir)

    assert "0 to 100" in _one_line_error(run_cli("task", "progress", task_id, "140", state_dir=state_dir))
    assert "0 to 100" in _one_line_error(run_cli("task", "progress", task_id, "lots", state_dir=state_dir))
    assert "unknown task id" in _one_line_error(run_cli("task", "progress", "nope", "5", state_dir=state_dir))
    assert "not valid JSON" in _one_line_error(
        run_cli("task", "done", task_id, "--result", "{bad", state_dir=state_dir))
    assert "invalid choice" in _one_line_error(run_cli("task", "frobnicate", state_dir=state_dir))
    assert "needs a subsystem" in _one_line_error(
        run_cli("task", "start", "--title", "x", "--subsystem", " ", state_dir=state_dir))
    assert "needs a kind" in _one_line_error(
        run_cli("task", "start", "--title", "x", "--kind", "", state_dir=state_dir))

    (task,) = json.loads(run_cli("task", "list", "--json", state_dir=state_dir).stdout)
    assert (task["status"], task["progress"]) == ("active", 25.0)


def test_list_shows_a_jobs_text_without_its_escape_sequences(state_dir: Path) -> None:
    """A title from an outside job is data: raw, "\\x1b[2J" cleared the sysadmin's terminal and a newline
    broke the table. The JSON keeps the text as it was given."""
    title = "backup\x1b[2J of /var\nsecond line\x07"
    task_id = run_cli("task", "start", "--title", title, state_dir=state_dir).stdout.strip()
    run_cli("task", "progress", task_id, "5", "--message", "\x1b]0;pwned\x07copying", state_dir=state_dir)

    listed = run_cli("task", "list", state_dir=state_dir)
    header, row = listed.stdout.splitlines()
    assert row.endswith("backup\\x1b[2J of /var↵second line\\x07 — \\x1b]0;pwned\\x07copying")
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", listed.stdout.replace("\n", ""))
    assert json.loads(run_cli("task", "list", "--json", state_dir=state_dir).stdout)[0]["title"] == title

    unknown = run_cli("task", "done", "no\x1b[2Jsuch", state_dir=state_dir)
    assert _one_line_error(unknown) == "grace-tui: unknown task id 'no\\x1b[2Jsuch'"


def test_not_a_database_and_unwritable_state_dir(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("keep me")
    line = _one_line_error(run_cli("--db", str(notes), "task", "list"))
    assert str(notes) in line and "not a SQLite database" in line
    assert notes.read_text() == "keep me"

    assert "unsupported database 'mysql'" in _one_line_error(run_cli("--db", "mysql://db/x", "task", "list"))
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    line = _one_line_error(run_cli("--db", f"postgresql://nobody@127.0.0.1:{port}/x", "task", "list"))
    assert "cannot open database" in line and str(port) in line  # libpq's message spans lines

    blocker = tmp_path / "file"
    blocker.write_text("")
    line = _one_line_error(run_cli("--state-dir", str(blocker / "sub"), "task", "list"))
    assert "cannot create state directory" in line

    if os.geteuid() != 0:  # root can write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert "not writable" in _one_line_error(run_cli("--state-dir", str(locked), "task", "list"))


def test_sqlite_url_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    task_id = run_cli("--db", url, "task", "start", "--title", "x").stdout.strip()
    listed = json.loads(run_cli("--db", url, "task", "list", "--json").stdout)
    assert listed[0]["id"] == task_id

"""A managed service's output: rotated by size under a real writer, its last lines in the exit
incident, and `grace-tui service log`."""

from __future__ import annotations

import threading

from conftest import run_cli
from grace_tui.supervisor.logs import follow, last_lines, rotate_if_big, service_log
from supervisor_helpers import PY, Harness, base_config, wait_for


def test_rotation_keeps_backups_and_the_writer_appends_to_the_emptied_file(tmp_path):
    path = tmp_path / "web.log"
    writer = open(path, "a")  # as the child's inherited O_APPEND stdout
    for generation in range(4):
        writer.write(f"generation {generation}\n" * 100)
        writer.flush()
        assert rotate_if_big(path, max_bytes=100, backups=2)
    writer.write("after\n")
    writer.flush()
    writer.close()
    assert path.read_text() == "after\n"  # at the new end, not past a hole where the old end was
    assert path.with_name("web.log.1").read_text().startswith("generation 3")
    assert path.with_name("web.log.2").read_text().startswith("generation 2")
    assert not path.with_name("web.log.3").exists()
    assert oct(path.with_name("web.log.1").stat().st_mode & 0o777) == "0o600"
    assert not rotate_if_big(path, max_bytes=100, backups=2)  # small enough: left alone


def test_last_lines_across_read_blocks(tmp_path):
    path = tmp_path / "big.log"
    path.write_text("".join(f"line {n} " + "x" * 1000 + "\n" for n in range(200)))  # 200 KB
    tail = last_lines(path, 3)
    assert [line.split()[1] for line in tail] == ["197", "198", "199"]
    assert [line.split()[1] for line in last_lines(path, 150)][0] == "50"
    assert last_lines(tmp_path / "none.log", 5) == []


def test_follow_reads_complete_lines_and_starts_again_after_a_rotation(tmp_path):
    path = tmp_path / "web.log"
    path.write_text("before\n")
    lines = follow(path, poll_s=0.01)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.extend(next(lines).splitlines() for _ in range(2)), daemon=True)
    with open(path, "a") as writer:
        writer.write("one\ntw")  # before the first next(): follow() starts where the file was at the call
        writer.flush()
        reader.start()
        wait_for(lambda: got, what="the first complete line")
        rotate_if_big(path, max_bytes=1, backups=1)
        writer.write("three\n")
        writer.flush()
        reader.join(20)
    assert got == [["one"], ["three"]]


def crashing_service(message: str) -> list[str]:
    return [PY, "-c", f"import sys; print('starting'); print({message!r}, flush=True); sys.exit(3)"]


def test_the_exit_incident_holds_the_processs_last_lines(tmp_path):
    """As `systemctl status` shows the journal's tail: often why it exited."""
    config = base_config({"app": {"command": crashing_service("fatal: /etc/app.conf: no such file"),
                                  "restart_budget": 1, "restart_window": 60.0}})
    with Harness(tmp_path, config) as h:
        wait_for(lambda: h.incidents_of("crash_loop"), what="the crash loop")
        (incident,) = h.incidents_of("process_down")
        assert incident.detail["exit_code"] == 3
        assert incident.detail["last_output"].splitlines() == ["starting", "fatal: /etc/app.conf: no such file"]
        # The restarted process exited too: its own exit and lines (not its predecessor's) are in the timeline.
        (again,) = [e for e in h.incidents.timeline(incident.id) if e.type == "exit"]
        assert again.data["exit_code"] == 3 and again.data["pid"] != incident.detail["pid"]
        assert again.data["last_output"].splitlines() == ["starting", "fatal: /etc/app.conf: no such file"]


def test_a_chatty_service_log_is_rotated_while_it_runs(tmp_path):
    chatty = [PY, "-c", "import time\nwhile True:\n    print('x' * 100, flush=True)\n    time.sleep(0.001)\n"]
    config = base_config({"chatty": {"command": chatty}}, check_interval=0.1, log_max_mb=0.01, log_backups=1)
    with Harness(tmp_path, config) as h:
        path = service_log(h.paths.root, "chatty")
        backup = path.with_name("chatty.log.1")
        wait_for(backup.exists, what="a rotation")
        wait_for(lambda: path.exists() and path.stat().st_size > 0, what="output after the rotation")
        assert h.runner("chatty").state == "running"


def test_service_log_command_prints_the_last_lines_inert(tmp_path):
    state = tmp_path / "state"
    (state / "logs").mkdir(parents=True, mode=0o700)
    (state / "logs" / "web.log").write_text("one\ntwo \x1b[31mred\x1b[0m\nthree\x07\n")
    shown = run_cli("service", "log", "web", "-n", "2", state_dir=state)
    assert shown.returncode == 0 and shown.stdout == "two red\nthree\\x07\n"
    missing = run_cli("service", "log", "nope", state_dir=state)
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "nope.log: no output log" in missing.stderr
    outside = run_cli("service", "log", "../../etc/passwd", state_dir=state)
    assert outside.returncode == 1 and "not a service name" in outside.stderr and outside.stdout == ""

"""`grace-tui daemon` as a real process: heals a kill, one per state dir, clean SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys

from supervisor_helpers import banner_pid, echo_argv, free_port, wait_for


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grace_tui", *args], capture_output=True, text=True, timeout=60, **kw)


def test_daemon_heals_locks_and_stops(tmp_path):
    port = free_port()
    argv = ", ".join(f'"{a}"' for a in echo_argv(port))
    config = tmp_path / "config.toml"
    config.write_text(f"[host]\nenabled = false\n[services.echo]\ncommand = [{argv}]\nport = {port}\n")
    state = tmp_path / "state"
    log = open(tmp_path / "daemon.log", "w")
    daemon = subprocess.Popen([sys.executable, "-m", "grace_tui", "daemon", "--config", str(config),
                               "--state-dir", str(state)], stderr=log)
    try:
        first = wait_for(lambda: banner_pid(port), what="service up under the daemon")
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: (p := banner_pid(port)) and p != first, what="restarted by the daemon")

        second = _cli("daemon", "--config", str(config), "--state-dir", str(state))
        assert second.returncode == 1
        assert f"supervisor (PID {daemon.pid})" in second.stderr and "Traceback" not in second.stderr

        report = wait_for(lambda: (r := json.loads(_cli("report", "healing", "--json", "--state-dir",
                                                        str(state)).stdout)) and r["resolved"] >= 1 and r)
        assert report["by_kind"]["process_down"] == 1 and report["jsonl_agrees"] is True
        assert report["mttr_s"]["count"] == 1 and report["mttr_s"]["median"] > 0
        maps = open(f"/proc/{daemon.pid}/maps").read()
        assert "_hashlib" not in maps  # OpenSSL stays out: 3.4 MB for hashes CPython has built in
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
        log.close()
    assert banner_pid(port) is None  # managed service stopped with the daemon
    text = (tmp_path / "daemon.log").read_text()
    assert "supervising 1 service" in text and "Traceback" not in text
    # The journal tells the incident's story: opened, what was done, how long it took to heal.
    assert "WARNING grace_tui.incidents.log: incident " in text and "(process_down, echo) opened, high: " in text
    assert "remediation: restart: spawned PID" in text and "(process_down, echo) resolved in " in text
    assert oct((state / "incidents.jsonl").stat().st_mode & 0o777) == "0o600"
    verified = _cli("audit", "verify", "--state-dir", str(state))  # a chain hashed without OpenSSL
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_daemon_reloads_its_config_on_sighup(tmp_path):
    a, b = free_port(), free_port()
    config = tmp_path / "config.toml"

    def services(*ports: int) -> str:
        out = ["[host]", "enabled = false"]
        for i, port in enumerate(ports):
            argv = ", ".join(f'"{x}"' for x in echo_argv(port))
            out += [f"[services.s{i}]", f"command = [{argv}]", f"port = {port}"]
        return "\n".join(out) + "\n"

    config.write_text(services(a))
    log = open(tmp_path / "daemon.log", "w")
    daemon = subprocess.Popen([sys.executable, "-m", "grace_tui", "daemon", "--config", str(config),
                               "--state-dir", str(tmp_path / "state")], stderr=log)
    try:
        wait_for(lambda: banner_pid(a), what="s0 up under the daemon")
        config.write_text(services(a, b))
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: banner_pid(b), what="s1 started after SIGHUP")
        assert daemon.poll() is None  # SIGHUP reloads; it does not end the daemon
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
        log.close()
    text = (tmp_path / "daemon.log").read_text()
    # The watcher may have applied the edit first; then SIGHUP finds the file unchanged.
    assert f"SIGHUP: {config.resolve()}: applied" in text or f"SIGHUP: {config.resolve()}: unchanged" in text
    assert "config applied: added s1\n" in text and "Traceback" not in text


def test_daemon_logs_for_the_journal_when_stderr_is_the_journal(tmp_path):
    # systemd names the stream it connected in JOURNAL_STREAM; then no time stamp, and a <N> priority.
    port = free_port()
    argv = ", ".join(f'"{a}"' for a in echo_argv(port))
    config = tmp_path / "config.toml"
    config.write_text(f"[host]\nenabled = false\n[services.echo]\ncommand = [{argv}]\nport = {port}\n")
    log = open(tmp_path / "journal.log", "w")
    st = os.fstat(log.fileno())
    env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
    daemon = subprocess.Popen([sys.executable, "-m", "grace_tui", "daemon", "--config", str(config),
                               "--state-dir", str(tmp_path / "state")], stderr=log, env=env)
    try:
        first = wait_for(lambda: banner_pid(port), what="service up under the daemon")
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: "resolved in" in (tmp_path / "journal.log").read_text(), what="incident resolved")
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
        log.close()
    lines = (tmp_path / "journal.log").read_text().splitlines()
    assert "<6>INFO grace_tui.supervisor.core: supervising 1 service(s)" in lines
    assert any(line.startswith("<4>WARNING grace_tui.incidents.log: incident ") for line in lines)
    assert all(line.startswith(("<6>", "<4>")) for line in lines), lines


def test_log_lines_carry_no_escape_sequences():
    """A rejected reload logs the config's errors, which quote its keys: `[services."a\\u001b[2J"]`
    would clear the terminal tailing the log."""
    from grace_tui.cli.daemon_cmd import InertFormatter, JournalFormatter

    record = logging.LogRecord("grace_tui.config", logging.WARNING, __file__, 1,
                               "config rejected: %s", ("c.toml:1: services.a\x1b[2Jb: bad name",), None)
    plain = InertFormatter("%(message)s").format(record)
    assert plain == "config rejected: c.toml:1: services.a\\x1b[2Jb: bad name"
    journal = JournalFormatter().format(record)
    assert journal == "<4>WARNING grace_tui.config: config rejected: c.toml:1: services.a\\x1b[2Jb: bad name"

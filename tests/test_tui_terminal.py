"""The real `grace-tui` process in a pseudo-terminal: first paint, quit, and a dropped SSH session (SIGHUP)."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from grace_tui.lockfile import holder_pid

DEADLINE_S = 30.0


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str], cols: int = 100, rows: int = 30):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.output = b""

    def wait_for_text(self, needle: bytes) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while needle not in self.output:
            assert time.monotonic() < deadline, f"{needle!r} never appeared"
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    break

    def wait_exit(self) -> int:
        deadline = time.monotonic() + DEADLINE_S
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, "grace-tui did not exit"
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    os.read(self.master, 65536)  # keep the pty drained so the app never blocks writing
                except OSError:
                    pass
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # our own child
            self.proc.wait(timeout=10)
        os.close(self.master)


@pytest.fixture
def terminal_env(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[host]\nenabled = false\n")
    env = {**os.environ, "TERM": "xterm-256color", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    env.pop("NO_COLOR", None)
    argv = [sys.executable, "-m", "grace_tui", "--state-dir", str(tmp_path / "state"), "--config", str(config)]
    return argv, env, tmp_path / "state"


@pytest.mark.parametrize("ending", ["q", "SIGHUP"])
def test_embedded_pane_paints_then_exits_cleanly(terminal_env, ending):
    argv, env, state = terminal_env
    term = Terminal(argv, env)
    try:
        term.wait_for_text(b"MTTR today")
        assert holder_pid(state / "daemon.lock") == term.proc.pid  # embedded: it holds the state dir
        if ending == "q":
            os.write(term.master, b"q")
        else:
            os.kill(term.proc.pid, signal.SIGHUP)  # the SSH session dropped
        assert term.wait_exit() == 0
        assert holder_pid(state / "daemon.lock") is None  # the engine stopped and let go
        assert "Traceback" not in (state / "tui.log").read_text()
    finally:
        term.close()


def test_a_bad_config_stops_the_embedded_pane_in_one_line_but_not_an_attached_one(terminal_env, tmp_path):
    """Embedded, the engine cannot run on it; attached, the daemon keeps its last good config and
    the pane must still open to show what is happening."""
    argv, env, state = terminal_env
    bad = tmp_path / "bad.toml"
    bad.write_text('[tui]\nkeys = { frobnicate = "x" }\n')
    argv = [*argv[:-1], str(bad)]  # the same command with --config bad.toml
    embedded = Terminal(argv, env)
    try:
        embedded.wait_for_text(b"tui.keys.frobnicate: unknown action")
        assert embedded.wait_exit() == 2
        assert b"Traceback" not in embedded.output
    finally:
        embedded.close()
    attached = Terminal([*argv, "--attach"], env)
    try:
        attached.wait_for_text(b"default keys")
        os.write(attached.master, b"q")
        assert attached.wait_exit() == 0
    finally:
        attached.close()


@pytest.mark.parametrize("ending", ["q", "SIGHUP"])
def test_a_dropped_session_leaves_the_managed_services_running_and_q_stops_them(terminal_env, tmp_path, ending):
    """`q` is a choice: managed services stop with the pane (stop_services_on_exit). A dropped SSH
    session is not: it stopped the web server too, for a network blip. The next grace-tui adopts it
    (test_supervisor.py)."""
    from supervisor_helpers import banner_pid, echo_argv, free_port

    argv, env, state = terminal_env
    port = free_port()
    config = tmp_path / "managed.toml"
    config.write_text("[host]\nenabled = false\n[services.echo]\ncommand = [%s]\nport = %d\n"
                      % (", ".join(f'"{a}"' for a in echo_argv(port)), port))
    term = Terminal([*argv[:-1], str(config)], env)
    try:
        term.wait_for_text(b"MTTR today")
        deadline = time.monotonic() + DEADLINE_S
        while not banner_pid(port):
            assert time.monotonic() < deadline, "the echo service never answered"
            time.sleep(0.05)
        echo = banner_pid(port)
        if ending == "q":
            os.write(term.master, b"q")
        else:
            os.kill(term.proc.pid, signal.SIGHUP)
        assert term.wait_exit() == 0
        alive = banner_pid(port) == echo
        assert alive is (ending == "SIGHUP")
        if alive:
            os.kill(echo, signal.SIGKILL)  # started by the pane's engine for this test
    finally:
        term.close()


def test_a_terminal_gone_without_a_sighup_still_ends_the_pane_and_frees_the_state_dir(terminal_env, tmp_path):
    """Under runuser, or with the terminal's session leader elsewhere, a dropped session sends no
    SIGHUP: the terminal just goes away. Textual's exit then wrote to it and blocked, and the
    embedded pane held the state dir (and supervised, unseen) for good."""
    from supervisor_helpers import banner_pid, echo_argv, free_port

    argv, env, state = terminal_env
    port = free_port()
    config = tmp_path / "managed.toml"
    # A service that keeps failing keeps the pane redrawing: after the terminal is gone, those writes
    # fill Textual's output queue, whose writer thread died on the first one (EIO).
    flapping = f'[services.flapping]\ncommand = ["{sys.executable}", "-c", "pass"]\nrestart_budget = 1000\n' \
               "backoff_initial = 0.05\nbackoff_max = 0.05\n"
    config.write_text("[host]\nenabled = false\n[services.echo]\ncommand = [%s]\nport = %d\n%s"
                      % (", ".join(f'"{a}"' for a in echo_argv(port)), port, flapping))
    term = Terminal([*argv[:-1], str(config)], env)
    echo = None
    try:
        term.wait_for_text(b"MTTR today")
        echo = wait_for_banner(port)
        os.close(term.master)  # the terminal goes away; nobody sends a signal
        term.master = os.open(os.devnull, os.O_RDONLY)  # for close()
        deadline = time.monotonic() + 90
        while term.proc.poll() is None:
            assert time.monotonic() < deadline, "grace-tui did not end after its terminal went away"
            time.sleep(0.2)
        assert holder_pid(state / "daemon.lock") is None
        assert banner_pid(port) == echo  # a lost terminal is not a choice: the service runs on
        assert "terminal lost" in (state / "tui.log").read_text()
    finally:
        term.close()
        if echo:
            os.kill(echo, signal.SIGKILL)  # started by the pane's engine for this test


def wait_for_banner(port: int) -> int:
    from supervisor_helpers import banner_pid

    deadline = time.monotonic() + DEADLINE_S
    while not banner_pid(port):
        assert time.monotonic() < deadline, "the echo service never answered"
        time.sleep(0.05)
    return banner_pid(port)

"""The pane over a real supervisor: a real process is killed, the incident shows up and heals."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time

import pytest

pytest.importorskip("grace_tui.supervisor")

import psutil  # noqa: E402

from grace_tui.engine import Engine  # noqa: E402
from grace_tui.paths import StatePaths  # noqa: E402
from grace_tui.registry import Registry  # noqa: E402
from grace_tui.registry import services as service_rows  # noqa: E402
from grace_tui.tui.app import GraceApp  # noqa: E402
from grace_tui.tui.data import RegistrySource  # noqa: E402
from grace_tui.tui.themes import load_themes  # noqa: E402

MARKER = "grace-tui-live-test-echo"
SERVER = (
    "import socket, sys, time\n"
    f"marker = {MARKER!r}\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
    "while True:\n"
    "    c, _ = s.accept(); c.close()\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_our_echo(pid: int) -> bool:
    """Only ever signal the process we started: check its command line first."""
    try:
        return any(MARKER in part for part in psutil.Process(pid).cmdline())
    except psutil.Error:
        return False


@contextlib.contextmanager
def embedded_pane(tmp_path, settings: str, echo_options: str = ""):
    """A real engine supervising one echo server (host checks off), and a pane embedding it."""
    port = free_port()
    config = tmp_path / "config.toml"
    argv = [sys.executable, "-c", SERVER, str(port)]
    config.write_text(f"{settings}\n[host]\nenabled = false\n\n[services.echo]\n"
                      f"command = [{', '.join(repr(a) for a in argv)}]\nport = {port}\n{echo_options}")
    paths = StatePaths(tmp_path / "state").ensure()
    registry = Registry.open(paths.root)
    engine = Engine(paths, registry, config)
    engine.start()
    try:
        yield GraceApp(RegistrySource(registry), engine, events=engine.events, themes=load_themes(), theme="dark",
                       state_dir=paths.root, close_db=registry.database.close, tick_s=0)
    finally:
        engine.stop()
        current = service_rows.get_service("echo")
        if current and current.pid and is_our_echo(current.pid):  # the supervisor should have stopped it
            os.kill(current.pid, signal.SIGTERM)
        registry.close()


def test_killed_service_shows_up_as_an_incident_and_heals(tmp_path):
    first_pid = None

    async def scenario(app):
        nonlocal first_pid

        async def wait_until(condition, what):
            deadline = time.monotonic() + 20
            while not condition():
                assert time.monotonic() < deadline, f"timed out waiting for {what}"
                await pilot.pause(0.05)

        async with app.run_test(size=(160, 48)) as pilot:
            services = app.panel("services").table
            await wait_until(lambda: services.row_count == 1 and "running" in str(services.get_row("echo")),
                             "the service running in the pane")
            first_pid = service_rows.get_service("echo").pid
            assert first_pid and is_our_echo(first_pid)
            os.kill(first_pid, signal.SIGKILL)
            incidents = app.panel("incidents").table
            await wait_until(lambda: incidents.row_count >= 1, "the incident in the pane")
            key = incidents.ordered_rows[0].key.value
            await wait_until(lambda: "resolved" in str(incidents.get_row(key)), "the incident resolved in the pane")
            await wait_until(lambda: (s := service_rows.get_service("echo")) and s.pid not in (None, first_pid)
                             and str(s.pid) in str(services.get_row("echo")), "the new PID in the pane")
            await wait_until(lambda: app.panel("history").table.row_count >= 1, "the healing task completed")
            await pilot.press("2", "enter")  # the detail shows the attempt the supervisor made
            await wait_until(lambda: app.screen.query("#detail-timeline"), "the detail screen")
            timeline = app.screen.query_one("#detail-timeline")
            await wait_until(lambda: "remediation" in str(timeline.render()), "the remediation in the timeline")
            assert "restart" in str(timeline.render())

    with embedded_pane(tmp_path, "[supervisor]\ncheck_interval = 60.0\n", "min_uptime = 0.1\n") as app:
        asyncio.run(scenario(app))


def test_service_keys_stop_start_and_restart_the_selected_service(tmp_path):
    """x and r ask first (escape keeps the service running); an operator's stop opens no incident."""
    from grace_tui.registry import incidents as incident_store
    from grace_tui.tui.screens.dialogs import ConfirmDialog

    async def scenario(app):
        async def wait_until(condition, what):
            deadline = time.monotonic() + 20
            while not condition():
                assert time.monotonic() < deadline, f"timed out waiting for {what}"
                await pilot.pause(0.05)

        def service():
            return service_rows.get_service("echo")

        async with app.run_test(size=(160, 48)) as pilot:
            services = app.panel("services").table
            await wait_until(lambda: services.row_count == 1 and "running" in str(services.get_row("echo")),
                             "the service running in the pane")
            first = service().pid
            await pilot.press("1", "s")  # start: not offered while it runs
            await pilot.press("x")
            await wait_until(lambda: isinstance(app.screen, ConfirmDialog), "the stop question")
            await pilot.press("escape")
            assert service().pid == first and psutil.pid_exists(first)
            await pilot.press("x")
            await wait_until(lambda: isinstance(app.screen, ConfirmDialog), "the stop question again")
            await pilot.press("enter")
            await wait_until(lambda: service().state == "stopped" and not psutil.pid_exists(first), "stopped")
            await wait_until(lambda: "stopped" in str(services.get_row("echo")), "the pane showing it stopped")
            await pilot.press("r", "x")  # neither applies to a stopped service
            assert not isinstance(app.screen, ConfirmDialog)
            await pilot.press("s")
            await wait_until(lambda: service().state == "running" and service().pid not in (None, first), "started")
            second = service().pid
            await wait_until(lambda: str(second) in str(services.get_row("echo")), "the new PID in the pane")
            await pilot.press("r")
            await wait_until(lambda: isinstance(app.screen, ConfirmDialog), "the restart question")
            await pilot.press("enter")
            await wait_until(lambda: service().state == "running" and service().pid not in (None, first, second),
                             "restarted")
            assert incident_store.list_incidents() == []

    with embedded_pane(tmp_path, "[supervisor]\ncheck_interval = 60.0\n", "min_uptime = 0.1\n") as app:
        asyncio.run(scenario(app))


def test_embedded_pane_shows_each_check_rounds_cpu_and_rss(tmp_path):
    """Check rounds write samples without a state change: the pane must still redraw them
    (host checks off, so no other event refreshes the services table)."""
    async def scenario(app):
        async with app.run_test(size=(160, 48)) as pilot:
            services = app.panel("services").table
            columns = [str(c.label) for c in services.columns.values()]

            def rss_shown() -> str:
                if services.row_count != 1:
                    return ""
                cell = str(services.get_row("echo")[columns.index("RSS")])
                return cell if any(ch.isdigit() for ch in cell) else ""

            deadline = time.monotonic() + 20
            while not rss_shown():
                assert time.monotonic() < deadline, "the service's RSS never reached the pane"
                await pilot.pause(0.05)
            row = service_rows.get_service("echo")
            assert row.rss_bytes and row.history["rss"]

    learning_off = "[learning]\nsample_host = false\nsample_services = false\n"
    with embedded_pane(tmp_path, "[supervisor]\ncheck_interval = 0.2\n\n" + learning_off) as app:
        asyncio.run(scenario(app))


@contextlib.contextmanager
def real_daemon(tmp_path):
    """`grace-tui daemon` in its own process, supervising one echo server; yields (daemon, state dir,
    registry). Its service is stopped afterwards, whether the daemon still runs or not."""
    import subprocess

    from grace_tui.lockfile import holder_pid

    port = free_port()
    config = tmp_path / "config.toml"
    argv = [sys.executable, "-c", SERVER, str(port)]
    config.write_text(
        "[supervisor]\ncheck_interval = 60.0\n\n[host]\nenabled = false\n\n"
        f"[services.echo]\ncommand = [{', '.join(repr(a) for a in argv)}]\nport = {port}\nmin_uptime = 0.1\n"
    )
    state = tmp_path / "state"
    daemon = subprocess.Popen([sys.executable, "-m", "grace_tui", "daemon", "--state-dir", str(state),
                               "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    registry = None
    try:
        deadline = time.monotonic() + 20
        while holder_pid(state / "daemon.lock") != daemon.pid or not (state / "grace.db").exists():
            assert time.monotonic() < deadline and daemon.poll() is None, "the daemon did not start"
            time.sleep(0.05)
        registry = Registry.open(state)
        yield daemon, state, registry
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)  # our own child
            daemon.wait(timeout=30)
        if registry is not None:
            current = service_rows.get_service("echo")
            if current and current.pid and is_our_echo(current.pid):
                os.kill(current.pid, signal.SIGTERM)
            registry.close()


async def _until(pilot, condition, what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def test_attached_pane_actions_reach_a_real_daemon(tmp_path):
    """`grace-tui daemon` in its own process; the pane attached to its state dir acknowledges and
    silences an incident through the command queue, and the daemon records both."""
    from grace_tui.engine import QueuedActions
    from grace_tui.registry import incidents as incident_store

    with real_daemon(tmp_path) as (daemon, state, registry):
        app = GraceApp(RegistrySource(registry), QueuedActions(timeout_s=10, lock=state / "daemon.lock"),
                       mode="attached", themes=load_themes(), theme="dark", state_dir=state, user="tester",
                       close_db=registry.database.close, tick_s=0, supervisor_lock=state / "daemon.lock")

        async def scenario():
            async with app.run_test(size=(120, 40)) as pilot:
                services = app.panel("services").table
                await _until(pilot, lambda: services.row_count == 1 and "running" in str(services.get_row("echo")),
                             "the daemon's service in the pane")
                assert "NO SUPERVISOR" not in str(app.header.render())
                pid = service_rows.get_service("echo").pid
                assert pid and is_our_echo(pid)
                os.kill(pid, signal.SIGKILL)
                incidents = app.panel("incidents").table
                await _until(pilot, lambda: incidents.row_count == 1, "the daemon's incident in the pane")
                incident_id = incidents.ordered_rows[0].key.value
                await pilot.press("2", "a")
                await _until(pilot, lambda: app.screen.query("#reason"), "the acknowledge dialog")
                await pilot.press(*"drill", "enter")
                await _until(pilot, lambda: "tester" in str(incidents.get_row(incident_id)), "the ack from the daemon")
                await pilot.press("s")
                await _until(pilot, lambda: app.screen.query("#durations"), "the silence dialog")
                await pilot.press("enter")  # 15 minutes
                await _until(pilot, lambda: any(e.type == "silence" for e in incident_store.timeline(incident_id)),
                             "the silence carried out by the daemon")
                return incident_id

        incident_id = asyncio.run(scenario())
        incident = incident_store.get_incident(incident_id)
        assert incident.acked_by == "tester" and incident.ack_reason == "drill"


def test_an_attached_pane_says_when_its_daemon_is_gone_and_queues_nothing_for_later(tmp_path):
    """The daemon died under an attached pane, which went on showing `running` as if it were
    supervised, and queued a stop that the next daemon, maybe days later, would have carried out."""
    from grace_tui.engine import QueuedActions
    from grace_tui.registry import commands as command_queue
    from grace_tui.tui.screens.dialogs import ConfirmDialog

    with real_daemon(tmp_path) as (daemon, state, registry):
        lock = state / "daemon.lock"
        app = GraceApp(RegistrySource(registry), QueuedActions(timeout_s=10, lock=lock), mode="attached",
                       themes=load_themes(), theme="dark", state_dir=state, user="tester",
                       close_db=registry.database.close, tick_s=0, supervisor_lock=lock)

        async def scenario():
            async with app.run_test(size=(120, 40)) as pilot:
                services = app.panel("services").table
                await _until(pilot, lambda: services.row_count == 1 and "running" in str(services.get_row("echo")),
                             "the daemon's service in the pane")
                daemon.kill()
                daemon.wait(timeout=30)
                await _until(pilot, lambda: "NO SUPERVISOR" in str(app.header.render()), "the header saying so")
                assert any(f"the supervisor (PID {daemon.pid}) has stopped" in str(n.message)
                           for n in app._notifications)
                await pilot.press("1", "x")
                await _until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the stop confirmation")
                await pilot.press("enter")
                await _until(pilot, lambda: any("no supervisor holds this state dir" in str(n.message)
                                                for n in app._notifications), "the stop refused")

        asyncio.run(scenario())
        assert command_queue.pending_commands() == []

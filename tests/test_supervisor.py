"""The supervisor heals real processes on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest

from grace_tui.config import config_from_dict
from grace_tui.errors import UserError
from grace_tui.incidents import read_jsonl
from grace_tui.registry import services as service_rows
from grace_tui.supervisor import procs
from grace_tui.supervisor.probes import connect, proc_net_tcp_lookup, sock_diag_lookup, tcp_probe
from supervisor_helpers import PY, Harness, banner_pid, base_config, echo_argv, free_port, stopped, wait_for


def test_kill_restart_resolved(tmp_path):
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port, "min_uptime": 0.1}})
    with Harness(tmp_path, config) as h:
        first = wait_for(lambda: banner_pid(port), what="echo up")
        assert h.runner("echo").pid == first
        outcomes = []
        h.registry.events.subscribe(lambda e: outcomes.append(e.data) if e.topic == "remediation_outcome" else None)
        os.kill(first, signal.SIGKILL)
        incident = wait_for(lambda: h.ended("process_down"), what="incident ended")[0]
        second = wait_for(lambda: (p := banner_pid(port)) and p != first and p, what="new PID answers")
        assert incident.state == "resolved"
        assert incident.mttr_s is not None and incident.mttr_s > 0
        assert incident.attempts == 1
        assert "SIGKILL" in incident.summary
        timeline = h.incidents.timeline(incident.id)
        # in the order it happened, though the resolution is dated at the recovery the verification saw
        assert [e.type for e in timeline] == ["detected", "state", "remediation", "verification", "state"]
        assert [e.data.get("state") for e in timeline if e.type == "state"] == ["remediating", "resolved"]
        remediation = [e for e in timeline if e.type == "remediation"][0]
        assert remediation.data["action"] == "restart" and remediation.data["pid"] == second
        assert any(e.type == "verification" and e.data["ok"] for e in timeline)
        task = wait_for(lambda: (t := h.registry.get(incident.task_id)).status != "active" and t, what="task ended")
        assert task.subsystem == "self_healing" and task.status == "completed"
        records = read_jsonl(h.paths.incidents_jsonl).records
        assert [r["state"] for r in records if r["incident"] == incident.id][-1] == "resolved"
        row = wait_for(lambda: (r := service_rows.get_service("echo")) and r.pid == second and r)
        assert row.state == "running" and row.restarts == 1
        assert outcomes and outcomes[0]["action"] == "restart" and outcomes[0]["success"] is True


def test_an_exit_the_watcher_never_reported_is_healed_by_the_periodic_check(tmp_path):
    """The exit watcher alone reports a managed child's exit. Were a report ever lost, the
    periodic check finding the process dead must heal it, not leave it down unnoticed."""
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port, "min_uptime": 0.1}},
                         check_interval=0.2)
    with Harness(tmp_path, config) as h:
        first = wait_for(lambda: banner_pid(port), what="echo up")
        wait_for(lambda: h.runner("echo").state == "running", what="start verified")  # it answers a moment before
        h.sup.exit_watcher.unwatch(first)  # its exit will not be reported
        os.kill(first, signal.SIGKILL)
        incident = wait_for(lambda: h.ended("process_down"), what="incident ended")[0]
        assert incident.state == "resolved" and "SIGKILL" in incident.summary
        wait_for(lambda: (p := banner_pid(port)) and p != first, what="new PID answers")


class HeldWaitpidLock:
    """Stands in for a Popen's waitpid lock, held by the test the way the checks thread holds it
    for a moment in is_running(); notes when another thread tries it and finds it taken."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self.tried = threading.Event()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        got = self._lock.acquire(blocking, timeout)
        if not got:
            self.tried.set()
        return got

    def release(self) -> None:
        self._lock.release()


def test_the_exit_code_is_recorded_while_another_thread_polls_the_child(tmp_path):
    """Popen.poll() answers None, not the exit code, while another thread is inside poll() on the
    same child: the incident must still say how the process ended."""
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port}})
    with Harness(tmp_path, config) as h:
        first = wait_for(lambda: banner_pid(port), what="echo up")
        runner = wait_for(lambda: (r := h.runner("echo")).state == "running" and r, what="start verified")
        held = HeldWaitpidLock()
        runner.popen._waitpid_lock = held  # CPython's Popen: the lock poll() and wait() take to reap
        os.kill(first, signal.SIGKILL)
        wait_for(held.tried.is_set, what="the exit handled while the lock is held")
        held.release()
        incident = wait_for(lambda: h.ended("process_down"), what="incident ended")[0]
        assert incident.detail["exit_code"] == -signal.SIGKILL and "SIGKILL" in incident.summary


LAUNCHER = textwrap.dedent("""
    import subprocess, sys
    subprocess.Popen(sys.argv[1:], start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
""")


def started_by_hand(tmp_path, label: str) -> tuple[int, str, list[str], list[str], int]:
    """An echo server started outside grace-tui, in a session of its own: what a watched service
    finds. Returns its port, tag, the launcher's argv, the echo's argv and its PID."""
    port = free_port()
    tag = f"{label}-{port}"
    launcher = tmp_path / "launch.py"
    launcher.write_text(LAUNCHER)
    argv = echo_argv(port, "--tag", tag)
    subprocess.run([PY, str(launcher), *argv], check=True)
    return port, tag, [PY, str(launcher)], argv, wait_for(lambda: banner_pid(port), what="watched echo up")


def kill_started_by_hand(*tags: str) -> None:
    """Watched processes are not ours to stop: the test cleans up every echo it started with one
    of these tags, a restart's replacement included (the tag is its identity; a PID can be reused)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        tagged = cmdline[cmdline.index("--tag") + 1:][:1] if "--tag" in cmdline else []
        if tagged and tagged[0] in tags:
            try:
                proc.kill()
            except psutil.Error:
                pass


def test_watched_process_restarted_by_its_argv(tmp_path):
    port, tag, launcher, argv, first = started_by_hand(tmp_path, "watched")
    config = base_config({"w": {"cmdline_pattern": tag, "restart": [*launcher, *argv], "port": port}})
    try:
        with Harness(tmp_path, config) as h:
            wait_for(lambda: h.runner("w").state == "running" and h.runner("w").pid == first, what="adopted")
            os.kill(first, signal.SIGKILL)
            incident = wait_for(lambda: h.ended("process_down"), what="incident ended")[0]
            assert incident.state == "resolved", h.incidents.timeline(incident.id)
            second = banner_pid(port)
            assert second and second != first
            remediation = [e for e in h.incidents.timeline(incident.id) if e.type == "remediation"][0]
            assert remediation.data["argv"][:2] == launcher and remediation.data["exit_code"] == 0
    finally:
        kill_started_by_hand(tag)


RESTARTER = textwrap.dedent("""
    import os, signal, socket, subprocess, sys, time
    port, argv = int(sys.argv[1]), sys.argv[2:]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        old = int(s.recv(100).decode().split()[1])  # the echo's banner: PID N
    os.kill(old, signal.SIGTERM)
    while os.path.exists(f"/proc/{old}") and open(f"/proc/{old}/stat").read().split()[2] != "Z":
        time.sleep(0.01)
    subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
""")


def test_an_operators_stop_of_a_watched_service_is_its_own_stop_argv_and_checked(tmp_path):
    """Without a `stop` argv the stop is refused (it used to read "stopped" while the process ran
    on, and was adopted again at the next look); a `stop` that leaves the process running says so."""
    _, kept_tag, _, kept_argv, kept = started_by_hand(tmp_path, "kept")
    port, tag, _, argv, first = started_by_hand(tmp_path, "stopped")
    services = {"bare": {"cmdline_pattern": kept_tag, "start": kept_argv},
                "noop": {"cmdline_pattern": kept_tag, "start": kept_argv, "stop": [PY, "-c", "pass"]},
                "real": {"cmdline_pattern": tag, "start": argv, "port": port,
                         "stop": [PY, "-c", f"import os, signal; os.kill({first}, signal.SIGTERM)"]}}
    try:
        with Harness(tmp_path, base_config(services)) as h:
            for name, pid in (("bare", kept), ("noop", kept), ("real", first)):
                wait_for(lambda: h.runner(name).state == "running" and h.runner(name).pid == pid, what=name)
            with pytest.raises(UserError, match="no `stop` argv"):
                h.sup.stop_service("bare")
            h.sup.stop_service("noop")
            noop = h.runner("noop")
            wait_for(lambda: noop.message.startswith("stop on request failed"), what="the failed stop")
            assert noop.state == "running" and noop.pid == kept and f"PID {kept} still runs" in noop.message
            h.sup.stop_service("real")
            real = h.runner("real")
            wait_for(lambda: real.state == "stopped", what="the real stop")
            assert real.message == "stopped on request" and not procs.alive(first)
            assert h.runner("bare").state == "running" and procs.alive(kept)
            assert h.incidents.recent(10) == []
    finally:
        kill_started_by_hand(kept_tag, tag)


def test_an_operators_restart_of_a_watched_service_runs_its_restart_argv(tmp_path):
    _, other_tag, _, other_argv, other = started_by_hand(tmp_path, "no-restart")
    port, tag, _, argv, first = started_by_hand(tmp_path, "restarted")
    restarter = tmp_path / "restart.py"
    restarter.write_text(RESTARTER)
    services = {"w": {"cmdline_pattern": tag, "restart": [PY, str(restarter), str(port), *argv], "port": port},
                "bare": {"cmdline_pattern": other_tag, "start": other_argv}}
    try:
        with Harness(tmp_path, base_config(services)) as h:
            runner = h.runner("w")
            wait_for(lambda: runner.state == "running" and runner.pid == first, what="adopted")
            with pytest.raises(UserError, match="no `restart` argv"):
                h.sup.restart_service("bare")
            h.sup.restart_service("w")
            wait_for(lambda: runner.state == "running" and runner.message.startswith("restarted on request"),
                     what="the restart")
            second = banner_pid(port)  # verified: it accepts
            assert second and second != first and runner.pid == second and "not verified" not in runner.message
            assert h.incidents.recent(10) == []
    finally:
        kill_started_by_hand(other_tag, tag)


def test_a_watched_start_that_runs_the_service_in_the_foreground_is_named_and_not_repeated(tmp_path):
    """`start` must return once the service runs. One that is the service itself never returns: it
    was killed at the command timeout with only "timed out" to show for it, and a start the check
    had queued meanwhile ran it all again, a second incident."""
    port, tag, _, argv, first = started_by_hand(tmp_path, "foreground")
    config = base_config({"w": {"cmdline_pattern": tag, "start": argv, "port": port}},
                         check_interval=0.1, command_timeout=2.0)
    with Harness(tmp_path, config) as h:
        runner = h.runner("w")
        wait_for(lambda: runner.state == "running" and runner.pid == first, what="adopted")
        os.kill(first, signal.SIGKILL)
        incident = wait_for(lambda: h.ended("process_down"), what="incident ended")[0]
        assert incident.state == "failed"
        remediation = [e for e in h.incidents.timeline(incident.id) if e.type == "remediation"][0]
        assert "runs inside this command" in remediation.message and "managed" in remediation.message
        handled = threading.Event()
        runner._on_mark = handled.set  # a marker behind whatever the check queued meanwhile
        runner.post("mark")
        assert handled.wait(30)
        assert [i.id for i in h.incidents_of("process_down")] == [incident.id]
        assert runner.state == "failed"


DAEMONIZING = textwrap.dedent("""
    import os, signal, socket, sys
    if os.fork():
        sys.exit(0)  # as a daemon does unless told to stay in the foreground
    os.setsid()
    s = socket.socket()
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen()
    signal.pause()  # until the test kills it
""")


def test_a_command_that_forks_into_the_background_is_said_so_and_left_running(tmp_path):
    """Freeing the port and starting it again would fork again: a kill of a working service at
    every attempt, then a crash loop. One incident says what to change; nothing is killed."""
    port = free_port()
    script = tmp_path / "daemonizing.py"
    script.write_text(DAEMONIZING)
    with Harness(tmp_path, base_config({"forky": {"command": [PY, str(script), str(port)], "port": port}})) as h:
        incident = wait_for(lambda: h.ended("port_in_use"), what="port_in_use ended")[0]
        holder = psutil.Process(incident.detail["holders"][0])
        try:
            assert incident.state == "failed" and "forks into the background" in incident.summary
            assert holder.cmdline() == [PY, str(script), str(port)] and holder.is_running()
            assert [e.type for e in h.incidents.timeline(incident.id) if e.type == "remediation"] == []
            wait_for(lambda: h.runner("forky").state == "failed", what="the service failed")
        finally:
            holder.kill()


def test_port_in_use_by_stale_instance_is_freed(tmp_path):
    port = free_port()
    argv = echo_argv(port)
    stale = subprocess.Popen(argv, start_new_session=True)
    try:
        wait_for(lambda: banner_pid(port) == stale.pid, what="stale holder up")
        with Harness(tmp_path, base_config({"echo": {"command": argv, "port": port}})) as h:
            incident = wait_for(lambda: h.ended("port_in_use"), what="port_in_use ended")[0]
            assert incident.state == "resolved"
            stale.wait(10)  # it was stopped by the supervisor
            assert banner_pid(port) == h.runner("echo").pid
            messages = " ".join(e.message for e in h.incidents.timeline(incident.id))
            assert "identity verified" in messages
    finally:
        if stale.poll() is None:
            stale.kill()
            stale.wait()


def left_running_by_a_first_supervisor(tmp_path, config) -> tuple[int, float]:
    """A supervisor starts the service, then stops and leaves it running (stop_services_on_exit =
    false). Returns its PID and recorded start time."""
    first = Harness(tmp_path, config)
    first.sup.start()
    try:
        pid = wait_for(lambda: banner_pid(config["services"]["echo"]["port"]), what="the echo service")
        started_at = first.runner("echo").started_at
    finally:
        first.sup.stop(leave_running=True)
        first.registry.close()
    assert procs.alive(pid)
    return pid, started_at


def kill_if_alive(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_the_next_supervisor_adopts_what_the_last_one_left_running(tmp_path):
    """Restarting the supervisor (an upgrade) must not restart every service, nor open an incident
    each: the process it left running is adopted. Its exit is still seen and healed."""
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port}})
    pid, _ = left_running_by_a_first_supervisor(tmp_path, config)
    try:
        with Harness(tmp_path, config) as h:
            runner = h.runner("echo")
            wait_for(lambda: runner.state == "running", what="the service running")
            assert (runner.pid, banner_pid(port)) == (pid, pid)
            assert "adopted" in runner.message and h.incidents.recent(10) == []
            os.kill(pid, signal.SIGKILL)
            incident = wait_for(lambda: h.ended("process_down"), what="the exit healed")[0]
            assert incident.state == "resolved" and banner_pid(port) == runner.pid != pid
    finally:
        kill_if_alive(pid)


def test_an_adopted_process_is_stopped_as_a_spawned_one(tmp_path):
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port}})
    pid, _ = left_running_by_a_first_supervisor(tmp_path, config)
    try:
        with Harness(tmp_path, config) as h:
            wait_for(lambda: h.runner("echo").pid == pid, what="the process adopted")
            h.sup.stop_service("echo")
            wait_for(lambda: h.runner("echo").state == "stopped", what="the service stopped")
            assert not procs.alive(pid) and banner_pid(port) is None
    finally:
        kill_if_alive(pid)


def test_a_process_left_running_that_runs_another_command_is_adopted_and_said_so(tmp_path, caplog):
    """A wrapper script that exec'd its server, or a command edited while no supervisor ran: the
    process is still the one spawned (PID and start time), so it is adopted, not restarted; the
    log says how to start the configured command."""
    port = free_port()
    pid, _ = left_running_by_a_first_supervisor(tmp_path, base_config({"echo": {"command": echo_argv(port),
                                                                                  "port": port}}))
    changed = base_config({"echo": {"command": echo_argv(port, "--tag", "changed"), "port": port}})
    try:
        with Harness(tmp_path, changed) as h:
            runner = h.runner("echo")
            wait_for(lambda: runner.state == "running", what="the service running")
            assert (runner.pid, banner_pid(port)) == (pid, pid) and h.incidents.recent(10) == []
            assert "is not an instance of this service's command; `grace-tui service restart echo`" in caplog.text
    finally:
        kill_if_alive(pid)


def test_a_service_removed_from_the_config_while_no_supervisor_ran_is_stopped(tmp_path):
    """As removing it live would: its process, left running, was nobody's to stop or show."""
    port, other = free_port(), free_port()
    both = base_config({"echo": {"command": echo_argv(port), "port": port},
                        "other": {"command": echo_argv(other), "port": other}})
    first = Harness(tmp_path, both)
    first.sup.start()
    try:
        pids = [wait_for(lambda p=p: banner_pid(p), what="the services") for p in (port, other)]
    finally:
        first.sup.stop(leave_running=True)
        first.registry.close()
    try:
        with Harness(tmp_path, base_config({"echo": {"command": echo_argv(port), "port": port}})) as h:
            wait_for(lambda: h.runner("echo").pid == pids[0], what="echo adopted")
            assert not procs.alive(pids[1]) and banner_pid(other) is None
            assert [s.name for s in service_rows.list_services()] == ["echo"]
    finally:
        for pid in pids:
            kill_if_alive(pid)


def test_a_service_started_by_hand_is_adopted_though_it_does_not_autostart(tmp_path):
    """autostart = false, started by an operator: after a supervisor restart it read `stopped`
    while it ran on, unsupervised."""
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port, "autostart": False}})
    first = Harness(tmp_path, config)
    first.sup.start()
    try:
        first.sup.start_service("echo")
        pid = wait_for(lambda: banner_pid(port), what="the echo service")
    finally:
        first.sup.stop(leave_running=True)
        first.registry.close()
    try:
        with Harness(tmp_path, config) as h:
            wait_for(lambda: h.runner("echo").pid == pid, what="the process adopted")
            assert h.runner("echo").state == "running"
    finally:
        kill_if_alive(pid)


def test_a_recorded_pid_that_is_no_longer_that_process_is_not_adopted(tmp_path):
    """The recorded start time is part of the identity: a PID reused by another start is not
    taken over (here the same program, so the port it holds is freed as a stale instance's)."""
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port}})
    pid, started_at = left_running_by_a_first_supervisor(tmp_path, config)
    try:
        h = Harness(tmp_path, config)
        service_rows.upsert_service("echo", started_at=started_at - 3600)
        with h:
            incident = wait_for(lambda: h.ended("port_in_use"), what="the port freed")[0]
            assert incident.state == "resolved" and not procs.alive(pid)
            assert banner_pid(port) == h.runner("echo").pid != pid
    finally:
        kill_if_alive(pid)


PREFORK_SERVER = """
import os, signal, socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(64)
if os.fork() == 0:  # the worker shares the listening socket, as in a prefork server
    while True:
        conn, _ = srv.accept()
        conn.sendall(b"PID %d\\n" % os.getpid())
        conn.close()
signal.pause()  # the master serves nothing: every connection reaches the worker
"""


def test_exit_with_the_port_still_held_frees_it_instead_of_restarting_blind(tmp_path):
    # The master is killed, its worker keeps the port: a plain restart could not bind. The
    # worker is an instance of the service (same argv, same user), so it is the one freed.
    port = free_port()
    script = tmp_path / "prefork.py"
    script.write_text(PREFORK_SERVER)
    argv = [PY, "-I", str(script), str(port)]
    with Harness(tmp_path, base_config({"prefork": {"command": argv, "port": port}})) as h:
        worker = wait_for(lambda: banner_pid(port), what="prefork worker up")
        master = h.runner("prefork").pid
        assert worker != master
        os.kill(master, signal.SIGKILL)
        incident = wait_for(lambda: h.ended("port_in_use"), what="port_in_use ended")[0]
        assert incident.state == "resolved", incident.summary
        assert f"process {master} was killed by SIGKILL" in incident.summary
        assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE
        new_worker = wait_for(lambda: banner_pid(port), what="new worker up")
        assert new_worker != worker and psutil.Process(new_worker).ppid() == h.runner("prefork").pid
        assert h.incidents_of("process_down") == []


def test_port_holder_with_other_identity_is_left_alone(tmp_path):
    port = free_port()
    holder = subprocess.Popen(echo_argv(port, "--not-the-service"), start_new_session=True)
    try:
        wait_for(lambda: banner_pid(port) == holder.pid, what="holder up")
        with Harness(tmp_path, base_config({"echo": {"command": echo_argv(port), "port": port}})) as h:
            incident = wait_for(lambda: h.ended("port_in_use"), what="port_in_use ended")[0]
            assert incident.state == "failed"
            messages = " ".join(e.message for e in h.incidents.timeline(incident.id))
            assert "left alone" in messages
            assert holder.poll() is None and psutil.Process(holder.pid).is_running()
            assert banner_pid(port) == holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_service_that_cannot_be_started_is_a_failed_incident(tmp_path):
    """No such command: nothing to wait for and nothing a restart can mend. The start is an
    incident that says why, as every other failure is, not a service state alone."""
    missing = tmp_path / "not-installed"
    with Harness(tmp_path, base_config({"gone": {"command": [str(missing), "--serve"]}})) as h:
        incident = wait_for(lambda: h.ended("process_down"), what="process_down ended")[0]
        assert incident.state == "failed" and incident.service == "gone"
        assert f"cannot start {missing}" in incident.summary and "No such file or directory" in incident.summary
        attempts = [e for e in h.incidents.timeline(incident.id) if e.type == "remediation"]
        assert attempts and not any(e.data["ok"] for e in attempts)
        assert h.runner("gone").state == "failed" and h.runner("gone").pid is None


def test_a_user_removed_since_the_config_was_checked_fails_the_start_in_words(tmp_path):
    with Harness(tmp_path, base_config({"svc": {"command": [PY, "-c", "pass"], "autostart": False}})) as h:
        h.runner("svc").service.user = "no-such-user-of-grace"  # as if `userdel` ran after the config check
        h.sup.start_service("svc")
        incident = wait_for(lambda: h.ended("process_down"), what="process_down ended")[0]
        assert incident.state == "failed"
        assert incident.summary == f"svc: cannot start {PY}: no such user 'no-such-user-of-grace'"


def _status_ids(pid: int) -> dict[str, list[int]]:
    lines = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return {key: [int(x) for x in lines[key].split()] for key in ("Uid", "Gid", "Groups")}


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs a service as another user")
def test_a_service_run_as_a_user_has_that_users_groups_and_home_not_roots(tmp_path):
    """`user` alone changed only the uid: the service kept group root, and could read what root's
    group may. It now gets the user's primary group and groups, and HOME/USER/LOGNAME, as login does."""
    import pwd

    nobody = pwd.getpwnam("nobody")
    sleep = shutil.which("sleep")
    with Harness(tmp_path, base_config({"svc": {"command": [sleep, "60"], "user": "nobody"}})) as h:
        pid = wait_for(lambda: h.runner("svc").state == "running" and h.runner("svc").pid, what="running")
        ids = _status_ids(pid)
        assert set(ids["Uid"]) == {nobody.pw_uid} and set(ids["Gid"]) == {nobody.pw_gid}
        assert set(ids["Groups"]) == set(os.getgrouplist("nobody", nobody.pw_gid))
        environ = dict(v.split("=", 1) for v in open(f"/proc/{pid}/environ").read().split("\0") if "=" in v)
        assert (environ["HOME"], environ["USER"], environ["LOGNAME"]) == (nobody.pw_dir, "nobody", "nobody")


def test_crash_loop_escalates_stays_stopped_and_ack_rearms(tmp_path):
    port = free_port()
    marker = tmp_path / "notified"
    config = base_config({"flaky": {
        "command": echo_argv(port, "--crash-after", "0.05"), "port": port, "restart_budget": 3,
        "restart_window": 60.0, "backoff_initial": 0.02, "backoff_max": 0.1, "start_timeout": 2.0,
        "on_escalate": [PY, "-c", f"open({str(marker)!r}, 'w').write('crash loop')"]}})
    with Harness(tmp_path, config) as h:
        loop = wait_for(lambda: h.incidents_of("crash_loop"), what="crash_loop incident")[0]
        runner = h.runner("flaky")
        wait_for(lambda: runner.state == "escalated", what="service escalated")
        loop = h.incidents.get(loop.id)
        assert loop.state == "escalated" and loop.severity == "critical"
        assert marker.read_text() == "crash loop"
        restarts = runner.restarts
        assert restarts == 3
        time.sleep(0.3)  # it must not spin: no restart while escalated
        assert runner.restarts == restarts and runner.pid is None
        assert h.incidents.get(loop.detail["caused_by"]).state == "failed"
        # each restart answered its port, then died within min_uptime: one incident, never resolved
        assert [i.id for i in h.incidents_of("process_down")] == [loop.detail["caused_by"]]
        h.incidents.acknowledge(loop.id, "tester", "looking into it")
        wait_for(lambda: runner.restarts > restarts, what="re-armed after ack")


def test_a_watched_service_whose_restart_fails_is_one_incident_until_it_is_back(tmp_path):
    """Its restart argv runs but no process appears: one failed incident. The periodic check
    finds it gone at every round after; that is not a remediation and an incident each time
    (they piled up into dozens of crash_loop incidents), but it adopts the process once it is
    back, started by hand."""
    port = free_port()
    tag = f"watched-{port}"
    config = base_config({"w": {"cmdline_pattern": tag, "restart": ["true"], "start_timeout": 0.3, "port": port}},
                         check_interval=0.02)
    with Harness(tmp_path, config) as h:
        incident = wait_for(lambda: h.ended("process_down"), what="process_down ended")[0]
        assert incident.state == "failed"
        runner, rounds = h.runner("w"), []
        post_once = runner.post_once
        runner.post_once = lambda *message: (rounds.append(message[0]), post_once(*message))
        wait_for(lambda: len(rounds) >= 20, what="twenty check rounds after the failure")
        # started directly: a launcher's own command line would carry the tag for a moment
        by_hand = subprocess.Popen(echo_argv(port, "--tag", tag), start_new_session=True)
        try:
            wait_for(lambda: h.runner("w").state == "running" and h.runner("w").pid == by_hand.pid, what="adopted")
            assert [i.id for i in h.incidents_of("process_down")] == [incident.id]
            assert h.incidents_of("crash_loop") == []
        finally:
            by_hand.kill()  # watched: not ours to stop
            by_hand.wait()


def test_an_incident_shows_while_a_slow_remediation_runs(tmp_path):
    """Only a respawn goes out before the incident is written. A restart argv (or a command) can
    take seconds: the pane and the journal must not learn of the failure only when it is over."""
    go = tmp_path / "go"
    slow_restart = [PY, "-c", f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.01)"]
    config = base_config({"w": {"pidfile": str(tmp_path / "never.pid"), "restart": slow_restart,
                                "start_timeout": 0.2}}, command_timeout=60.0)
    with Harness(tmp_path, config) as h:
        try:
            wait_for(lambda: [i for i in h.incidents_of("process_down") if i.state == "remediating"],
                     what="the incident, remediating, while the restart argv runs")
        finally:
            go.touch()  # the restart argv ends
        wait_for(lambda: h.ended("process_down"), what="the remediation over")


def test_a_stop_does_not_first_handle_what_was_queued_behind_a_remediation(tmp_path):
    config = base_config({"w": {"pidfile": str(tmp_path / "never.pid"), "restart": ["true"], "start_timeout": 3.0}})
    with Harness(tmp_path, config) as h:
        runner = h.runner("w")
        wait_for(lambda: runner.restarts == 1, what="its restart argv ran; waiting for the process")
        runner.post_once("start", "periodic check")  # as the check finds it gone meanwhile
    assert runner.restarts == 1  # the stop came next, not a second remediation
    assert len(h.incidents_of("process_down")) == 1


LEAKING = textwrap.dedent("""
    import socket, sys, threading, time
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: its closed connections wait
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen()
    threading.Thread(target=lambda: [s.accept()[0].close() for _ in iter(int, 1)], daemon=True).start()
    leak = []
    while True:  # serves, and leaks 2 MB every 20 ms up to 80 MB
        if len(leak) < 40:
            leak.append(bytearray(2 << 20))
        time.sleep(0.02)
""")


def test_a_restart_loop_over_a_threshold_leaves_the_working_process_running(tmp_path):
    """Restarted at every round for its memory, a service that still serves spends the budget:
    escalate and stop restarting, but do not stop it (an outage for a degradation), as monit's
    `unmonitor` leaves it. Its later exit is noted on the escalated incident, not healed."""
    port = free_port()
    config = base_config({"big": {"command": [PY, "-c", LEAKING, str(port)], "port": port, "rss_max_mb": 40.0,
                                  "threshold_samples": 1, "restart_budget": 2, "backoff_initial": 0.01}},
                         check_interval=0.1)
    with Harness(tmp_path, config) as h:
        runner = wait_for(lambda: (r := h.runner("big")).state == "escalated" and r, what="escalated")
        loop = h.incidents_of("crash_loop")[0]
        assert "left running" in loop.summary and loop.state == "escalated"
        pid = runner.pid
        assert pid and tcp_probe(port, 1.0).ok and psutil.Process(pid).is_running()  # still serving
        assert service_rows.count_down() == 0  # up, as the pane's header and the metrics say
        wait_for(lambda: 'grace_tui_service_up{service="big"} 1' in h.paths.metrics_prom.read_text(),
                 what="the metrics file")
        restarts = runner.restarts
        h.incidents.acknowledge(loop.id, "tester", "known leak")  # re-armed, as it runs: not restarted
        wait_for(lambda: h.incidents.get(loop.id).state == "resolved", what="the re-armed loop resolved")
        assert runner.pid == pid and runner.restarts == restarts and runner.state == "running"
        loop = wait_for(lambda: [i for i in h.incidents_of("crash_loop") if i.state == "escalated"],
                        what="escalated again: it still leaks")[0]
        pid = runner.pid
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: any("not restarted" in e.message for e in h.incidents.timeline(loop.id)),
                 what="the exit noted on the escalated incident")
        assert runner.pid is None and runner.state == "escalated" and h.incidents_of("process_down") == []


def test_an_operator_start_rearms_an_escalated_service(tmp_path):
    port = free_port()
    config = base_config({"flaky": {"command": echo_argv(port, "--crash-after", "0.05"), "port": port,
                                    "restart_budget": 2, "backoff_initial": 0.01, "start_timeout": 2.0}})
    with Harness(tmp_path, config) as h:
        runner = wait_for(lambda: (r := h.runner("flaky")).state == "escalated" and r, what="escalated")
        restarts = runner.restarts
        h.sup.start_service("flaky")
        wait_for(lambda: runner.restarts > restarts, what="restarted after the operator's start")


def test_a_recovery_counts_only_once_the_new_process_has_lived_min_uptime(tmp_path):
    """A process that dies 0.3 s after each start must not count as healed every time (resolved
    incidents and a 100% success rate before the crash loop)."""
    config = base_config({"dies": {
        "command": [PY, "-c", "import time; time.sleep(0.3)"], "min_uptime": 1.0, "restart_budget": 2,
        "backoff_initial": 0.02, "backoff_max": 0.05}})
    with Harness(tmp_path, config) as h:
        loop = wait_for(lambda: h.incidents_of("crash_loop"), what="crash_loop incident")[0]
        downs = wait_for(lambda: h.ended("process_down"), what="process_down ended")
        assert [i.state for i in downs] == ["failed"]  # one incident, every attempt in it, never resolved
        assert downs[0].id == loop.detail["caused_by"] and downs[0].attempts == 2
        verifications = [e for e in h.incidents.timeline(downs[0].id) if e.type == "verification"]
        seen_up = [e for e in verifications if e.data["ok"]]  # alive a moment after each start...
        relapses = [e for e in verifications if e.message.startswith("relapsed")]  # ...dead within min_uptime
        assert seen_up and len(relapses) == len(seen_up)


def test_dry_run_changes_nothing(tmp_path):
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port}})
    with Harness(tmp_path, config, dry_run=True) as h:
        first = wait_for(lambda: banner_pid(port), what="echo up")
        os.kill(first, signal.SIGKILL)
        incident = wait_for(lambda: [i for i in h.incidents_of("process_down")
                                     if any(e.type == "remediation" for e in h.incidents.timeline(i.id))],
                            what="dry-run remediation noted")[0]
        note = [e for e in h.incidents.timeline(incident.id) if e.type == "remediation"][0]
        assert note.message.startswith("restart: dry run: would restart")
        assert banner_pid(port) is None and h.runner("echo").pid is None


def test_port_check_failure_restarts_a_hung_service(tmp_path):
    """A process alive but not answering (SIGSTOP) is restarted after N failed checks.

    The kernel completes handshakes for a stopped listener until its backlog is full, so the
    service uses a backlog of 1 to make the hang visible to a connect check quickly."""
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port, "--backlog", "1"), "port": port, "connect_timeout": 0.2,
                                   "failures_before_incident": 2}}, check_interval=0.2)
    with Harness(tmp_path, config) as h:
        first = wait_for(lambda: banner_pid(port), what="echo up")
        with stopped(first):
            incident = wait_for(lambda: h.ended("port_unreachable"), what="port_unreachable ended")[0]
        assert incident.state == "resolved"
        assert banner_pid(port) not in (None, first)


def test_accept_timeout_restarts_a_hung_service_with_room_in_its_backlog(tmp_path):
    """With `accept_timeout`, a stopped listener is caught although the kernel still completes
    every handshake (default backlog): the check asks whether the process accept()ed."""
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port, "connect_timeout": 0.2,
                                   "accept_timeout": 0.3, "failures_before_incident": 2}}, check_interval=0.2)
    with Harness(tmp_path, config) as h:
        first = wait_for(lambda: banner_pid(port), what="echo up")
        with stopped(first):
            assert tcp_probe(port, 1.0).connect_ms is not None  # the handshake alone says nothing
            incident = wait_for(lambda: h.ended("port_unreachable"), what="port_unreachable ended")[0]
        assert incident.state == "resolved" and "did not accept()" in incident.summary
        assert banner_pid(port) not in (None, first)


def test_probe_tells_a_listener_that_accepts_from_one_that_does_not():
    never = socket.socket()
    never.bind(("127.0.0.1", 0))
    never.listen(8)
    deferred = socket.socket()  # waits for the client to speak: not hung
    deferred.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 5)
    deferred.bind(("127.0.0.1", 0))
    deferred.listen(8)
    serving = socket.socket()
    serving.bind(("127.0.0.1", 0))
    serving.listen(8)
    threading.Thread(target=serving.accept, daemon=True).start()
    with never, deferred, serving:
        assert tcp_probe(never.getsockname()[1], 1.0, 0.3).accepted is False
        assert tcp_probe(deferred.getsockname()[1], 1.0, 0.3).accepted is True
        assert tcp_probe(serving.getsockname()[1], 1.0, 10.0).accepted is True
        assert tcp_probe(never.getsockname()[1], 1.0).accepted is None  # not asked
        with socket.create_connection(never.getsockname()) as client:  # sock_diag and /proc/net/tcp agree
            ends = never.getsockname()[1], client.getsockname()[1]
            assert sock_diag_lookup(*ends) == proc_net_tcp_lookup(*ends) == (1, 0)  # established, no inode


def test_a_probe_that_reached_itself_says_nothing_listens_and_leaves_the_port_free():
    """With nothing listening on a port in the ephemeral range, a probe's connect() picks that
    same port as its source now and then (about once in 14,000 on Linux) and completes by
    simultaneous open. Forced here by binding the source. The probe must not take it for the
    service, nor leave it in TIME_WAIT on the port, where the restart could not bind for 60 s
    (a bench trial ended in a crash loop that way)."""
    port = free_port()
    with pytest.raises(ConnectionRefusedError):
        connect(("127.0.0.1", port), 1.0, source_address=("127.0.0.1", port))
    with socket.socket() as server:  # what the echo server does at start
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))  # EADDRINUSE if the probe's socket lingered
        server.listen(8)
        assert tcp_probe(port, 1.0).ok  # the real listener still answers


def test_resource_threshold_opens_incident(tmp_path):
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port, "fds_max": 1,
                                   "threshold_samples": 2, "remediation": {"resource_threshold": ["none"]}}},
                         check_interval=0.1)
    with Harness(tmp_path, config) as h:
        incident = wait_for(lambda: h.incidents_of("resource_threshold"), what="resource incident")[0]
        assert "open fds" in incident.summary
        row = wait_for(lambda: (r := service_rows.get_service("echo")) and r.num_fds and r)
        assert row.num_fds > 1 and row.history["rss"]


def test_services_snapshot_and_rows(tmp_path):
    port = free_port()
    with Harness(tmp_path, base_config({"echo": {"command": echo_argv(port), "port": port}})) as h:
        wait_for(lambda: h.runner("echo").state == "running")
        snap = h.sup.services_snapshot()
        assert snap[0]["name"] == "echo" and snap[0]["mode"] == "managed" and snap[0]["port"] == port
    assert sys.platform.startswith("linux")


def test_retry_rearms_and_silence_is_recorded(tmp_path):
    port = free_port()
    config = base_config({"flaky": {
        "command": echo_argv(port, "--crash-after", "0.05"), "port": port, "restart_budget": 2,
        "backoff_initial": 0.02, "backoff_max": 0.05, "start_timeout": 2.0}})
    with Harness(tmp_path, config) as h:
        runner = h.runner("flaky")
        wait_for(lambda: runner.state == "escalated", what="escalated")
        loop = h.incidents_of("crash_loop")[0]
        restarts = runner.restarts
        assert h.sup.retry(loop.id) == "retrying flaky (crash_loop)"
        wait_for(lambda: runner.restarts > restarts, what="restarted by retry")
        message = h.sup.silence(loop.id, 600)
        assert message == "silenced flaky for 600s"
        assert any(e.type == "silence" for e in h.incidents.timeline(loop.id))
        row = wait_for(lambda: (r := service_rows.get_service("flaky")) and r.silenced_until and r)
        assert row.silenced_until > time.time() + 500


def test_a_resolved_incident_is_not_retried(tmp_path):
    """Retry on a healed incident answered "retrying web" and did nothing: now it says why not."""
    port = free_port()
    with Harness(tmp_path, base_config({"echo": {"command": echo_argv(port), "port": port}})) as h:
        pid = wait_for(lambda: banner_pid(port), what="echo up")
        os.kill(pid, signal.SIGKILL)
        healed = wait_for(lambda: [i for i in h.incidents_of("process_down") if i.state == "resolved"],
                          what="healed")[0]
        with pytest.raises(UserError, match=f"incident {healed.id} is already resolved"):
            h.sup.retry(healed.id)


def test_http_check_opens_incident_and_failed_recovery_is_not_resolved(tmp_path):
    """A 404 where 200 is expected: http_unhealthy; a restart that still serves 404 is not a recovery."""
    port = free_port()
    root = tmp_path / "www"
    root.mkdir()
    (root / "ok.html").write_text("ok")
    command = [PY, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)]
    config = base_config({
        "good": {"command": command, "port": port, "http_url": f"http://127.0.0.1:{port}/ok.html"},
    }, check_interval=0.1)
    with Harness(tmp_path / "a", config) as h:
        wait_for(lambda: h.runner("good").state == "running" and h.runner("good").counters.fails["http_unhealthy"] == 0
                 and h.runner("good").last_sample, what="good service checked")
        assert h.incidents_of("http_unhealthy") == []
    port = free_port()
    command[3] = str(port)
    config = base_config({
        "bad": {"command": command, "port": port, "http_url": f"http://127.0.0.1:{port}/missing.html",
                "failures_before_incident": 1, "start_timeout": 1.0, "remediation": {"http_unhealthy": ["restart"]}},
    }, check_interval=0.1)
    with Harness(tmp_path / "b", config) as h:
        incident = wait_for(lambda: h.ended("http_unhealthy"), what="http_unhealthy ended")[0]
        assert incident.state == "failed" and "HTTP 404 (expected 200)" in incident.summary
        verification = [e for e in h.incidents.timeline(incident.id) if e.type == "verification"][0]
        assert verification.data["ok"] is False


def test_the_first_sample_comes_seconds_after_start_not_a_check_interval_later(tmp_path):
    """The round at start finds the service still starting; with a 30 s interval the pane showed
    no CPU or RSS (and a dead port went unseen) for the first half minute."""
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port}}, check_interval=3600.0)
    with Harness(tmp_path, config) as h:
        wait_for(lambda: h.runner("echo").last_sample.get("rss_bytes"), what="the first sample")


def test_a_restarted_process_is_sampled_seconds_after_it_starts(tmp_path):
    """Its old process's figures are gone at the restart: the new one's come at once, not an hour
    (check_interval) later."""
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port, "min_uptime": 0.1}},
                         check_interval=3600.0)
    with Harness(tmp_path, config) as h:
        runner = h.runner("echo")
        wait_for(lambda: runner.last_sample.get("rss_bytes"), what="the first sample")
        first = runner.pid
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: runner.pid not in (None, first) and runner.state == "running", what="the restart")
        wait_for(lambda: runner.last_sample.get("rss_bytes"), what="the new process's sample")


SIGNAL_RECORDER = textwrap.dedent("""
    import signal, sys, time
    out = sys.argv[1]
    def record(signum, frame):
        with open(out, "a") as f:
            f.write(signal.Signals(signum).name + "\\n")
        if signum == signal.SIGINT:
            sys.exit(0)
    signal.signal(signal.SIGTERM, record)  # noted, and ignored: only SIGINT stops this one
    signal.signal(signal.SIGINT, record)
    open(out, "a").close()
    while True:
        time.sleep(1)
""")


def test_stop_signal_is_what_stops_a_managed_service(tmp_path):
    """As supervisord's stopsignal: a service that stops gracefully on INT (or QUIT, as nginx)."""
    received = tmp_path / "signals"
    config = base_config({"s": {"command": [PY, "-c", SIGNAL_RECORDER, str(received)], "stop_signal": "INT",
                                "stop_timeout": 60.0}})
    with Harness(tmp_path, config) as h:
        runner = h.runner("s")
        wait_for(lambda: runner.state == "running" and received.exists(), what="running")
        h.sup.stop_service("s")
        wait_for(lambda: runner.state == "stopped", what="stopped")
    assert received.read_text() == "SIGINT\n"


def test_a_signal_goes_to_the_running_process_as_supervisorctl_signal(tmp_path):
    """`grace-tui service signal web HUP`: many servers reload on HUP; the process runs on."""
    received = tmp_path / "signals"
    config = base_config({"s": {"command": [PY, "-c", SIGNAL_RECORDER, str(received)]}})
    with Harness(tmp_path, config) as h:
        runner = h.runner("s")
        wait_for(lambda: runner.state == "running" and received.exists(), what="running")
        pid = runner.pid
        assert h.sup.signal_service("s", "TERM") == f"sent TERM to s (PID {pid})"  # noted, and ignored by it
        wait_for(lambda: received.read_text() == "SIGTERM\n", what="the signal received")
        assert runner.pid == pid and runner.state == "running" and h.incidents.recent(10) == []
        with pytest.raises(UserError, match="signal 'HUPP': one of TERM, INT"):
            h.sup.signal_service("s", "HUPP")
        h.sup.stop_service("s")
        wait_for(lambda: runner.state == "stopped", what="stopped")
        with pytest.raises(UserError, match=r"s is not running \(stopped\)"):
            h.sup.signal_service("s", "HUP")


def test_an_unknown_stop_signal_is_a_config_error(tmp_path):
    from grace_tui.errors import ConfigError
    from grace_tui.config import config_from_dict

    with pytest.raises(ConfigError, match="stop_signal: must be one of TERM, INT"):
        config_from_dict(base_config({"s": {"command": ["true"], "stop_signal": "SIGINT"}}), source="<test>")


def test_a_failing_check_round_comes_again_at_its_time_not_at_once(tmp_path, caplog):
    """A full disk failed every round, and the loop ran the next one at once: the daemon spun a
    core, logging the failure thousands of times a second. Now the round comes again on time
    (the second round is due 2 s after the first), and the failure is one line per round."""
    import sqlite3

    rounds: list[float] = []

    def full_disk() -> None:
        rounds.append(time.monotonic())
        raise sqlite3.OperationalError("database or disk is full")

    h = Harness(tmp_path, base_config({}))
    h.sup._check_services = full_disk
    with h:
        wait_for(lambda: len(rounds) >= 2, what="two rounds")
    assert rounds[1] - rounds[0] >= 1.0
    assert "service checks failed: database or disk is full" in caplog.text


def test_a_stale_pidfile_whose_pid_was_reused_is_not_the_service(tmp_path):
    """A watched service found by pidfile only: the service died, and its PID went to another
    process started after the file was written. That process is not the service."""
    other = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"])
    pidfile = tmp_path / "svc.pid"
    try:
        pidfile.write_text(f"{other.pid}\n")
        config = base_config({"w": {"pidfile": str(pidfile), "autostart": False}})
        written = pidfile.stat().st_mtime
        assert procs.find_watched(config_from_dict(config).services["w"]).pid == other.pid
        os.utime(pidfile, (written - 3600, written - 3600))  # written an hour before that process started
        assert procs.find_watched(config_from_dict(config).services["w"]) is None
    finally:
        other.kill()
        other.wait()


TLS_SERVER = """
import http.server, ssl, sys
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl to make a self-signed certificate")
def test_an_https_check_on_a_self_signed_certificate_says_how_to_accept_it(tmp_path):
    """A local health endpoint on https usually has a self-signed certificate: verified, every check
    failed (a restart loop with no way out); `http_tls_verify = false` accepts it."""
    from grace_tui.supervisor.probes import http_check

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    port = free_port()
    server = subprocess.Popen([PY, "-c", TLS_SERVER, str(port), str(cert), str(key)], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: tcp_probe(port, 0.5).ok, what="the https server")
        url = f"https://127.0.0.1:{port}/"
        ok, what = http_check(url, 200, 5.0)
        assert not ok and what.endswith("(a self-signed certificate: set http_tls_verify = false)"), what
        assert http_check(url, 200, 5.0, verify_tls=False) == (True, "HTTP 200 (expected 200)")
    finally:
        server.kill()
        server.wait()

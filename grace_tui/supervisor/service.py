"""One supervised service: its process, its checks' counters, and how it heals.

Each service has its own thread reading a queue of messages (exit, check failed,
retry, stop...), so a slow remediation of one never delays another, and an exit
is handled the moment the exit watcher reports it: the restart is spawned first,
the incident is written while the new process boots, then recovery is verified.
"""

from __future__ import annotations

import collections
import errno
import logging
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import psutil

from grace_tui.config.model import ServiceConfig
from grace_tui.paths import ensure_private_dir, open_private
from grace_tui.registry.db import database, log_failure
from grace_tui.supervisor import procs
from grace_tui.supervisor.commands import CommandResult, run_argv
from grace_tui.supervisor.logs import last_lines, service_log
from grace_tui.supervisor.probes import http_check, port_accepting, tcp_probe, wait_until

if TYPE_CHECKING:
    from grace_tui.supervisor.core import Supervisor

log = logging.getLogger(__name__)

CHECK_KINDS = ("port_unreachable", "http_unhealthy", "resource_threshold")  # incidents a passing check closes
REAP_TIMEOUT_S = 5.0  # a bound, never reached: an exit is reported once the child has exited
SEVERITY = {"process_down": "high", "port_unreachable": "high", "port_in_use": "high", "http_unhealthy": "medium",
            "resource_threshold": "medium", "crash_loop": "critical"}


@dataclass
class ActionResult:
    action: str
    ok: bool
    message: str
    command: CommandResult | None = None
    pid: int | None = None
    duration_s: float = 0.0

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action, "ok": self.ok, "pid": self.pid,
                                "duration_s": round(self.duration_s, 6)}
        if self.command:
            data.update(argv=self.command.argv, exit_code=self.command.exit_code, output=self.command.output,
                        duration_s=round(self.command.duration_s, 6), error=self.command.error)
        return data


@dataclass
class Counters:
    """Consecutive failures per check, for thresholds over N samples."""

    fails: dict[str, int] = field(default_factory=lambda: collections.defaultdict(int))

    def bump(self, key: str, failed: bool) -> int:
        self.fails[key] = self.fails[key] + 1 if failed else 0
        return self.fails[key]


LAST_OUTPUT_LINES = 10  # of an exited process's log, kept in its incident
NO_SAMPLE = dict.fromkeys(("cpu_pct", "rss_bytes", "num_fds", "connect_ms"))  # what a check round fills in


class ServiceRunner:
    def __init__(self, supervisor: "Supervisor", service: ServiceConfig,
                 left_running: tuple[int | None, float | None] | None = None):
        self.sup = supervisor
        self.service = service
        self.name = service.name
        self.queue: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.popen: subprocess.Popen | None = None
        self._pid: int | None = None
        self.left_running = left_running  # (PID, started at) an earlier supervisor recorded, to adopt
        self.adopted: psutil.Process | None = None  # a managed process an earlier supervisor spawned
        self.cpu_meter = procs.CpuMeter()  # CPU % between check rounds
        self.started_at: float | None = None
        self.state = "stopped"
        self.restarts = 0
        self.restart_times: collections.deque[float] = collections.deque()
        self.escalated_incident: str | None = None
        self.silenced_until: float | None = None
        self.counters = Counters()
        self.open_checks: set[str] = self._checks_with_open_incidents()
        self.history: dict[str, collections.deque[float]] = {
            "cpu": collections.deque(maxlen=supervisor.config.supervisor.history),
            "rss": collections.deque(maxlen=supervisor.config.supervisor.history)}
        self.last_sample: dict[str, Any] = {}  # the current process's last check round; {} when none
        self.log_start = 0  # where the current process's output starts in its log
        self.message = ""
        self._ignore_exit: set[int] = set()  # PIDs we stopped on purpose
        self._current_exited = threading.Event()
        self._waiting: set[str] = set()  # kinds posted with post_once, not handled yet
        self._waiting_lock = threading.Lock()
        self._stopping = False
        self._leaving = threading.Event()  # asked to shut down: drop what is queued
        self._thread = threading.Thread(target=self._loop, name=f"grace-svc-{self.name}", daemon=True)

    @property
    def pid(self) -> int | None:
        return self._pid

    @pid.setter
    def pid(self, pid: int | None) -> None:
        if pid != self._pid:  # the figures were another process's: a stopped service has none
            self.last_sample = {}
        if self.adopted is not None and self.adopted.pid != pid:
            self.adopted = None
        self._pid = pid

    # ------------------------------------------------------------------ thread
    def start(self) -> None:
        self._thread.start()
        if self.service.autostart or self.service.mode == "watched":
            self.post("start", "initial start")
        elif self.left_running:  # not started at start-up, but an operator's start left it running
            self.post("adopt")

    def post(self, *message: Any) -> None:
        self.queue.put(message)

    def post_once(self, *message: Any) -> None:
        """Post unless a message of this kind still waits. The periodic check finds a service
        down at every round while a remediation takes seconds; a backlog of requests would be
        handled one after the other once it ends, each a remediation of its own."""
        with self._waiting_lock:
            if message[0] in self._waiting:
                return
            self._waiting.add(message[0])
        self.queue.put(message)

    def shutdown(self, leave_running: bool, timeout: float = 15.0) -> None:
        self.ask_shutdown(leave_running)
        self._thread.join(timeout)

    def ask_shutdown(self, leave_running: bool) -> None:
        """Shut down once the message in hand is handled: what waits in the queue is dropped,
        so that a stop does not first sit out every remediation queued before it."""
        self._leaving.set()
        self.post("shutdown", leave_running)

    def _loop(self) -> None:
        while True:
            message = self.queue.get()
            kind, args = message[0], message[1:]
            with self._waiting_lock:
                self._waiting.discard(kind)
            try:
                if kind == "shutdown":
                    self._shutdown(*args)
                    return
                if not self._leaving.is_set():
                    getattr(self, f"_on_{kind}")(*args)
            except Exception as exc:  # one bad event must not kill the service's thread
                # Storage can fail after the remediation acted (a full disk, a respawn goes out first):
                # the journal then says what runs, since the incident could not record it.
                log_failure(log, "service %s: handling %s failed (%s)", self.name, kind,
                            f"PID {self.pid} running" if self.is_running() else "no process running")
                self.set_state(self.state, f"error: {exc}")
            if self.queue.empty():
                _release_db_connection()


    # ------------------------------------------------------------------ messages
    def _on_start(self, reason: str) -> None:
        if self.is_running() or self.state == "escalated":  # escalated: until re-armed
            return
        if self.service.mode == "watched" and self._adopt():
            return
        if self.service.mode == "managed" and self._adopt_left_running():
            return
        if self.service.port and port_accepting(self.service.port):
            self.heal("port_in_use", f"{self.name}: port {self.service.port} is held by another process",
                      self._port_holders(), time.time())
            return
        if self.service.mode == "watched":
            self.heal("process_down", f"{self.name}: process not found", {"reason": reason}, time.time())
            return
        result = self.spawn()
        if not result.ok:  # no such command, user or directory: a failure to heal, and to show
            self.heal("process_down", f"{self.name}: {result.message}", {"reason": reason}, time.time())
            return
        self.set_state("starting", result.message)
        if self.verify():
            self.set_state("running", f"started ({reason})")
        elif not self.is_running():
            self.set_state("failed", "exited during start")
        else:  # up but not healthy yet: the periodic checks take it from here (and open the incident)
            self.set_state("running", f"started ({reason}) but not verified healthy within "
                                      f"{self.service.start_timeout:g}s")

    def _on_adopt(self) -> None:
        self._adopt_left_running()

    def _on_look(self) -> None:
        """Watched, not running: adopt its process if it is back (started by hand, say). A
        remediation that failed is not tried again at every round, each an incident of its own:
        `retry`, a config change or an operator's start tries again, as for a managed service."""
        if not self.is_running():
            self._adopt()

    def _on_start_requested(self) -> None:
        """An operator's start re-arms the crash-loop budget, as their stop does."""
        self.rearm()
        self._on_start("start requested")

    def _on_exit(self, pid: int, detected_at: float) -> None:
        if pid in self._ignore_exit:
            self._ignore_exit.discard(pid)
            return
        if pid != self.pid or self._stopping:
            return
        code = self._exit_code(pid)
        uptime = detected_at - (self.started_at or detected_at)
        self.pid, self.popen = None, None
        how = _describe_exit(code)
        if self.state == "escalated":  # left running when it escalated: a human decides what next
            self.sup.incidents.note(self.escalated_incident, "exit", f"process {pid} {how}; not restarted "
                                    "while escalated", {"pid": pid, "exit_code": code})
            self.set_state("escalated", f"{how}; not restarted while escalated")
            return
        if uptime >= self.service.min_uptime:
            self.restart_times.clear()  # it ran healthily: start the backoff afresh
        self.message = f"{how} after {uptime:.3f}s"
        detail = {"pid": pid, "exit_code": code, "uptime_s": round(uptime, 3)}
        last_output = self._last_output()
        if last_output:
            detail["last_output"] = last_output
        if self.service.port and port_accepting(self.service.port):
            holders = self._port_holders()
            if code == 0 and uptime < self.service.min_uptime and self._forked_away(pid, holders, detail, detected_at):
                return
            # Its listening socket outlived it (a forked worker, another instance): a restart could
            # not bind. Free the port from a verified instance, as at start, or leave it and say so.
            self.heal("port_in_use", f"{self.name}: process {pid} {how}; port {self.service.port} is still held",
                      {**detail, **holders}, detected_at)
            return
        self.heal("process_down", f"{self.name}: process {pid} {how}", detail, detected_at)

    def _last_output(self) -> str:
        """A managed process's last lines of output, read when it has exited: often why it did, as
        `systemctl status` shows. Its replacement writes to the same file only after this."""
        if self.service.mode != "managed":
            return ""
        try:
            lines = last_lines(service_log(self.sup.paths.root, self.name), LAST_OUTPUT_LINES, self.log_start)
        except OSError:
            return ""
        return "\n".join(lines)[-self.sup.config.supervisor.output_limit:]

    def _forked_away(self, pid: int, holders: dict[str, Any], detail: dict[str, Any], detected_at: float) -> bool:
        """The command returned at once, successfully, and an instance of it (same command line and
        user) holds the port: it forked into the background, as a daemon does unless told not to.
        Freeing the port and starting it again would only repeat that, killing a working service
        each time: say so instead, and leave it running. True when that is what happened."""
        holder = next((h for h in holders["holders"] if procs.verify_identity(h, self.service)[0]), None)
        if holder is None:
            return False
        summary = (f"{self.name}: process {pid} exited at once and left PID {holder}, its own command, on port "
                   f"{self.service.port}: it forks into the background; run it in the foreground to supervise it")
        self.set_state("failed", f"forks into the background (PID {holder})")
        incident = self.sup.incidents.open("port_in_use", self.severity("port_in_use"), summary, service=self.name,
                                           check="port_in_use", detail={**detail, **holders},
                                           detected_at=detected_at)
        self.sup.incidents.set_state(incident.id, "failed", f"not remediated: PID {holder} left running")
        return True

    def _exit_code(self, pid: int) -> int | None:
        """Our child `pid`'s exit status, reaping it; None for a process we did not start.
        poll() would answer None while another thread (the checks, in is_running) holds the
        Popen's waitpid lock; wait() takes its turn. The child has exited, so it does not block."""
        if not (self.popen and self.popen.pid == pid):
            return None
        try:
            return self.popen.wait(REAP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return None

    def _on_found_dead(self, pid: int) -> None:
        """The periodic check found our process dead. Messages are handled in order, so an exit
        report queued before this message has been handled and `pid` is no longer current. If it
        still is, no report came: heal it now rather than leave it down. A report that arrives
        after this is ignored, since its PID is no longer current."""
        if pid == self.pid and not self.is_running():
            log.warning("%s: process %d found dead by the periodic check before its exit was reported",
                        self.name, pid)
            self._on_exit(pid, time.time())

    def _port_holders(self) -> dict[str, Any]:
        return {"port": self.service.port, "holders": procs.port_holders(self.service.port)}

    def _on_check_failed(self, kind: str, summary: str, detail: dict[str, Any], detected_at: float) -> None:
        if self.state in ("escalated", "stopped") or self.silenced():
            return
        self.heal(kind, summary, detail, detected_at)

    def _on_check_ok(self, kind: str, passing: str = "", detail: dict[str, Any] | None = None) -> None:
        """A check passed again (by itself, after a restart or a config change): its open incident is recovered."""
        for incident in self.sup.incidents.open_incidents(self.name, kind):
            if incident.state != "escalated":
                self.sup.incidents.note(incident.id, "verification", f"{kind} check passes again: {passing}",
                                        {"ok": True, **(detail or {})})
                self.sup.incidents.resolve(incident.id, f"recovered ({passing or 'check passes again'})")

    def _checks_with_open_incidents(self) -> set[str]:
        """Check kinds with an incident still open for this service (e.g. from before a config change)."""
        try:
            return {i.kind for i in self.sup.incidents.open_incidents(self.name)
                    if i.kind in CHECK_KINDS and i.state != "escalated"}
        except Exception:
            log_failure(log, "reading the open incidents of %s", self.name)
            return set()

    def _on_retry(self, incident_id: str) -> None:
        incident = self.sup.incidents.get(incident_id)
        self.rearm()
        kind = "process_down" if incident.kind == "crash_loop" else incident.kind
        if kind == "process_down" and self.is_running():
            self.resolve_open(incident.kind, "recovered (already running at retry)", time.time())
            return
        self.heal(kind, incident.summary, incident.detail, time.time(), incident_id=incident.id)

    def _on_rearm(self) -> None:
        if self.state != "escalated":
            return
        self.rearm()
        if self.is_running():  # left running when it escalated: supervision resumes as it is
            self.set_state("running", "re-armed")
            self.sup.incidents.resolve(self.escalated_incident, "re-armed; the process had kept running")
            return
        self.heal("process_down", f"{self.name}: re-armed after crash loop", {}, time.time(),
                  incident_id=self.escalated_incident)

    def _on_stop(self) -> None:
        self.restart_times.clear()  # an operator's stop re-arms the crash-loop budget, like a config change
        left = self.stop_process()
        if left and self._adopt():  # a watched service's `stop` did not stop it: say so, keep watching
            self.set_state("running", f"stop on request failed: {left}")
            return
        self.set_state("stopped", "stopped on request")

    def _on_restart_requested(self) -> None:
        """An operator's restart: a watched service's own `restart` argv when it has one, else a
        stop and a start. Re-arms the crash-loop budget, as a stop or start does."""
        if self.service.mode == "managed" or not self.service.restart:
            self._on_stop()
            self._on_start_requested()
            return
        self.rearm()
        before = self.pid
        argv = self.service.restart
        self.set_state("starting", f"running {argv[0]}")  # not a failure for the checks meanwhile
        result = self.run(argv, why_running=self._runs_inside)
        said = _command_message(result)
        if result.ok and wait_until(self._adopt, self.service.start_timeout):
            same = " (the same PID: did it restart?)" if self.pid == before else ""
            unhealthy = "" if self.verify() else f"; not verified healthy within {self.service.start_timeout:g}s"
            self.set_state("running", f"restarted on request: {said}{same}{unhealthy}")
        elif self._adopt():  # the restart failed; the process it was to replace still runs
            self.set_state("running", f"restart on request failed: {said}; PID {self.pid} still runs")
        else:
            self.heal("process_down", f"{self.name}: restart on request failed: {said}",
                      {"reason": "restart requested", "result": result.to_dict()}, time.time())

    def _shutdown(self, leave_running: bool) -> None:
        self._stopping = True
        if not leave_running and self.service.mode == "managed":
            self.stop_process()
            self.set_state("stopped", "stopped with the supervisor")
        if self.pid:
            self.sup.exit_watcher.unwatch(self.pid)

    # ------------------------------------------------------------------ healing
    def heal(self, kind: str, summary: str, detail: dict[str, Any], detected_at: float,
             incident_id: str | None = None) -> None:
        """Remediate `kind`: act and record (a respawn first, recorded while it boots), verify, then
        resolve or escalate."""
        actions = self.service.actions_for(kind) or ["none"]
        first = self.sup.pick_action(self.service, kind, actions)
        ordered = [first] + [a for a in actions if a != first]
        for action in ordered:
            if action in ("restart", "free_port") and self.crash_budget_spent():
                self.escalate(kind, incident_id, summary, detail, detected_at)
                return
            delay = self.backoff_delay() if action in ("restart", "free_port") else 0.0
            if delay and self._wait_or_interrupted(delay):
                return
            # A respawn goes out before any DB access; anything else (a command, a port to free, a
            # watched process to wait for) may take seconds, so the incident shows first.
            spawn_first = action == "restart" and self.service.mode == "managed"
            if not spawn_first:
                incident_id = self._remediating(kind, action, incident_id, summary, detail, detected_at)
            result = self.perform(action, kind)
            if spawn_first:
                incident_id = self._remediating(kind, action, incident_id, summary, detail, detected_at)
            self.sup.incidents.note(incident_id, "remediation", f"{action}: {result.message}", result.data())
            if action == "none" or self.sup.dry_run:
                self.set_state(self.state, result.message)
                return
            verified_at = self.verify() if result.ok else None
            self.sup.incidents.note(incident_id, "verification",
                                    "recovered: process alive" + (" and port accepting" if self.service.port else "")
                                    + (" and HTTP check passing" if self.service.http_url and self.service.port else "")
                                    if verified_at else f"not recovered after {action}",
                                    {"ok": bool(verified_at), "pid": self.pid})
            if verified_at:
                self.set_state("running", f"recovered by {action}")
                if not self.holds_up():  # its exit drives the next attempt, in this incident
                    self.sup.incidents.note(incident_id, "verification",
                                            f"relapsed: process {self.pid} exited within min_uptime "
                                            f"({self.service.min_uptime:g}s) of its start", {"ok": False, "pid": self.pid})
                    return
            self.sup.events.publish("remediation_outcome", self.name, {
                "kind": kind, "action": action, "success": bool(verified_at),
                "ttr_s": (verified_at or time.time()) - detected_at})
            if verified_at:
                self.sup.incidents.resolve(incident_id, f"recovered by {action}", at=verified_at)
                return
            if result.ok and self.service.mode == "managed" and action in ("restart", "free_port") \
                    and not self.is_running():
                return  # the new process died: its exit message drives the next attempt (with backoff)
        self.set_state("failed", f"{kind}: remediation did not recover the service")
        self.sup.incidents.set_state(incident_id, "failed", "remediation did not recover the service")

    def _remediating(self, kind: str, action: str, incident_id: str | None, summary: str, detail: dict[str, Any],
                     detected_at: float) -> str:
        """The incident, opened now if need be, in state remediating by `action`."""
        incident_id = self._incident_for(kind, incident_id, summary, detail, detected_at)
        self.sup.incidents.set_state(incident_id, "remediating", action)  # the next entry says how it went
        return incident_id

    def _incident_for(self, kind: str, incident_id: str | None, summary: str, detail: dict[str, Any],
                      detected_at: float) -> str:
        """This failure's incident: the one given (a retry), the open one of its kind (the failure
        came back while it was open, as a restarted process that exited again: its timeline says
        so, with the exit and the last output), or a new one."""
        if incident_id is not None:
            return incident_id
        incident_id = self.open_incident_id(kind)
        if incident_id is not None:
            self.sup.incidents.note(incident_id, "exit" if "exit_code" in detail else "detected", summary, detail)
            return incident_id
        return self.sup.incidents.open(kind, self.severity(kind), summary, service=self.name, check=kind,
                                       detail=detail, detected_at=detected_at).id

    def open_incident_id(self, kind: str) -> str | None:
        for incident in self.sup.incidents.open_incidents(self.name, kind):
            if incident.state != "escalated":
                return incident.id
        return None

    def resolve_open(self, kind: str, message: str, at: float) -> None:
        for incident in self.sup.incidents.open_incidents(self.name, kind):
            self.sup.incidents.resolve(incident.id, message, at=at)

    def severity(self, kind: str) -> str:
        return self.service.severity if kind in ("process_down", "port_in_use") else SEVERITY.get(kind, "medium")

    def perform(self, action: str, kind: str) -> ActionResult:
        if self.sup.dry_run:
            return ActionResult(action, True, f"dry run: would {action.replace('_', ' ')} ({self.describe(action)})")
        if action == "none":
            return ActionResult(action, True, "no remediation configured; watching")
        if action == "free_port":
            freed = self.free_port()
            if not freed.ok:
                return freed
            started = self.restart_process()
            return ActionResult(action, started.ok, f"{freed.message}; {started.message}", started.command,
                                started.pid, freed.duration_s + started.duration_s)
        if action == "restart":
            if kind == "port_in_use" and self.service.port and port_accepting(self.service.port):
                return ActionResult(action, False, f"port {self.service.port} is still held: not starting")
            return self.restart_process()
        if action.startswith("run:"):
            result = self.run(self.service.commands[action[4:]])
            return ActionResult(action, result.ok, _command_message(result), result)
        return ActionResult(action, False, f"unknown action {action!r}")

    def describe(self, action: str) -> str:
        if action == "restart":
            argv = self.service.command if self.service.mode == "managed" else (self.service.restart or
                                                                                 self.service.start)
            return " ".join(argv) or "no restart command"
        if action.startswith("run:"):
            return " ".join(self.service.commands.get(action[4:], []))
        return f"port {self.service.port}"

    def restart_process(self) -> ActionResult:
        self.restarts += 1
        self.restart_times.append(time.monotonic())
        if self.service.mode == "managed":
            if self.is_running():
                self.stop_process()
            return self.spawn()
        argv = self.service.restart or self.service.start
        if not argv:
            return ActionResult("restart", False, "watched service has no `restart` or `start` argv")
        # Not "running" while it starts: the check would take the missing process for a new failure
        # and queue a start of its own, a second incident once this one ends.
        self.set_state("starting", f"running {argv[0]}")
        result = self.run(argv, why_running=self._runs_inside)
        if not result.ok:
            return ActionResult("restart", False, _command_message(result), result)
        found = wait_until(self._adopt, self.service.start_timeout)
        message = _command_message(result) + ("" if found else "; no matching process appeared")
        return ActionResult("restart", bool(found), message, result, self.pid, result.duration_s)

    def free_port(self) -> ActionResult:
        """Kill a stale instance of this service holding its port, after verifying its identity."""
        start = time.monotonic()
        port = self.service.port
        if not port:
            return ActionResult("free_port", False, "no port configured")
        holders = procs.port_holders(port) or [None]
        for pid in holders:
            ok, why = procs.verify_identity(pid, self.service)
            if not ok:
                return ActionResult("free_port", False, f"left alone: {why}", pid=pid,
                                    duration_s=time.monotonic() - start)
        for pid in holders:
            assert pid is not None
            procs.terminate(pid, self.service.stop_timeout)
        freed = wait_until(lambda: not port_accepting(port, 0.1), self.service.stop_timeout)
        message = f"stopped stale holder PID {', '.join(map(str, holders))} (identity verified)"
        return ActionResult("free_port", bool(freed), message if freed else f"{message}, but the port stays busy",
                            pid=holders[0], duration_s=time.monotonic() - start)

    def crash_budget_spent(self) -> bool:
        window = self.service.restart_window
        now = time.monotonic()
        while self.restart_times and now - self.restart_times[0] > window:
            self.restart_times.popleft()
        return len(self.restart_times) >= self.service.restart_budget

    def backoff_delay(self) -> float:
        """Zero for the first restart; then doubling from backoff_initial up to backoff_max."""
        n = len(self.restart_times)
        return 0.0 if n == 0 else min(self.service.backoff_max, self.service.backoff_initial * 2 ** (n - 1))

    def _wait_or_interrupted(self, delay: float) -> bool:
        """Sleep the backoff; a stop/shutdown arriving meanwhile wins (True = interrupted)."""
        self.set_state("backoff", f"restarting in {delay:.2f}s")
        _release_db_connection()
        try:
            message = self.queue.get(timeout=delay)
        except queue.Empty:
            return False
        if message[0] in ("shutdown", "stop"):
            self.queue.put(message)
            return True
        self.queue.put(message)  # handled after this remediation
        return False

    def escalate(self, kind: str, incident_id: str | None, summary: str, detail: dict[str, Any],
                 detected_at: float) -> None:
        """Past the restart budget: stop trying, open crash_loop, run on_escalate, wait for a human.
        A process still running (restarted for a threshold, an HTTP check) is left running: stopping
        it would turn a degraded service into one that is down."""
        n = len(self.restart_times)
        running = self.is_running()
        message = (f"{n} restarts within {self.service.restart_window:g}s: "
                   + (f"restart loop ({kind}), service left running as it is" if running
                      else "crash loop, service left stopped"))
        incident_id = self._incident_for(kind, incident_id, summary, detail, detected_at)
        loop = self.sup.incidents.open("crash_loop", "critical", f"{self.name}: {message}", service=self.name,
                                       check="restart_budget", detail={"restarts": n, "caused_by": incident_id,
                                                                       "window_s": self.service.restart_window})
        self.sup.incidents.set_state(incident_id, "failed", f"escalated to crash_loop incident {loop.id}")
        self.sup.incidents.set_state(loop.id, "escalated", message)
        if self.service.on_escalate:
            result = self.run(self.service.on_escalate)
            self.sup.incidents.note(loop.id, "notify", f"on_escalate: {_command_message(result)}",
                                    result.to_dict())
        if not running:
            self.stop_process()
        self.escalated_incident = loop.id
        self.set_state("escalated", message)

    def rearm(self) -> None:
        self.restart_times.clear()
        self.counters = Counters()  # a limit still crossed is a new incident, not one already counted
        if self.state == "escalated":
            self.set_state("stopped", "re-armed")

    # ------------------------------------------------------------------ processes
    def spawn(self) -> ActionResult:
        start = time.monotonic()
        svc = self.service
        log_path = service_log(self.sup.paths.root, self.name)
        ensure_private_dir(log_path.parent)
        try:
            with open_private(log_path, "a") as out:
                log_start = os.fstat(out.fileno()).st_size  # this process's output starts here
                identity, login_env = procs.run_as(svc.user)
                popen = subprocess.Popen(svc.command, cwd=svc.cwd, env={**os.environ, **login_env, **svc.env},
                                         **identity, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True, shell=False)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            why = f"cannot start {svc.command[0]}: {exc}"
            if svc.user and getattr(exc, "errno", None) == errno.EPERM and os.geteuid() != 0:
                why += f" (to run a service as {svc.user}, grace-tui must run as root)"
            return ActionResult("restart", False, why, duration_s=time.monotonic() - start)
        except KeyError:  # the user, checked when the config was loaded, is gone since
            return ActionResult("restart", False, f"cannot start {svc.command[0]}: no such user {svc.user!r}",
                                duration_s=time.monotonic() - start)
        self.popen, self.pid, self.started_at = popen, popen.pid, time.time()
        self.log_start = log_start
        self.counters = Counters()  # a new process: its checks count afresh
        self.sup.exit_watcher.watch(popen.pid, self._exited)
        self.sup.sample_soon()
        return ActionResult("restart", True, f"spawned PID {popen.pid}", pid=popen.pid,
                            duration_s=time.monotonic() - start)

    def _exited(self, pid: int, detected_at: float) -> None:  # exit-watcher thread
        self.post("exit", pid, detected_at)
        if pid == self.pid:
            self._current_exited.set()  # wakes holds_up() at once

    def _adopt(self) -> bool:
        """Watched: find the process and watch it; True when running."""
        proc = procs.find_watched(self.service)
        if proc is None:
            return False
        if proc.pid != self.pid:
            self.pid = proc.pid
            self.counters = Counters()  # a new process: its checks count afresh
            try:
                self.started_at = proc.create_time()
            except psutil.Error:
                self.started_at = time.time()
            self.sup.exit_watcher.watch(proc.pid, self._exited)
            self.sup.sample_soon()
            self.set_state("running", f"watching PID {proc.pid}")
        return True

    def _adopt_left_running(self) -> bool:
        """Managed: take over the process an earlier supervisor spawned and left running (the PID
        and start time it recorded), with no restart and no incident. Restarting it would take the
        service down and open an incident at every supervisor restart -- an upgrade, say."""
        pid, started_at = self.left_running or (None, None)
        self.left_running = None  # at the first start only: later ones spawn
        proc = procs.recorded_process(pid, started_at)
        if proc is None:
            return False
        same, why = procs.verify_identity(proc.pid, self.service)
        if not same:  # a wrapper that exec'd its server, or the command edited while no supervisor ran
            log.warning("%s: adopting PID %d, left running by the previous supervisor, though %s; "
                        "`grace-tui service restart %s` starts the configured command", self.name, proc.pid, why,
                        self.name)
        self.pid, self.started_at, self.adopted = proc.pid, started_at, proc
        try:  # its output still goes to its log, which it opened for appending: attribute what follows
            self.log_start = service_log(self.sup.paths.root, self.name).stat().st_size
        except OSError:
            self.log_start = 0
        self.counters = Counters()
        self.sup.exit_watcher.watch(proc.pid, self._exited)
        self.sup.sample_soon()
        self.set_state("running", f"adopted PID {proc.pid}, left running by the previous supervisor")
        return True

    def is_running(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return procs.alive(self.pid)

    def verify(self) -> float | None:
        """Recovery = process alive and (if it has one) its port accepting. Returns when verified."""
        _release_db_connection()  # for the wait
        port, svc = self.service.port, self.service
        if port:
            def healthy() -> bool:
                if not (tcp_probe(port, 0.2, svc.accept_timeout).ok and self.is_running()):
                    return False
                return not svc.http_url or http_check(svc.http_url, svc.http_status, svc.http_timeout,
                                                      svc.http_tls_verify)[0]

            return wait_until(healthy, svc.start_timeout, self.is_running)
        ok = wait_until(lambda: False, min(0.1, self.service.min_uptime), self.is_running)
        return time.time() if ok is None and self.is_running() else None

    def holds_up(self) -> bool:
        """A verified recovery counts once the new process has lived min_uptime (supervisord's
        startsecs): one that crashes at start would otherwise be healed at every restart."""
        remaining = (self.started_at or 0.0) + self.service.min_uptime - time.time()
        if remaining > 0:
            self._current_exited.clear()
            if self.is_running():  # an exit from here on sets the event: the next attempt is not delayed
                _release_db_connection()  # for the wait
                self._current_exited.wait(remaining)
        return self.is_running()

    def stop_process(self) -> str:
        """Stop the service's process; returns why it still runs ("" when it stopped): a watched
        service's `stop` argv failed or returned with the process still there."""
        pid = self.pid
        if not pid:
            return ""
        self._ignore_exit.add(pid)
        _release_db_connection()  # for the wait
        if self.service.mode == "watched":  # not our child: its own `stop` argv, then see it gone
            result = self.run(self.service.stop) if self.service.stop else None
            gone = result is not None and wait_until(lambda: not procs.alive(pid), self.service.stop_timeout)
            self.sup.exit_watcher.unwatch(pid)
            self._ignore_exit.discard(pid)  # watched again if it still runs: its exit matters then
            self.pid = None
            if gone:
                return ""
            return f"{_command_message(result) if result else 'no `stop` argv'}; PID {pid} still runs"
        if self.popen is not None:
            try:
                os.killpg(pid, getattr(signal, f"SIG{self.service.stop_signal}"))  # our child leads its session
                os.killpg(pid, signal.SIGCONT)  # a stopped (hung) process must run to act on the signal
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.popen.wait(self.service.stop_timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                self.popen.wait()
        elif self.adopted is not None:
            procs.stop_adopted(self.adopted, getattr(signal, f"SIG{self.service.stop_signal}"),
                               self.service.stop_timeout)
        self.pid, self.popen = None, None
        return ""

    def run(self, argv: list[str], why_running: Callable[[int], str] | None = None) -> CommandResult:
        settings = self.sup.config.supervisor
        _release_db_connection()  # for as long as the command runs
        return run_argv(argv, settings.command_timeout, settings.output_limit, self.service.cwd, self.service.env,
                        why_running)

    def _runs_inside(self, command_pid: int) -> str:
        """Why a watched service's start command has not returned: it runs the service itself (the
        service's process is in the command's session, which the timeout kills)."""
        proc = procs.find_watched(self.service)
        try:
            inside = proc is not None and os.getsid(proc.pid) == command_pid
        except OSError:
            inside = False
        if not inside:
            return ""
        return (f"; the service (PID {proc.pid}) runs inside this command, in the foreground: a watched service's "
                f"start must return once the service runs; to have grace-tui run it, make it managed (`command`)")

    # ------------------------------------------------------------------ state
    def silenced(self) -> bool:
        return bool(self.silenced_until and time.time() < self.silenced_until)

    def set_state(self, state: str, message: str = "") -> None:
        if state != self.state:
            self.sup.metrics_changed()
            log.info("%s: %s%s%s", self.name, state, f", PID {self.pid}" if self.pid else "",
                     f" ({message})" if message else "")  # as supervisord's "spawned", "stopped" lines
        self.state = state
        if message:
            self.message = message
        self.sup.write_row(self)
        self.sup.events.publish("service", self.name, state)

    def row(self) -> dict[str, Any]:
        return dict(mode=self.service.mode, state=self.state, pid=self.pid, started_at=self.started_at,
                    restarts=self.restarts, port=self.service.port, message=self.message[:500],
                    silenced_until=self.silenced_until,
                    history={k: list(v) for k, v in self.history.items()}, **NO_SAMPLE, **self.last_sample)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exited"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _command_message(result: CommandResult) -> str:
    if result.error:
        return f"{' '.join(result.argv)}: {result.error}"
    return f"{' '.join(result.argv)} exited {result.exit_code} in {result.duration_s:.2f}s"


def _release_db_connection() -> None:
    """peewee keeps a SQLite connection per thread (130-170 kB: schema, page cache, WAL index). A
    service thread closes its own before it waits -- for a process, a port, a command, the next
    event -- so twenty services starting at once do not hold twenty through their start (1.6 MB,
    bench_supervisor). Reopening costs about 0.4 ms, and the restart has gone out before it."""
    try:
        if not database.is_closed():
            database.close()
    except Exception:
        pass  # in a transaction or not open: nothing to release

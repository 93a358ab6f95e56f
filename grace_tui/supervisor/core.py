"""The Supervisor: runs every service, its periodic checks and the host checks.

Exits are event driven (ExitWatcher); the periodic loop only does what cannot be
event driven (ports, HTTP, resources, disk/memory/load) at a modest interval.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any, Callable

from grace_tui.config.model import STOP_SIGNALS, Config, ServiceConfig
from grace_tui.errors import UserError
from grace_tui.events import Event, EventBus
from grace_tui.incidents import IncidentLog
from grace_tui.paths import StatePaths
from grace_tui.registry import services as service_rows
from grace_tui.registry.db import database, log_failure
from grace_tui.supervisor import host as host_checks
from grace_tui.supervisor import procs
from grace_tui.supervisor.exitwatch import ExitWatcher
from grace_tui.supervisor.logs import rotate_if_big, service_log
from grace_tui.supervisor.metrics import MetricsExporter
from grace_tui.supervisor.probes import TcpProbe, ephemeral_port_warning, http_check, tcp_probe
from grace_tui.supervisor.service import ServiceRunner

log = logging.getLogger(__name__)
METRICS_SETTLE_S = 0.5
# The round at start finds the services still starting: the next one comes this soon, so the pane
# shows their CPU and RSS (and a port that does not answer) within seconds, not a check_interval later.
SECOND_ROUND_S = 2.0
ChooseAction = Callable[[ServiceConfig, str, list[str]], str]


class Supervisor:
    def __init__(self, config: Config, incidents: IncidentLog, paths: StatePaths, events: EventBus | None = None,
                 *, dry_run: bool = False):
        self.config = config
        self.incidents = incidents
        self.paths = paths
        self.events = events or incidents.events
        self.dry_run = dry_run or config.supervisor.dry_run
        self.choose_action: ChooseAction | None = None  # governance's bandit plugs in here
        self.exit_watcher = ExitWatcher()
        self.runners: dict[str, ServiceRunner] = {}
        self.host = host_checks.HostMonitor(self)
        self.metrics = MetricsExporter(self)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._kick = threading.Event()  # wakes the check loop: to write the metrics, or to check now
        self._checks_now = False
        self._sample_soon = False
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        left = {row.name: (row.pid, row.started_at) for row in service_rows.list_services(with_history=False)
                if row.mode == "managed" and row.pid}  # what the last supervisor of this state dir ran
        self._stop_removed_left_running(left)
        service_rows.remove_services_except(list(self.config.services))
        self._close_incidents_of_removed()  # services dropped from the config while the daemon was down
        self._unsubscribe = self.events.subscribe(self._on_event)
        with self._lock:
            for name, service in self.config.services.items():
                self._add(service, left.get(name))
        self._thread = threading.Thread(target=self._check_loop, name="grace-checks", daemon=True)
        self._thread.start()
        self.metrics.start()
        log.info("supervising %d service(s)%s", len(self.runners), " (dry run)" if self.dry_run else "")

    def stop(self, leave_running: bool | None = None) -> None:
        leave = (not self.config.supervisor.stop_services_on_exit) if leave_running is None else leave_running
        self._stop.set()
        self._kick.set()
        if self._unsubscribe:
            self._unsubscribe()
        with self._lock:
            runners = list(self.runners.values())
        for runner in runners:
            runner.ask_shutdown(leave)
        for runner in runners:
            if runner._thread.ident is not None:  # started
                runner._thread.join(30)
        if self._thread:
            self._thread.join(10)
        try:
            self.metrics.write(force=True)  # the services as they were left, not as they last ran
        except Exception:
            log_failure(log, "writing the metrics file")
        self.metrics.stop()
        self.exit_watcher.close()

    def _add(self, service: ServiceConfig, left_running: tuple[int | None, float | None] | None = None) -> None:
        if warning := ephemeral_port_warning(service.name, service.port):
            log.warning("%s", warning)
        runner = ServiceRunner(self, service, left_running)
        self.runners[service.name] = runner
        runner.set_state("stopped", "configured")
        runner.start()

    # ------------------------------------------------------------------ config
    def apply_config(self, config: Config) -> dict[str, list[str]]:
        """Apply a validated config: start added services, restart changed ones, leave the rest alone."""
        with self._lock:
            old = self.runners
            added = [n for n in config.services if n not in old]
            removed = [n for n in old if n not in config.services]
            changed = [n for n in config.services if n in old and old[n].service != config.services[n]]
            self.config = config
            self.dry_run = self.dry_run or config.supervisor.dry_run
            for name in removed + changed:
                self.runners.pop(name).shutdown(leave_running=False)
            service_rows.remove_services_except(list(config.services))
            self._close_incidents_of_removed()
            for name in added + changed:
                self._add(config.services[name])
        self.metrics.reconfigure()
        summary = {"added": added, "removed": removed, "changed": changed}
        log.info("config applied: %s", "; ".join(f"{what} {', '.join(names)}" for what, names in summary.items()
                                                 if names) or "no service changed")
        self.events.publish("config", "applied", summary)
        self.check_now()
        return summary

    def check_now(self) -> None:
        self._checks_now = True
        self._kick.set()

    def sample_soon(self) -> None:
        """A new process: its CPU and RSS in a moment, not up to a check interval later (a
        restarted service shows none of its old process's figures meanwhile)."""
        self._sample_soon = True
        self._kick.set()

    def metrics_changed(self) -> None:
        """A service's state or an incident changed: write the metrics file in a moment, not at the
        next check round, up to check_interval later."""
        self.metrics.dirty = True
        self._kick.set()

    def _stop_removed_left_running(self, left: dict[str, tuple[int | None, float | None]]) -> None:
        """A managed service removed from the config while no supervisor ran is stopped, as removing
        it live would: the process the last supervisor left running, if it is still the one recorded
        (PID and start time). Otherwise nothing would ever stop it, or show it."""
        for name, (pid, started_at) in left.items():
            proc = None if name in self.config.services else procs.recorded_process(pid, started_at)
            if proc is None:
                continue
            if self.dry_run:
                log.info("%s: removed from the config; dry run: PID %d left running", name, proc.pid)
                continue
            log.info("%s: removed from the config while no supervisor ran: stopping PID %d", name, proc.pid)
            procs.stop_adopted(proc, signal.SIGTERM, ServiceConfig.stop_timeout)

    def _close_incidents_of_removed(self) -> None:
        """An incident of a service no longer in the config can never be verified: end it, saying why."""
        for incident in self.incidents.open_incidents():
            if incident.service and incident.service not in self.config.services:
                self.incidents.set_state(incident.id, "failed", f"service {incident.service} was removed from the "
                                                                "config: closed without a verified recovery")

    def config_rejected(self, error: str) -> None:
        self.events.publish("config", "rejected", error)

    # ------------------------------------------------------------------ actions
    def pick_action(self, service: ServiceConfig, kind: str, actions: list[str]) -> str:
        if self.choose_action is not None:
            try:
                chosen = self.choose_action(service, kind, actions)
                if chosen in actions:
                    return chosen
            except Exception:
                log.exception("choose_action hook failed; using the first action")
        return actions[0]

    def retry(self, incident_id: str) -> str:
        from grace_tui.errors import UserError

        incident = self.incidents.get(incident_id)
        if incident.state == "resolved":
            raise UserError(f"incident {incident_id} is already resolved")
        runner = self.runners.get(incident.service or "")
        if runner is None:
            raise UserError(f"incident {incident_id} has no supervised service to retry")
        runner.post("retry", incident_id)
        return f"retrying {runner.name} ({incident.kind})"

    def silence(self, incident_id: str, seconds: float) -> str:
        incident = self.incidents.get(incident_id)
        until = time.time() + float(seconds)
        runner = self.runners.get(incident.service or "")
        if runner is not None:
            runner.silenced_until = until
            runner.set_state(runner.state, f"silenced for {seconds:g}s")
        self.incidents.note(incident_id, "silence", f"silenced for {seconds:g}s", {"until": until})
        return f"silenced {incident.service or incident.kind} for {seconds:g}s"

    def start_service(self, name: str) -> None:
        self._runner(name).post("start_requested")

    def stop_service(self, name: str) -> None:
        runner = self._runner(name)
        if runner.service.mode == "watched" and not runner.service.stop:
            raise UserError(f"{name} is watched and has no `stop` argv: grace-tui stops a process it did not "
                            "start only the service's own way")
        runner.post("stop")

    def signal_service(self, name: str, signame: str) -> str:
        """Send a signal to the service's process (as `supervisorctl signal`: HUP to reload nginx, say).
        The process alone, not its group: a server's master passes it on as it sees fit."""
        runner = self._runner(name)
        if signame not in STOP_SIGNALS:
            raise UserError(f"signal {signame!r}: one of {', '.join(STOP_SIGNALS)}")
        pid = runner.pid
        if not pid or not runner.is_running():
            raise UserError(f"{name} is not running ({runner.state})")
        procs.send_signal(pid, getattr(signal, f"SIG{signame}"))
        return f"sent {signame} to {name} (PID {pid})"

    def restart_service(self, name: str) -> None:
        """A watched service's `restart` argv, or a stop then a start (in order, on its thread)."""
        runner = self._runner(name)
        service = runner.service
        if service.mode == "watched" and not service.restart and not (service.stop and service.start):
            raise UserError(f"{name} is watched and has no `restart` argv (nor `stop` and `start`): grace-tui "
                            "restarts a process it did not start only the service's own way")
        runner.post("restart_requested")

    def _runner(self, name: str) -> ServiceRunner:
        if name not in self.runners:
            raise UserError(f"unknown service {name!r}")
        return self.runners[name]

    def _on_event(self, event: Event) -> None:
        """Acknowledging a crash_loop incident re-arms its service."""
        if event.topic != "incident":
            return
        self.metrics_changed()
        for runner in list(self.runners.values()):
            if runner.escalated_incident == event.key and runner.state == "escalated":
                try:
                    if self.incidents.get(event.key).acknowledged:
                        runner.post("rearm")
                except Exception:
                    log_failure(log, "checking acknowledgement of %s", event.key)

    # ------------------------------------------------------------------ views
    def services_snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"name": r.name, **r.row()} for r in self.runners.values()]

    def service_views(self) -> list[service_rows.ServiceView]:
        """What the registry's rows say, read from memory: the metric sampler's source in an engine."""
        with self._lock:
            runners = list(self.runners.values())
        return [service_rows.ServiceView(
            r.name, r.service.mode, r.state, r.pid, r.started_at, r.restarts, r.service.port,
            r.last_sample.get("cpu_pct"), r.last_sample.get("rss_bytes"), r.last_sample.get("num_fds"),
            r.last_sample.get("connect_ms"), r.message) for r in runners]

    def write_row(self, runner: ServiceRunner) -> None:
        try:
            service_rows.upsert_service(runner.name, **runner.row())
        except Exception:
            log_failure(log, "writing the state of %s", runner.name)

    # ------------------------------------------------------------------ periodic checks
    def _check_loop(self) -> None:
        """One thread runs the periodic checks: service checks every check_interval, host
        checks every host_check_interval, sleeping until whichever is due next. A config change
        runs the service checks at once; a changed state or incident wakes it to write the
        metrics file."""
        next_services = next_host = 0.0
        service_rounds = host_rounds = 0
        while not self._stop.is_set():
            now = time.monotonic()
            # Each round is scheduled before it runs: one that fails (a full disk) comes again at its
            # next time, not at once -- which spun this loop, logging the failure thousands of times a second.
            if now >= next_services:
                service_rounds += 1
                next_services = now + _after(service_rounds, self.config.supervisor.check_interval)
                _guarded("service checks", self._check_services)
                _guarded("log rotation", self._rotate_logs)
            if self.config.host.enabled and now >= next_host:
                host_rounds += 1
                next_host = now + _after(host_rounds, self.config.supervisor.host_check_interval)
                _guarded("host checks", self.host.check)  # CPU % needs two readings: the first round cannot show it
            _guarded("writing the metrics file", self.metrics.write)
            due = min(next_services, next_host) if self.config.host.enabled else next_services
            if self._kick.wait(max(0.0, due - time.monotonic())):
                self._kick.clear()
                if self._sample_soon:
                    self._sample_soon = False
                    next_services = min(next_services, time.monotonic() + SECOND_ROUND_S)
                if self._checks_now:
                    self._checks_now = False
                    next_services = 0.0
                else:  # metrics to write: one write for the burst (an incident's open, remediation, verification...)
                    self._stop.wait(METRICS_SETTLE_S)

    def _check_services(self) -> None:
        samples = {}
        for runner in list(self.runners.values()):
            sample = self.check_service(runner)
            if sample is not None:
                samples[runner.name] = sample
        if not samples:
            return
        with database.atomic():  # one write for the whole round
            service_rows.record_samples(samples)
        self.events.publish("service", "samples", sorted(samples))  # a view redraws CPU and RSS

    def _rotate_logs(self) -> None:
        settings = self.config.supervisor
        for runner in list(self.runners.values()):
            if runner.service.mode != "managed":
                continue
            path = service_log(self.paths.root, runner.name)
            try:
                if rotate_if_big(path, int(settings.log_max_mb * 1024 * 1024), settings.log_backups):
                    log.info("%s: output log rotated past %g MB", runner.name, settings.log_max_mb)
            except OSError:
                log_failure(log, "rotating %s", path)

    def check_service(self, runner: ServiceRunner) -> dict[str, Any] | None:
        """Run a service's periodic checks; returns the sample to record (None when not running)."""
        svc = runner.service
        now = time.time()
        if runner.state in ("stopped", "escalated", "failed", "backoff", "starting") and svc.mode == "managed":
            return None
        if svc.mode == "watched" and runner.state != "running":
            if runner.state != "escalated":
                runner.post_once("look")
            return None
        pid = runner.pid
        if not runner.is_running():
            if svc.mode == "watched":
                runner.post_once("start", "process gone")
            elif pid is not None:  # a safety net: the exit watcher reports it within milliseconds
                runner.post_once("found_dead", pid)
            return None
        sample: dict[str, Any] = {}
        # A failure is detected when its probe has answered, not when the round began: a timeout takes seconds.
        if svc.port:
            probe = tcp_probe(svc.port, svc.connect_timeout, svc.accept_timeout)
            sample["connect_ms"] = probe.connect_ms
            self._threshold(runner, "port_unreachable", not probe.ok,
                            svc.failures_before_incident, time.time(), lambda: _port_words(runner.name, svc, probe))
        if svc.http_url:
            ok, what = http_check(svc.http_url, svc.http_status, svc.http_timeout, svc.http_tls_verify)
            self._threshold(runner, "http_unhealthy", not ok, svc.failures_before_incident, time.time(), lambda: (
                f"{runner.name}: {what}", {"url": svc.http_url, "result": what}, f"HTTP check passes: {what}"))
        sample.update(self._resources(runner, now))
        if runner.pid != pid:  # restarted or stopped meanwhile: these figures were the old process's
            return None
        runner.last_sample = sample
        return {**sample, "history": {k: list(v) for k, v in runner.history.items()}}

    def _resources(self, runner: ServiceRunner, now: float) -> dict[str, Any]:
        svc = runner.service
        used = procs.usage(runner.pid) if runner.pid else None
        if used is None:
            return {}  # gone meanwhile: its exit is on its way
        cpu = runner.cpu_meter.percent(runner.pid, used)
        rss = used.rss_bytes
        fds = procs.open_fds(runner.pid)  # None: another user's process, not ours to look into
        runner.history["cpu"].append(round(cpu, 2))
        runner.history["rss"].append(rss)
        breaches = []
        if svc.cpu_max_pct is not None and cpu > svc.cpu_max_pct:
            breaches.append(f"CPU {cpu:.1f}% > {svc.cpu_max_pct:g}%")
        if svc.rss_max_mb is not None and rss > svc.rss_max_mb * 1024 * 1024:
            breaches.append(f"RSS {rss / 1048576:.1f} MB > {svc.rss_max_mb:g} MB")
        if svc.fds_max is not None and fds is not None and fds > svc.fds_max:
            breaches.append(f"{fds} open fds > {svc.fds_max}")
        self._threshold(runner, "resource_threshold", bool(breaches), svc.threshold_samples, now, lambda: (
            f"{runner.name}: {', '.join(breaches)} for {svc.threshold_samples} samples",
            {"cpu_pct": cpu, "rss_bytes": rss, "num_fds": fds}, _within_limits(svc, cpu, rss, fds)))
        return {"cpu_pct": round(cpu, 2), "rss_bytes": rss, "num_fds": fds}

    def _threshold(self, runner: ServiceRunner, kind: str, failed: bool, needed: int, now: float,
                   describe: Callable[[], tuple[str, dict[str, Any], str]]) -> None:
        """Count consecutive failures; N in a row opens the incident, the first pass closes it.
        `describe()` gives (summary, detail, what passing verified), put in words only when needed.

        `runner.open_checks` remembers the kinds that may have an open incident, including ones
        opened before a restart or config change re-created the runner with fresh counters."""
        count = runner.counters.bump(kind, failed)
        if failed and count == needed:
            summary, detail, _ = describe()
            runner.open_checks.add(kind)
            runner.post("check_failed", kind, summary, detail, now)
        elif not failed and kind in runner.open_checks:
            _, detail, passing = describe()
            runner.open_checks.discard(kind)
            runner.post("check_ok", kind, passing, detail)


def _guarded(what: str, step: Callable[[], object]) -> None:
    """A step of the periodic round: its failure is logged, and the other steps still run."""
    try:
        step()
    except Exception:
        log_failure(log, "%s failed", what)


def _after(rounds: int, interval: float) -> float:
    """Seconds to the next round: the second comes soon after the first, at start."""
    return min(SECOND_ROUND_S, interval) if rounds == 1 else interval


def _port_words(name: str, svc: ServiceConfig, probe: TcpProbe) -> tuple[str, dict[str, Any], str]:
    """(summary, detail, what passing verified) of a port check."""
    if probe.connect_ms is None:
        return f"{name}: port {svc.port} does not accept connections", {"port": svc.port}, ""
    if probe.accepted is False:
        return (f"{name}: port {svc.port} completes the handshake, but the process did not accept() the connection "
                f"within {svc.accept_timeout:g}s (hung?)",
                {"port": svc.port, "connect_ms": round(probe.connect_ms, 3), "accept_timeout_s": svc.accept_timeout},
                "")
    accepted = ", accepted by the process" if probe.accepted else ""
    return "", {"port": svc.port}, f"port {svc.port} accepts connections ({probe.connect_ms:.1f} ms{accepted})"


def _within_limits(svc: ServiceConfig, cpu: float, rss: int, fds: int | None) -> str:
    """What a passing resource check verified, e.g. "RSS 20.8 MB now below 21.8 MB"."""
    parts = []
    if svc.cpu_max_pct is not None:
        parts.append(f"CPU {cpu:.1f}% now below {svc.cpu_max_pct:g}%")
    if svc.rss_max_mb is not None:
        parts.append(f"RSS {rss / 1048576:.1f} MB now below {svc.rss_max_mb:g} MB")
    if svc.fds_max is not None and fds is not None:
        parts.append(f"{fds} open fds now within {svc.fds_max}")
    return ", ".join(parts) or "no resource limit configured any more"

"""A live end-to-end drill: supervise a throwaway TCP echo service, SIGKILL it N
times, block its port once with a stale instance, and measure each recovery from
the incidents the supervisor recorded."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from grace_tui.config import config_from_dict
from grace_tui.incidents import IncidentLog
from grace_tui.paths import StatePaths
from grace_tui.registry import Registry
from grace_tui.registry import incidents as store
from grace_tui.reports.healing import percentile
from grace_tui.supervisor import Supervisor
from grace_tui.supervisor.probes import port_accepting, wait_until

ECHO = str(Path(__file__).with_name("echo.py"))
SERVICE = "drill-echo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drill_config(port: int) -> dict[str, Any]:
    return {
        "supervisor": {"check_interval": 60.0},
        "host": {"enabled": False},
        "services": {SERVICE: {"command": [sys.executable, "-I", ECHO, str(port)], "port": port,
                               "min_uptime": 0.3, "start_timeout": 10.0, "severity": "low"}},
    }


def _wait_incident(kind: str, since: float, timeout: float = 20.0) -> store.IncidentView | None:
    found: list[store.IncidentView] = []

    def ended() -> bool:
        found[:] = [i for i in store.list_incidents(20, since=since - 0.001) if i.kind == kind
                    and i.state in ("resolved", "failed", "escalated")]
        return bool(found)

    wait_until(ended, timeout)
    return found[0] if found else None


def run_drill(paths: StatePaths, registry: Registry, trials: int,
              progress: Callable[[dict[str, Any]], None] = lambda _t: None) -> dict[str, Any]:
    port = free_port()
    config = config_from_dict(drill_config(port), source="<drill>")
    supervisor = Supervisor(config, IncidentLog(registry, paths), paths, registry.events)
    supervisor.start()
    runner = supervisor.runners[SERVICE]
    results: list[dict[str, Any]] = []
    try:
        if not wait_until(lambda: runner.state == "running" and port_accepting(port), 20):
            raise RuntimeError(f"the drill service did not come up on 127.0.0.1:{port}")
        for _ in range(trials):
            wait_until(lambda: runner.state == "running", 20)
            time.sleep(0.35)  # let it live past min_uptime, as a healthy service would
            pid = runner.pid
            killed_at = time.time()
            os.kill(pid, signal.SIGKILL)
            results.append(_trial("process_down", killed_at, _wait_incident("process_down", killed_at)))
            progress(results[-1])
        results.append(_port_trial(supervisor, runner, config.services[SERVICE].command, port))
        progress(results[-1])
    finally:
        supervisor.stop(leave_running=False)
    mttr = [t["mttr_s"] for t in results if t["resolved"]]
    detect = [t["detect_s"] for t in results if t["detect_s"] is not None]
    return {
        "port": port,
        "trials": results,
        "mttr_min_s": min(mttr) if mttr else None,
        "mttr_median_s": statistics.median(mttr) if mttr else None,
        "mttr_p90_s": percentile(mttr, 0.9),
        "mttr_max_s": max(mttr) if mttr else None,
        "detect_median_s": statistics.median(detect) if detect else None,
        "resolved": len(mttr),
        "state_dir": str(paths.root),
    }


def _trial(kind: str, started: float, incident: store.IncidentView | None) -> dict[str, Any]:
    if incident is None:
        return {"kind": kind, "detect_s": None, "mttr_s": None, "resolved": False, "incident": None}
    return {"kind": kind, "detect_s": max(0.0, incident.detected_at - started), "mttr_s": incident.mttr_s,
            "resolved": incident.state == "resolved", "incident": incident.id}


def _port_trial(supervisor: Supervisor, runner, argv: list[str], port: int) -> dict[str, Any]:
    """Stop the service, start a stale copy outside supervision, ask the supervisor to start it."""
    supervisor.stop_service(SERVICE)
    wait_until(lambda: runner.state == "stopped" and not port_accepting(port), 20)
    stale = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        wait_until(lambda: port_accepting(port), 20)
        started = time.time()
        supervisor.start_service(SERVICE)
        result = _trial("port_in_use", started, _wait_incident("port_in_use", started))
        result["stale_pid"] = stale.pid
        return result
    finally:
        if stale.poll() is None:
            try:
                stale.wait(5)  # freed by the supervisor: reap it
            except subprocess.TimeoutExpired:
                stale.kill()
                stale.wait()

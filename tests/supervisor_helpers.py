"""Shared helpers for the supervisor tests: real processes, real sockets, temp state."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from grace_tui.config import config_from_dict
from grace_tui.engine import Engine
from grace_tui.incidents import IncidentLog
from grace_tui.paths import StatePaths
from grace_tui.registry import Registry
from grace_tui.supervisor import Supervisor
from grace_tui.supervisor.drill import ECHO
from grace_tui.supervisor.probes import connect

PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until `condition()` is truthy; fail after a generous deadline (no timing asserted)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def echo_argv(port: int, *extra: str) -> list[str]:
    return [PY, "-I", ECHO, str(port), *extra]


def banner_pid(port: int) -> int | None:
    """The PID the echo service on `port` reports, or None if nothing answers. `connect` never
    keeps a connection that reached itself, which would hold the port (ephemeral) for 60 s."""
    try:
        with connect(("127.0.0.1", port), timeout=1) as s:
            s.settimeout(1)
            line = s.recv(100).decode()
        return int(line.split()[1]) if line.startswith("PID ") else None
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def stopped(pid: int) -> Iterator[None]:
    """The process hangs (SIGSTOP) for the block, and is let go afterwards if it is still there."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def base_config(services: dict[str, dict[str, Any]], **supervisor: Any) -> dict[str, Any]:
    return {"supervisor": {"check_interval": 60.0, **supervisor}, "host": {"enabled": False},
            "services": services}


class Harness:
    """A Supervisor over a fresh registry in tmp_path."""

    def __init__(self, tmp_path: Path, config: dict[str, Any], dry_run: bool = False):
        self.paths = StatePaths(tmp_path / "state").ensure()
        self.registry = Registry.open(self.paths.root)
        self.incidents = IncidentLog(self.registry, self.paths)
        self.config = config_from_dict(config, source="<test>")
        self.sup = Supervisor(self.config, self.incidents, self.paths, self.registry.events, dry_run=dry_run)

    def __enter__(self) -> "Harness":
        self.sup.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.sup.stop(leave_running=False)
        self.registry.close()

    def runner(self, name: str):
        return self.sup.runners[name]

    def incidents_of(self, kind: str):
        return [i for i in self.incidents.recent(100) if i.kind == kind]

    def ended(self, kind: str):
        return [i for i in self.incidents_of(kind) if i.state in ("resolved", "failed", "escalated")]


@contextmanager
def running_engine(tmp_path: Path, path: Path, *, watch_config: bool = True) -> Iterator[Engine]:
    """An engine on the config file `path` with its own state dir; its services stopped afterwards."""
    paths = StatePaths(tmp_path / "state").ensure()
    registry = Registry.open(paths.root)
    engine = Engine(paths, registry, path)
    engine.start(watch_config=watch_config)
    try:
        yield engine
    finally:
        engine.stop(leave_running=False)
        registry.close()

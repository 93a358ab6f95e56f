"""The typed config: what the supervisor, learning and governance read."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INCIDENT_KINDS = ("process_down", "port_unreachable", "port_in_use", "http_unhealthy", "resource_threshold",
                  "crash_loop", "disk_low", "memory_low", "load_high")
# What a service does about each kind unless its config says otherwise.
DEFAULT_REMEDIATION: dict[str, list[str]] = {
    "process_down": ["restart"],
    "port_unreachable": ["restart"],
    "port_in_use": ["free_port", "restart"],
    "http_unhealthy": ["restart"],
    "resource_threshold": ["restart"],
}
BUILTIN_ACTIONS = ("restart", "free_port", "none")  # plus "run:NAME" for a [services.X.commands] argv


@dataclass
class ServiceConfig:
    name: str
    mode: str  # managed (we start and own it) | watched (an existing process)
    command: list[str] = field(default_factory=list)
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    pidfile: str | None = None
    process_name: str | None = None
    cmdline_pattern: str | None = None
    start: list[str] = field(default_factory=list)
    restart: list[str] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    port: int | None = None
    connect_timeout: float = 1.0
    accept_timeout: float = 0.0  # > 0: the process must also accept() the check's connection
    http_url: str | None = None
    http_status: int = 200
    http_timeout: float = 2.0
    http_tls_verify: bool = True  # false: accept a self-signed certificate (a local health endpoint)
    cpu_max_pct: float | None = None
    rss_max_mb: float | None = None
    fds_max: int | None = None
    threshold_samples: int = 3
    failures_before_incident: int = 2
    start_timeout: float = 10.0
    stop_timeout: float = 5.0
    stop_signal: str = "TERM"  # sent to the process group to stop it (nginx: QUIT stops it gracefully)
    min_uptime: float = 1.0  # a process that lived this long was healthy: its exit resets the backoff, and
    # an incident is resolved once the restarted process has lived this long
    restart_budget: int = 5
    restart_window: float = 60.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    on_escalate: list[str] = field(default_factory=list)
    commands: dict[str, list[str]] = field(default_factory=dict)
    remediation: dict[str, list[str]] = field(default_factory=dict)
    severity: str = "high"
    autostart: bool = True

    def actions_for(self, kind: str) -> list[str]:
        return list(self.remediation.get(kind, DEFAULT_REMEDIATION.get(kind, [])))


@dataclass
class SupervisorSettings:
    check_interval: float = 30.0  # port, HTTP and resource checks (exits are event driven)
    host_check_interval: float = 30.0
    stop_services_on_exit: bool = True
    dry_run: bool = False
    metrics_port: int | None = None  # serve metrics on metrics_bind:PORT when set
    metrics_bind: str = "127.0.0.1"
    output_limit: int = 4096  # bytes of a command's output kept in the timeline
    command_timeout: float = 30.0
    history: int = 60  # resource samples kept per service for sparklines
    log_max_mb: float = 50.0  # a managed service's STATE/logs/NAME.log is rotated past this (as supervisord)
    log_backups: int = 10  # rotated copies kept: NAME.log.1 ... NAME.log.N


@dataclass
class HostChecks:
    enabled: bool = True
    mounts: list[str] = field(default_factory=lambda: ["/"])
    disk_min_free_pct: float = 10.0
    memory_min_available_pct: float = 5.0
    load_max_per_cpu: float | None = 4.0
    samples: int = 3  # consecutive bad samples before an incident


@dataclass
class GovernanceBounds:
    """`[governance]`: how far a learned change may go before a person must approve it."""

    auto_approve: bool = True
    max_threshold_change_pct: float = 20.0
    max_sensitivity_change_pct: float = 20.0


# The pane's actions a `[tui] keys` table may rebind (the Binding ids in tui/app.py),
# with their default keys; kept here so the config is checked without importing Textual.
STOP_SIGNALS = ("TERM", "INT", "QUIT", "HUP", "USR1", "USR2", "KILL")  # as supervisord's stopsignal
SERVICE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")  # also a file name: STATE/logs/NAME.log

PANE_KEYS = {
    "quit": "q", "help": "question_mark", "filter": "slash", "detail": "enter", "acknowledge": "a", "retry": "r",
    "silence": "s", "approve": "y", "reject": "n", "cancel-job": "c", "theme": "t", "next-panel": "tab",
    "prev-panel": "shift+tab", "reload-config": "R", **{f"panel-{n}": str(n) for n in range(1, 7)},
    # On a service. `r` and `s` also mean retry and silence: each key acts on the selected row's kind.
    "start-service": "s", "stop-service": "x", "restart-service": "r", "service-log": "l",
}


@dataclass
class PaneSettings:
    """`[tui]`: `keys = { acknowledge = "A", retry = "ctrl+r" }` rebinds the pane's keys."""

    keys: dict[str, str] = field(default_factory=dict)


@dataclass
class Config:
    services: dict[str, ServiceConfig] = field(default_factory=dict)
    supervisor: SupervisorSettings = field(default_factory=SupervisorSettings)
    host: HostChecks = field(default_factory=HostChecks)
    learning: dict[str, Any] = field(default_factory=dict)
    governance: dict[str, Any] = field(default_factory=dict)
    tui: PaneSettings = field(default_factory=PaneSettings)
    source_path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data (what the TOML said), for overrides and re-validation."""
        return copy.deepcopy(self.raw)

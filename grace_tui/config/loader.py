"""Load, discover and validate the TOML config into typed dataclasses.

Every problem becomes `FILE:LINE: field: message`; all of them are collected so
`grace-tui config check` can print the lot, and nothing raises a traceback.
"""

from __future__ import annotations

import os
import pwd
import re
import tomllib
from dataclasses import fields as dc_fields
from pathlib import Path
from typing import Any, Callable

from grace_tui.config.locate import Locator
from grace_tui.config.model import (BUILTIN_ACTIONS, INCIDENT_KINDS, PANE_KEYS, SERVICE_NAME, STOP_SIGNALS, Config,
                                    GovernanceBounds, HostChecks, PaneSettings, ServiceConfig, SupervisorSettings)
from grace_tui.errors import ConfigError
from grace_tui.learning.settings import problems as learning_problems
from grace_tui.paths import config_dir

SYSTEM_CONFIG = Path("/etc/grace-tui/config.toml")
SEVERITIES = ("info", "low", "medium", "high", "critical")
ARGV_FIELDS = {"command", "start", "restart", "stop", "on_escalate"}
_KEY = r"((ctrl|alt|shift|super|meta|hyper)\+)*([A-Za-z0-9_]+|[!-~])"  # Textual's key names: "A", "ctrl+r", "f5"
_KEYS = re.compile(rf"^{_KEY}(,{_KEY})*$")


class ConfigInvalid(ConfigError):
    """One or more `FILE:LINE: field: message` errors."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        more = f" (and {len(errors) - 1} more; see `grace-tui config check`)" if len(errors) > 1 else ""
        super().__init__(errors[0] + more)


# ---------------------------------------------------------------------- discovery
def find_config_path(explicit: Path | None = None) -> Path | None:
    """--config, else $GRACE_TUI_CONFIG, else $XDG_CONFIG_HOME/grace-tui/config.toml, else
    /etc/grace-tui/config.toml (the first two must exist: a typo is an error, not the default)."""
    if explicit is not None:
        return Path(explicit).expanduser()
    if os.environ.get("GRACE_TUI_CONFIG"):
        return Path(os.environ["GRACE_TUI_CONFIG"]).expanduser()
    for candidate in (config_dir() / "config.toml", SYSTEM_CONFIG):
        if candidate.is_file():
            return candidate
    return None


# How a watched service is found and driven; a managed one is its own child, started from `command`
WATCHED_ONLY = ("pidfile", "process_name", "cmdline_pattern", "start", "restart", "stop")


def load_config(path: Path | None = None) -> Config:
    """Load `path` (or the discovered file); the built-in host-only default when there is none."""
    found = find_config_path(path)
    if found is None:
        return config_from_dict({}, source="<built-in default>")
    try:
        text = found.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigInvalid([f"{found}:0: config: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigInvalid([f"{found}:0: config: cannot read: {getattr(exc, 'strerror', None) or exc}"]) from None
    return config_from_text(text, source=str(found), path=found)


def config_from_text(text: str, source: str, path: Path | None = None) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = match.group(1) if match else str(max(1, len(text.splitlines())))  # "at end of document"
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigInvalid([f"{source}:{line}: toml: {message}"]) from None
    return config_from_dict(data, source=source, text=text, path=path)


def config_from_dict(data: dict[str, Any], source: str = "<dict>", text: str = "",
                     path: Path | None = None) -> Config:
    """Validate plain data (parsed TOML, or to_dict() with overrides) into a Config."""
    v = _Validator(source, Locator(text))
    config = v.config(data)
    if v.errors:
        raise ConfigInvalid(v.errors)
    config.source_path = path
    config.raw = data
    return config


# ---------------------------------------------------------------------- validation
class _Validator:
    def __init__(self, source: str, locator: Locator):
        self.source = source
        self.locator = locator
        self.errors: list[str] = []

    def error(self, path: tuple[str, ...], message: str) -> None:
        self.errors.append(f"{self.source}:{self.locator.line(path)}: {'.'.join(path)}: {message}")

    def config(self, data: dict[str, Any]) -> Config:
        known = {"supervisor", "host", "services", "learning", "governance", "tui"}
        for key in data:
            if key not in known:
                self.error((key,), f"unknown section; expected one of {', '.join(sorted(known))}")
        config = Config()
        config.supervisor = self.settings(self.table(data, ("supervisor",)), ("supervisor",), SupervisorSettings)
        config.host = self.settings(self.table(data, ("host",)), ("host",), HostChecks)
        for mount in config.host.mounts if config.host.enabled else []:
            if isinstance(mount, str) and not os.path.isdir(mount):  # a typo would watch nothing, silently
                self.error(("host", "mounts"), f"{mount}: no such directory on this host")
        config.learning = self.table(data, ("learning",))  # kept as written; the learning part reads it
        for path, message in learning_problems(config.learning):
            self.error(path, message)
        config.governance = self.table(data, ("governance",))  # kept as written; governance reads it
        self.settings(config.governance, ("governance",), GovernanceBounds)
        config.tui = self.pane(self.table(data, ("tui",)))
        for name, table in self.table(data, ("services",)).items():
            path = ("services", name)
            if not SERVICE_NAME.match(name):
                self.error(path, "service names use letters, digits, '.', '_' and '-' (at most 64)")
            elif not isinstance(table, dict):
                self.error(path, "must be a table ([services.NAME])")
            else:
                service = self.service(name, table, path)
                if service:
                    config.services[name] = service
        self.check_ports(config)
        return config

    def pane(self, table: dict[str, Any]) -> PaneSettings:
        for key in table:
            if key != "keys":
                self.error(("tui", key), "unknown option; expected keys")
        keys = self.table(table, ("tui", "keys"))
        for action, key in keys.items():
            if action not in PANE_KEYS:
                self.error(("tui", "keys", action), f"unknown action; expected one of {', '.join(sorted(PANE_KEYS))}")
            elif not isinstance(key, str) or not _KEYS.match(key):
                self.error(("tui", "keys", action), f"must be a key such as \"A\", \"ctrl+r\" or \"f5\" "
                                                    f"(several: \"a,ctrl+a\"), got {_show(key)}")
        return PaneSettings(keys={a: k for a, k in keys.items() if a in PANE_KEYS and isinstance(k, str)})

    def table(self, data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
        value = data.get(path[-1], {})
        if not isinstance(value, dict):
            self.error(path, "must be a table")
            return {}
        return value

    # one checker per Python type of a dataclass field
    def value(self, path: tuple[str, ...], raw: Any, kind: str) -> Any:
        checks: dict[str, Callable[[Any], Any]] = {
            "float": lambda x: float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None,
            "int": lambda x: x if isinstance(x, int) and not isinstance(x, bool) else None,
            "bool": lambda x: x if isinstance(x, bool) else None,
            "str": lambda x: x if isinstance(x, str) else None,
            "argv": lambda x: list(x) if isinstance(x, list) and x and all(isinstance(a, str) and a for a in x)
            else None,
            "strlist": lambda x: list(x) if isinstance(x, list) and all(isinstance(a, str) for a in x) else None,
            "env": lambda x: dict(x) if isinstance(x, dict) and all(isinstance(a, str) for a in x.values())
            else None,
        }
        names = {"float": "a number", "int": "an integer", "bool": "true or false", "str": "a string",
                 "argv": "a non-empty list of strings (an argv; no shell)", "strlist": "a list of strings",
                 "env": "a table of strings"}
        result = checks[kind](raw)
        if result is None:
            self.error(path, f"must be {names[kind]}, got {_show(raw)}")
        return result

    def settings(self, table: dict[str, Any], path: tuple[str, ...], cls: type) -> Any:
        kinds = {f.name: "argv" if f.name in ARGV_FIELDS else _kind(f.type) for f in dc_fields(cls)}
        kinds.pop("commands", None), kinds.pop("remediation", None)
        values: dict[str, Any] = {}
        for key, raw in table.items():
            if key not in kinds:
                self.error(path + (key,), f"unknown option; expected one of {', '.join(sorted(kinds))}")
                continue
            value = self.value(path + (key,), raw, kinds[key])
            if value is not None:
                values[key] = value
        for key, value in values.items():
            self.bounds(path + (key,), key, value)
        return cls(**values)

    def bounds(self, path: tuple[str, ...], key: str, value: Any) -> None:
        positive = {"check_interval", "host_check_interval", "command_timeout", "connect_timeout", "http_timeout",
                    "start_timeout", "stop_timeout", "restart_window", "backoff_max", "output_limit", "history",
                    "samples", "threshold_samples", "failures_before_incident", "restart_budget", "log_max_mb",
                    "max_threshold_change_pct", "max_sensitivity_change_pct"}
        if key in positive and value <= 0:
            self.error(path, f"must be greater than 0, got {value}")
        non_negative = ("accept_timeout", "backoff_initial", "cpu_max_pct", "rss_max_mb", "fds_max", "load_max_per_cpu",
                        "log_backups")
        if key in non_negative and value < 0:
            self.error(path, f"must not be negative, got {value}")
        if key in ("port", "metrics_port", "http_status") and not (1 <= value <= 65535):
            self.error(path, f"must be between 1 and 65535, got {value}")
        if key in ("disk_min_free_pct", "memory_min_available_pct") and not (0 <= value <= 100):
            self.error(path, f"must be a percentage between 0 and 100, got {value}")
        if key == "stop_signal" and value not in STOP_SIGNALS:
            self.error(path, f"must be one of {', '.join(STOP_SIGNALS)}, got {value!r}")
        if key == "severity" and value not in SEVERITIES:
            self.error(path, f"must be one of {', '.join(SEVERITIES)}, got {value!r}")
        if key == "cmdline_pattern":
            try:
                re.compile(value)
            except re.error as exc:
                self.error(path, f"not a valid regular expression: {exc}")

    def service(self, name: str, table: dict[str, Any], path: tuple[str, ...]) -> ServiceConfig | None:
        table = dict(table)
        remediation = table.pop("remediation", {})
        commands = table.pop("commands", {})
        mode = table.get("mode") or ("managed" if "command" in table else "watched")
        table["mode"] = mode
        service: ServiceConfig = self.settings({**table, "name": name}, path, ServiceConfig)
        if mode not in ("managed", "watched"):
            self.error(path + ("mode",), f"must be 'managed' or 'watched', got {mode!r}")
        elif mode == "managed" and not service.command and "command" not in table:
            self.error(path + ("command",), "a managed service needs `command`, an argv list")
        elif mode == "watched" and not (service.pidfile or service.process_name or service.cmdline_pattern):
            self.error(path, "a watched service needs `pidfile`, `process_name` or `cmdline_pattern`")
        for key in WATCHED_ONLY if mode == "managed" else ("command",) if mode == "watched" else ():
            if key in table:  # accepted and ignored, it would mislead: a pattern nobody matches, an argv never run
                self.error(path + (key,), "only for a watched service; this one is managed (it has `command`)"
                           if mode == "managed" else "a watched service is started by its `start` argv; "
                           "`command` is for a managed one")
        if service.cwd and not Path(service.cwd).is_dir():
            self.error(path + ("cwd",), f"directory {service.cwd} does not exist")
        if service.user and not _user_exists(service.user):
            self.error(path + ("user",), f"no such user {service.user!r} on this host")
        service.commands = self.commands(commands, path + ("commands",))
        service.remediation = self.remediation(remediation, path + ("remediation",), service)
        return service

    def commands(self, table: Any, path: tuple[str, ...]) -> dict[str, list[str]]:
        if not isinstance(table, dict):
            self.error(path, "must be a table of NAME = [argv]")
            return {}
        out = {}
        for key, raw in table.items():
            argv = self.value(path + (key,), raw, "argv")
            if argv:
                out[key] = argv
        return out

    def remediation(self, table: Any, path: tuple[str, ...], service: ServiceConfig) -> dict[str, list[str]]:
        if not isinstance(table, dict):
            self.error(path, "must be a table of KIND = [actions]")
            return {}
        out = {}
        for kind, raw in table.items():
            if kind not in INCIDENT_KINDS:
                self.error(path + (kind,), f"unknown incident kind; one of {', '.join(INCIDENT_KINDS)}")
                continue
            actions = self.value(path + (kind,), raw, "strlist")
            for action in actions or []:
                if action.startswith("run:") and action[4:] in service.commands:
                    continue
                if action not in BUILTIN_ACTIONS:
                    self.error(path + (kind,), f"unknown action {action!r}; use {', '.join(BUILTIN_ACTIONS)} "
                                               "or run:NAME with NAME in [services.X.commands]")
            if actions is not None:
                out[kind] = actions
        return out

    def check_ports(self, config: Config) -> None:
        seen: dict[int, str] = {}
        for name, service in config.services.items():
            if service.port is None:
                continue
            if service.port in seen:
                self.error(("services", name, "port"), f"port {service.port} is also used by service "
                                                       f"{seen[service.port]!r}")
            seen[service.port] = name


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _kind(annotation: Any) -> str:
    text = str(annotation)
    if "dict[str, str]" in text:
        return "env"
    if "list[str]" in text:
        return "strlist"
    for kind in ("bool", "float", "int", "str"):
        if kind in text:
            return kind
    return "str"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def default_config_text() -> str:
    """What the built-in default amounts to, for `config check` without a file."""
    return "# built-in default: host checks (disk, memory, load), no services, no remediation\n"


__all__ = ["ConfigInvalid", "config_from_dict", "config_from_text", "find_config_path", "load_config",
           "default_config_text"]

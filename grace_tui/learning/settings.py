"""The `[learning]` section of the config, checked, with its defaults.

    [learning]
    workers = 2                      # worker threads for learning jobs
    sample_interval_s = 15           # metric sampling period
    raw_keep_s = 86400               # raw samples kept 24 h, then 5-min means
    mid_keep_s = 2592000             # 5-min means kept 30 days, then 1-h means
    coarse_keep_s = 31536000         # 1-h means kept a year
    disk_paths = ["/", "/var"]       # mounts to watch (default: every mounted partition)
    watch_dirs = { "/srv/spool" = 10737418240 }   # a directory and its quota in bytes
    forecast_horizon_s = 86400       # open a forecast incident when full within this
    anomaly_threshold = 0.305        # score from which a sample is an anomaly
    anomaly_remediation = false      # anomalies are reported, not remediated
    schedule = { train_anomaly = 3600, forecast_exhaustion = 300 }
    tuning_min_acks = 2              # "noise" acks of a check before a threshold change is proposed

`config check` and the config loader report every bad or unknown key with its line
(`problems()`); `from_dict` raises on the first bad value and ignores unknown keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from grace_tui.errors import ConfigError
from grace_tui.learning.anomaly import DEFAULT_THRESHOLD

DAY_S = 86400.0


@dataclass
class LearningSettings:
    workers: int = 2
    sample_interval_s: float = 15.0
    raw_keep_s: float = DAY_S
    mid_resolution_s: int = 300
    mid_keep_s: float = 30 * DAY_S
    coarse_resolution_s: int = 3600
    coarse_keep_s: float = 365 * DAY_S
    maintain_every_s: float = 3600.0
    disk_paths: list[str] | None = None  # None: every mounted partition
    watch_dirs: dict[str, float] = field(default_factory=dict)  # path -> capacity bytes
    sample_host: bool = True
    sample_services: bool = True
    anomaly_threshold: float = DEFAULT_THRESHOLD
    anomaly_remediation: bool = False
    anomaly_clear_samples: int = 3  # samples back in the expected band that end an anomaly
    anomaly_settle_samples: int = 240  # quiet samples after which a shift is the new normal
    train_window_s: float = DAY_S
    min_train_points: int = 20  # the detector keeps warming up online
    forecast_horizon_s: float = DAY_S
    forecast_window_s: float = 7 * DAY_S
    tuning_min_acks: int = 2  # read by governance's threshold tuner
    first_run_s: float = 300.0  # first scheduled run of each job after start (some history by then)
    schedule: dict[str, float] = field(
        default_factory=lambda: {"train_anomaly": 3600.0, "forecast_exhaustion": 300.0}
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, source: str = "config") -> "LearningSettings":
        """Check `[learning]`; a bad value raises ConfigError naming `learning.KEY`."""
        settings = cls()
        known = {f.name for f in fields(cls)}
        for key, raw in (data or {}).items():
            if key not in known:
                continue  # reported by problems(); a running daemon need not fail on it
            try:
                value = _check(key, raw, getattr(settings, key))
            except BadSetting as exc:
                raise ConfigError(f"{source}: {exc.field}: {exc.message}") from None
            if key == "schedule":  # name only the jobs whose period changes
                value = {**settings.schedule, **value}
            setattr(settings, key, value)
        return settings


def problems(data: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Every bad or unknown key of a `[learning]` table, as (field path, message)."""
    defaults = LearningSettings()
    known = {f.name for f in fields(LearningSettings)}
    found = []
    for key, raw in data.items():
        if key not in known:
            found.append((("learning", key), f"unknown option; expected one of {', '.join(sorted(known))}"))
            continue
        try:
            _check(key, raw, getattr(defaults, key))
        except BadSetting as exc:
            found.append((tuple(exc.field.split(".", 2)), exc.message))
    return found


class BadSetting(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def _check(key: str, raw: Any, default: Any) -> Any:
    where = f"learning.{key}"
    if key == "disk_paths":
        if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
            raise BadSetting(where, "expected a list of paths")
        return raw
    if key in ("watch_dirs", "schedule"):
        if not isinstance(raw, dict):
            raise BadSetting(where, "expected a table of name = number")
        for name, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise BadSetting(f"{where}.{name}", f"expected a positive number, got {value!r}")
        return {str(k): float(v) for k, v in raw.items()}
    if isinstance(default, bool):
        if not isinstance(raw, bool):
            raise BadSetting(where, f"expected true or false, got {raw!r}")
        return raw
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise BadSetting(where, f"expected a number, got {raw!r}")
    if key == "anomaly_threshold":
        if not 0.0 < raw <= 1.0:
            raise BadSetting(where, f"expected a score in (0, 1], got {raw}")
    elif raw <= 0:
        raise BadSetting(where, f"expected a positive number, got {raw}")
    return int(raw) if isinstance(default, int) else float(raw)

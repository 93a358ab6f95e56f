"""The learning jobs grace-tui runs on this host's own metric history.

train_anomaly (ml_training)
    For every metric the detector watches: replay its raw history of the last
    `train_window_s` through a fresh AnomalyDetector (in a nice-19 child
    process, see fitproc), save the state, and hand it to the online monitor,
    which scores each new sample from then on.
forecast_exhaustion (knowledge_acquisition)
    For every resource with a capacity (disks, watched dirs, memory, fds):
    forecast time to exhaustion and open / update / resolve its incident.

Each reports real progress ("fitting 12/40 series") and returns per-metric stats,
stored as the task's result.
"""

from __future__ import annotations

import math
from typing import Any

from grace_tui.learning.anomaly import AnomalyDetector
from grace_tui.learning.fitproc import FitProcess, fit_series
from grace_tui.learning.forecast import MAX_POINTS as FORECAST_BUCKETS
from grace_tui.learning.forecast import forecast_buckets, format_eta
from grace_tui.learning.online import OnlineMonitor, anomaly_metric
from grace_tui.learning.runner import JobContext, LearningRunner
from grace_tui.learning.settings import LearningSettings
from grace_tui.registry import metrics
from grace_tui.registry.metrics import RAW, Sample

STALE_INTERVALS = 20
# Training runs in a thread beside the supervisor: release the GIL every this many points
# (about 0.1 ms of work), so a healing step waits for it microseconds, not a 5 ms switch interval.
YIELD_EVERY = 32  # a series not sampled for this many intervals is no longer watched


def register_standard_jobs(runner: LearningRunner, online: OnlineMonitor, settings: LearningSettings) -> None:
    schedule = settings.schedule
    runner.register_job("train_anomaly", "ml_training", lambda ctx: train_anomaly(ctx, online, settings),
                        schedule.get("train_anomaly"), title="train anomaly detectors",
                        first_delay_s=settings.first_run_s)
    runner.register_job("forecast_exhaustion", "knowledge_acquisition",
                        lambda ctx: forecast_resources(ctx, online, settings),
                        schedule.get("forecast_exhaustion"), title="forecast resource exhaustion",
                        first_delay_s=settings.first_run_s)


# ---------------------------------------------------------------------- anomaly
def train_anomaly(ctx: JobContext, online: OnlineMonitor, settings: LearningSettings) -> dict[str, Any]:
    names = [name for name in metrics.metric_names() if anomaly_metric(name)]
    models: dict[str, Any] = {}
    skipped: list[str] = []
    with FitProcess() as fitter:
        for i, name in enumerate(names):
            ctx.progress(100.0 * i / max(1, len(names)), f"fitting {i}/{len(names)} series: {name}")
            history = recent_history(name, settings.train_window_s, RAW)
            if len(history) < settings.min_train_points:
                skipped.append(name)
                continue
            state, stats = fitter.fit(name, [s.ts for s in history], [s.value for s in history],
                                      settings.anomaly_threshold)
            online.install(name, AnomalyDetector.from_state(state))
            # Saved as it is installed: a cancelled run keeps what it fitted, and no state waits in memory.
            metrics.save_model("anomaly", name, state, stats)
            models[name] = stats
    summary = f"trained {len(models)}/{len(names)} series"
    if skipped:
        summary += f"; {len(skipped)} with under {settings.min_train_points} points yet"
    ctx.progress(100.0, summary)
    return {"summary": summary, "models": models, "skipped": skipped}


def fit_detector(history: list[Sample], threshold: float) -> tuple[AnomalyDetector, dict[str, Any]]:
    """Fit in this process (tests, bench); the job fits in a FitProcess instead."""
    return fit_series([s.ts for s in history], [s.value for s in history], threshold)


# ---------------------------------------------------------------------- forecasts
def forecast_resources(ctx: JobContext, online: OnlineMonitor, settings: LearningSettings) -> dict[str, Any]:
    last_by_metric = {name: metrics.latest(name) for name in metrics.metric_names()}
    watched = {name: last for name, last in last_by_metric.items() if last is not None and last.capacity}
    newest = max((last.ts for last in watched.values()), default=0.0)
    forecasts: dict[str, Any] = {}
    for i, (name, last) in enumerate(sorted(watched.items())):
        ctx.progress(100.0 * i / max(1, len(watched)), f"forecasting {i}/{len(watched)} series: {name}")
        if last.ts < newest - STALE_INTERVALS * settings.sample_interval_s:
            online.apply_forecast(name, None, last)  # no longer sampled: nothing to predict
            continue
        ts, used = metrics.bucket_means(name, last.ts - settings.forecast_window_s, FORECAST_BUCKETS)
        forecast = forecast_buckets(ts, used, last.ts, last.capacity, settings.forecast_horizon_s)
        action = online.apply_forecast(name, forecast, last)
        forecasts[name] = {
            "buckets": len(ts),
            "used": last.value,
            "capacity": last.capacity,
            "eta_s": forecast.eta_s if forecast else None,
            "eta": format_eta(forecast.eta_s) if forecast else "not within horizon",
            "eta_low_s": forecast.eta_low_s if forecast else None,
            "eta_high_s": _finite(forecast.eta_high_s) if forecast else None,
            "incident": action,
        }
    soon = sum(1 for f in forecasts.values() if f["eta_s"] is not None)
    summary = f"forecast {len(forecasts)} resources; {soon} expected full within the horizon"
    ctx.progress(100.0, summary)
    return {"summary": summary, "forecasts": forecasts}


def recent_history(metric: str, window_s: float, resolution: int | None) -> list[Sample]:
    """The metric's samples in the window ending at its newest sample (not the wall clock)."""
    last = metrics.latest(metric)
    if last is None:
        return []
    return metrics.samples(metric, since=last.ts - window_s, resolution=resolution)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None

"""Online use of what was learned: score each new sample, act on forecasts.

Anomalies: every metric with a trained detector scores each new sample. A
score at or above the threshold opens one low-severity `anomaly` incident per
metric (metric, value, expected band, score), not remediated unless
configured, and only when the value is also outside a minimum deviation
(MIN_DEVIATION: 10 CPU points, 0.5 load, 5 ms, 10 fds, else 10 %), so a
constant series does not alarm at its first wiggle. It resolves once the
value is back inside the (widened) band expected before
the anomaly for `anomaly_clear_samples` samples in a row, or, for a lasting
level shift, once the detector has stayed quiet for `anomaly_settle_samples`.

Forecasts: `apply_forecast()` opens one `forecast` incident per resource
("/var full in ~3 h 10 m") when exhaustion is expected within the horizon,
notes a changed ETA, and resolves it when the trend turns.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Any

from grace_tui.learning.anomaly import AnomalyDetector
from grace_tui.learning.fitproc import expected_band
from grace_tui.learning.forecast import Forecast, format_eta
from grace_tui.learning.settings import LearningSettings
from grace_tui.registry import metrics
from grace_tui.registry.db import log_failure
from grace_tui.registry.metrics import Sample

log = logging.getLogger(__name__)

def anomaly_metric(name: str) -> bool:
    """Fill levels of disks and dirs only grow: the forecaster watches them, not the detector."""
    return not name.startswith(("disk:", "dir:"))


def metric_label(name: str) -> str:
    """What a person calls the resource: '/var', 'memory', 'web open files'."""
    if name.startswith(("disk:", "dir:")):
        return name.split(":", 1)[1]
    if name.startswith("svc:"):
        service, _, what = name[4:].rpartition(".")
        return f"{service} {LABELS.get(what, what)}"
    return LABELS.get(name.removeprefix("host."), name)


LABELS = {"mem_used": "memory", "fds": "open files", "cpu_pct": "CPU %", "load1": "load",
          "rss_bytes": "memory (RSS)", "connect_ms": "connect latency (ms)"}


def service_of(name: str) -> str | None:
    return name[4:].rpartition(".")[0] if name.startswith("svc:") else None


# The smallest deviation worth an incident, per kind of metric: a detector that
# has only seen a constant says "anomaly" at the first wiggle (3 -> 4 open files);
# an operator does not care. Absolute for bounded units, relative for sizes.
MIN_DEVIATION = {"cpu_pct": 10.0, "load1": 0.5, "connect_ms": 5.0, "fds": 10.0}
MIN_RELATIVE_DEVIATION = 0.10


def widened(metric: str, band: tuple[float, float, float] | None) -> tuple[float, float, float] | None:
    """The detector's band, at least MIN_DEVIATION (or 10 %) either side of the expected value."""
    if band is None:
        return None
    expected, low, high = band
    floor = MIN_DEVIATION.get(metric.rpartition(".")[2], MIN_RELATIVE_DEVIATION * abs(expected))
    # Every metric sampled here (percent, bytes, counts, ms, load) is >= 0.
    return expected, max(0.0, min(low, expected - floor)), max(high, expected + floor)


def outside(value: float, band: tuple[float, float, float] | None) -> bool:
    return band is None or not band[1] <= value <= band[2]


@dataclass
class OpenAnomaly:
    incident_id: str
    low: float
    high: float
    back_in_band: int = 0
    quiet: int = 0


class OnlineMonitor:
    def __init__(self, incidents: Any, settings: LearningSettings | None = None):
        self.incidents = incidents
        self.settings = settings or LearningSettings()
        self.detectors: dict[str, AnomalyDetector] = {}
        self._anomalies: dict[str, OpenAnomaly] = {}
        self._forecasts: dict[str, str] = {}  # metric -> open forecast incident id
        self._forecast_eta: dict[str, str] = {}  # metric -> the ETA text last reported
        self._lock = threading.Lock()  # the sampler thread and job workers both call in
        self._forecast_lock = threading.Lock()
        self._suppressed_at: dict[str, int] = {}  # metric -> detector step of a sub-floor alarm
        self.scored = 0

    # ------------------------------------------------------------------ models
    def load(self) -> int:
        """Load trained detectors and re-adopt incidents left open by a previous run."""
        for model in metrics.load_models("anomaly"):
            self.install(model.metric, AnomalyDetector.from_state(model.state))
        for incident in self.incidents.open_incidents(kind="anomaly"):
            metric = incident.detail.get("metric")
            if metric:
                low, high = incident.detail.get("expected_low"), incident.detail.get("expected_high")
                self._anomalies[metric] = OpenAnomaly(incident.id, -math.inf if low is None else low,
                                                      math.inf if high is None else high)
        for incident in self.incidents.open_incidents(kind="forecast"):
            if incident.detail.get("metric"):
                self._forecasts[incident.detail["metric"]] = incident.id
                self._forecast_eta[incident.detail["metric"]] = ""
        return len(self.detectors)

    def install(self, metric: str, detector: AnomalyDetector) -> None:
        with self._lock:
            self.detectors[metric] = detector

    # ------------------------------------------------------------------ anomalies
    def on_samples(self, samples: list[Sample]) -> None:
        for sample in samples:
            try:
                self.score(sample)
            except Exception:  # one metric's trouble must not stop the others
                log_failure(log, "scoring %s failed", sample.metric)

    def score(self, sample: Sample) -> float | None:
        """Score one sample with its metric's detector; open or end its anomaly incident."""
        with self._lock:
            det = self.detectors.get(sample.metric)
            if det is None:
                return None
            band = widened(sample.metric, expected_band(det))  # what was expected before this sample
            score = det.step(sample.ts, sample.value)
            self.scored += 1
            alarm = self._alarm(sample, score, band, det)
        open_ = self._anomalies.get(sample.metric)
        if alarm:
            if open_ is None:
                self._open_anomaly(sample, score, band)
            else:
                open_.quiet = open_.back_in_band = 0
        elif open_ is not None:
            self._maybe_end_anomaly(sample, open_)
        return score

    def _alarm(self, sample: Sample, score: float, band: tuple[float, float, float] | None,
               det: AnomalyDetector) -> bool:
        """A high score outside the minimum deviation. A high score inside it is remembered:
        the detector will not alarm again on that change (holdoff), so a larger excursion
        soon after counts on its deviation alone."""
        high = score >= self.settings.anomaly_threshold
        if not outside(sample.value, band):
            if high:
                self._suppressed_at[sample.metric] = det.t
            return False
        if high or sample.metric in self._anomalies:
            return high
        since = self._suppressed_at.get(sample.metric)
        return since is not None and det.t - since <= getattr(det, "holdoff", 0)

    def _open_anomaly(self, sample: Sample, score: float, band: tuple[float, float, float] | None) -> None:
        expected, low, high = band or (math.nan, -math.inf, math.inf)
        label = metric_label(sample.metric)
        summary = f"{label} {_fmt(sample.value)}, expected ~{_fmt(expected)} ({_fmt(low)}–{_fmt(high)})"
        incident = self.incidents.open(
            "anomaly", "low", f"anomaly: {summary}", service=service_of(sample.metric), check=sample.metric,
            detail={"metric": sample.metric, "value": sample.value, "expected": _finite(expected),
                    "expected_low": _finite(low), "expected_high": _finite(high), "score": round(score, 4),
                    "at": sample.ts,
                    "remediate": self.settings.anomaly_remediation},
        )
        self._anomalies[sample.metric] = OpenAnomaly(incident.id, low, high)

    def _maybe_end_anomaly(self, sample: Sample, open_: OpenAnomaly) -> None:
        open_.quiet += 1
        in_band = open_.low <= sample.value <= open_.high
        open_.back_in_band = open_.back_in_band + 1 if in_band else 0
        if open_.back_in_band >= self.settings.anomaly_clear_samples:
            message = f"back to normal: {_fmt(sample.value)}"
        elif open_.quiet >= self.settings.anomaly_settle_samples:
            message = f"accepted as the new normal after {open_.quiet} quiet samples"
        else:
            return
        self.incidents.resolve(open_.incident_id, message)
        del self._anomalies[sample.metric]

    # ------------------------------------------------------------------ forecasts
    def apply_forecast(self, metric: str, forecast: Forecast | None, last: Sample) -> str:
        """Open, update or resolve the metric's forecast incident; returns what was done."""
        with self._forecast_lock:  # two forecast runs at once must not open two incidents
            return self._apply_forecast(metric, forecast, last)

    def _apply_forecast(self, metric: str, forecast: Forecast | None, last: Sample) -> str:
        incident_id = self._forecasts.get(metric)
        if forecast is None:
            if incident_id is None:
                return "none"
            self.incidents.resolve(incident_id, "trend turned: no exhaustion expected within the horizon")
            del self._forecasts[metric]
            self._forecast_eta.pop(metric, None)
            return "resolved"
        label = metric_label(metric)
        eta = format_eta(forecast.eta_s)
        summary = f"{label} full in {eta}"
        detail = {"metric": metric, "eta_s": forecast.eta_s, "eta_low_s": forecast.eta_low_s,
                  "eta_high_s": forecast.eta_high_s if math.isfinite(forecast.eta_high_s) else None,
                  "used": last.value, "capacity": last.capacity, "slope_per_h": forecast.slope * 3600,
                  "at": last.ts}
        if incident_id is None:
            severity = "medium" if forecast.eta_s < self.settings.forecast_horizon_s / 4 else "low"
            incident = self.incidents.open("forecast", severity, summary, service=service_of(metric), check=metric,
                                           detail=detail)
            self._forecasts[metric] = incident.id
            self._forecast_eta[metric] = eta
            return "opened"
        if self._forecast_eta.get(metric) == eta:
            return "unchanged"
        band = f"{format_eta(forecast.eta_low_s)} to {format_eta(forecast.eta_high_s)}"
        self.incidents.note(incident_id, "forecast", f"{summary} (band {band})", detail)
        self._forecast_eta[metric] = eta
        return "updated"

    def open_anomalies(self) -> dict[str, str]:
        return {m: a.incident_id for m, a in self._anomalies.items()}

    def open_forecasts(self) -> dict[str, str]:
        return dict(self._forecasts)


def _finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{value / 2**30:.2f} GiB" if magnitude >= 2**30 else f"{value:.3g}"
    if magnitude >= 1e6:
        return f"{value / 2**20:.1f} MiB"
    return f"{value:.3g}" if magnitude < 100 else f"{value:.0f}"

"""Threshold tuning: the `config_update` job.

An incident acknowledged with reason "noise" says its check fired without need.
For each tunable limit behind such incidents this job proposes a new value just
past what was observed (5% margin), so those readings would not have fired:

* service limits (`services.NAME.cpu_max_pct`, `rss_max_mb`, `fds_max`) from
  the metric values recorded in the incident's detail, and from the metric
  history when one is available (its 99th percentile, so normal load stays
  below the limit);
* host limits (`host.disk_min_free_pct`, `memory_min_available_pct`,
  `load_max_per_cpu`);
* the anomaly detector's sensitivity (`learning.anomaly_threshold`), raised
  past the scores of the anomalies called noise;
* for port and HTTP checks that fail briefly (no value to move past), one more
  consecutive failure before an incident (`services.NAME.failures_before_incident`).

A limit is tuned once it has `min_acks` noise acknowledgements (`[learning]
tuning_min_acks`, default 2) since it was last proposed. Proposals go through
ConfigVersions.propose, so the `[governance]` bounds decide whether they are
applied at once or wait for a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from grace_tui.governance.versions import ConfigVersions, get_path
from grace_tui.learning.settings import LearningSettings
from grace_tui.registry import governance as gov_store
from grace_tui.registry import learned
from grace_tui.registry.incidents import IncidentView
from grace_tui.text import count

MARGIN = 0.05
MIB = 1024 * 1024

# A metric history source: metric name (e.g. "svc:web.cpu_pct") -> recent raw values (may be empty).
History = Callable[[str], list[float]]


@dataclass(frozen=True)
class Limit:
    """One tunable threshold: where it lives, and whether readings must stay below (max) or above (min)."""

    path: str
    direction: str  # "max": fires when value > limit; "min": when value < limit; "count": one more failure
    kind: str  # proposal kind: threshold | anomaly_sensitivity
    default: float | None = None


def readings(incident: IncidentView) -> list[tuple[Limit, str | None, float, float]]:
    """(limit, history metric name, observed value, history scale) for the limits behind one incident."""
    d, svc = incident.detail, incident.service
    out: list[tuple[Limit, str | None, float, float]] = []
    if incident.kind == "resource_threshold" and svc:
        for key, field, metric, scale in (("cpu_max_pct", "cpu_pct", "cpu_pct", 1.0),
                                          ("rss_max_mb", "rss_bytes", "rss_bytes", 1 / MIB),
                                          ("fds_max", "num_fds", "fds", 1.0)):
            if _num(d.get(field)):
                out.append((Limit(f"services.{svc}.{key}", "max", "threshold"), f"svc:{svc}.{metric}",
                            d[field] * scale, scale))
    elif incident.kind in ("port_unreachable", "http_unhealthy") and svc:
        out.append((Limit(f"services.{svc}.failures_before_incident", "count", "threshold", 2), None, 0.0, 1.0))
    elif incident.kind == "disk_low" and _num(d.get("free_pct")):
        out.append((Limit("host.disk_min_free_pct", "min", "threshold", 10.0), None, d["free_pct"], 1.0))
    elif incident.kind == "memory_low" and _num(d.get("available_pct")):
        out.append((Limit("host.memory_min_available_pct", "min", "threshold", 5.0), None, d["available_pct"],
                    1.0))
    elif incident.kind == "load_high" and _num(d.get("load1_per_cpu")):
        out.append((Limit("host.load_max_per_cpu", "max", "threshold", 4.0), None, d["load1_per_cpu"], 1.0))
    elif incident.kind == "anomaly" and _num(d.get("score")):
        out.append((Limit("learning.anomaly_threshold", "max", "anomaly_sensitivity", _anomaly_default()),
                    None, d["score"], 1.0))
    return out


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _anomaly_default() -> float:
    try:
        from grace_tui.learning.anomaly import DEFAULT_THRESHOLD

        return float(DEFAULT_THRESHOLD)
    except ImportError:
        return 0.305


def metric_history(metric: str, count: int = 2000) -> list[float]:
    """Recent samples from the learning subsystem's metric history, when it is installed."""
    try:
        from grace_tui.registry import metrics
    except ImportError:
        return []
    return [sample.value for sample in metrics.samples_tail(metric, count)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def propose_value(limit: Limit, current: float | None, observed: list[float], history: list[float]) -> float | None:
    """A limit just past the readings called noise (and the history's p99 / p1)."""
    if limit.direction == "count":
        return int(current or 0) + 1
    if limit.direction == "max":
        target = max(observed + ([_percentile(history, 0.99)] if history else []))
        new = target * (1 + MARGIN)
        if limit.kind == "anomaly_sensitivity":
            new = min(new, 1.0)  # scores live in [0, 1]
        better = current is None or new > current
    else:
        target = min(observed + ([_percentile(history, 0.01)] if history else []))
        new = target * (1 - MARGIN)
        better = current is None or new < current
    if not better:
        return None
    return round(new) if limit.path.endswith("fds_max") else round(new, 3)


class ThresholdTuner:
    def __init__(self, versions: ConfigVersions, history: History | None = None):
        self.versions = versions
        self.history = history or metric_history

    def run(self, ctx: Any = None) -> dict[str, Any]:
        """The config_update job: returns what it examined and proposed."""
        config = self.versions.effective()
        min_acks = LearningSettings.from_dict(config.get("learning")).tuning_min_acks
        acks = learned.noise_acks()
        groups = self._group(acks)
        last_proposed = self._last_proposed()
        proposals: list[dict[str, Any]] = []
        for i, (limit, items) in enumerate(groups.items()):
            if ctx is not None:
                ctx.check_cancel()
                ctx.progress(100.0 * i / max(1, len(groups)), f"tuning {limit.path}")
            fresh = [(metric, value, scale) for at, metric, value, scale in items
                     if at > last_proposed.get(limit.path, 0)]
            if len(fresh) < min_acks:
                continue
            proposal = self._propose(limit, fresh, config)
            if proposal is not None:
                proposals.append(proposal)
        summary = (f"{count(len(acks), 'noise ack')} over {count(len(groups), 'limit')}: "
                   f"{count(len(proposals), 'proposal')}")
        return {"summary": summary, "noise_acks": len(acks), "limits_examined": len(groups), "proposals": proposals}

    @staticmethod
    def _group(acks: Iterable[IncidentView]) -> dict[Limit, list[tuple[float, str | None, float, float]]]:
        groups: dict[Limit, list[tuple[float, str | None, float, float]]] = {}
        for incident in acks:
            for limit, metric, value, scale in readings(incident):
                groups.setdefault(limit, []).append((incident.acked_at or 0.0, metric, value, scale))
        return groups

    @staticmethod
    def _last_proposed() -> dict[str, float]:
        out: dict[str, float] = {}
        for proposal in gov_store.list_proposals(1000):
            for change in proposal.changes:
                out[change["path"]] = max(out.get(change["path"], 0.0), proposal.created_at)
        return out

    def _propose(self, limit: Limit, fresh: list[tuple[str | None, float, float]], config: dict[str, Any]
                 ) -> dict[str, Any] | None:
        current = get_path(config, limit.path, limit.default)
        if current is None:
            return None  # that service has no such limit: nothing to loosen
        metric, scale = fresh[0][0], fresh[0][2]
        history = [value * scale for value in self.history(metric)] if metric else []
        new = propose_value(limit, current, [v for _, v, _ in fresh], history)
        if new is None:
            return None
        reason = f"{len(fresh)} incident(s) acknowledged as noise fired on {limit.path} = {current}; "
        if limit.direction == "count":
            reason += "the check failed only briefly: wait for one more consecutive failure"
        else:
            reason += f"readings up to {max(v for _, v, _ in fresh):g}"
            reason += f", history p99 {_percentile(history, 0.99):g}" if history else ""
        proposal = self.versions.propose(limit.kind, [{"path": limit.path, "new": new, "default": current}], reason)
        return {"id": proposal.id, "path": limit.path, "old": current, "new": new, "status": proposal.status}

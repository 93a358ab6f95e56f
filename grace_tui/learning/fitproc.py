"""Fit anomaly detectors in a low-priority child process, so training never slows healing.

A training job in a thread of the supervisor's process would share its GIL and
its CPU share. Instead the job's thread hands each series to this child
(`python -m grace_tui.learning.fitproc`, SCHED_IDLE / nice 19) as a JSON header
line plus raw doubles, and reads one JSON line back: the detector's state and
stats, or an error. The job thread mostly waits on a pipe, with the GIL released.
"""

from __future__ import annotations

import json
import math
from array import array
import os
import select
import statistics
import subprocess
import sys
import time
from typing import Any

from grace_tui.errors import UserError
from grace_tui.learning.anomaly import AnomalyDetector

FIT_TIMEOUT_S = 300.0  # one series; 5760 points take tens of milliseconds
BAND_K = 4.0  # expected band: level +/- BAND_K robust standard deviations


def fit_series(ts: list[float], values: list[float], threshold: float) -> tuple[AnomalyDetector, dict[str, Any]]:
    """Replay a series through a new detector; stats say what it learned and what it flagged."""
    if not values:
        raise UserError("no samples to fit")
    started = time.perf_counter()
    detector = AnomalyDetector()
    alarms = 0
    top = 0.0
    for t, value in zip(ts, values):
        score = detector.step(t, value)
        top = max(top, score)
        alarms += score >= threshold
    elapsed = time.perf_counter() - started
    expected, low, high = expected_band(detector) or (math.nan, math.nan, math.nan)
    stats = {
        "points": len(values),
        "from": ts[0],
        "to": ts[-1],
        "mean": statistics.fmean(values),
        "stdev": statistics.pstdev(values),
        "min": min(values),
        "max": max(values),
        "expected": _finite(expected),
        "expected_low": _finite(max(0.0, low)),  # every sampled metric is >= 0
        "expected_high": _finite(high),
        "alarms_in_history": alarms,
        "max_score": round(top, 4),
        "fit_us_per_point": round(elapsed / len(values) * 1e6, 2),
    }
    return detector, stats


def expected_band(det: AnomalyDetector) -> tuple[float, float, float] | None:
    """(expected, low, high) from the detector's level and robust spread."""
    if det.level is None:
        return None
    spread = 0.0
    if det.sorted_residuals:
        s = det.sorted_residuals
        spread = max(1.4826 * s[len(s) // 2], 0.5 * det.mean_abs)
    half = BAND_K * spread
    return det.level, det.level - half, det.level + half


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class FitProcess:
    """One child process; `fit()` sends a series and returns (state, stats)."""

    def __init__(self, timeout_s: float = FIT_TIMEOUT_S):
        self.timeout_s = timeout_s
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grace_tui.learning.fitproc"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, shell=False,
        )

    def fit(self, metric: str, ts: list[float], values: list[float], threshold: float
            ) -> tuple[dict[str, Any], dict[str, Any]]:
        # A JSON header line, then the series as raw doubles: encoding 10 000 floats as
        # JSON text would hold this process's GIL for milliseconds; tobytes() takes microseconds.
        header = {"metric": metric, "n": len(values), "threshold": threshold}
        try:
            self.proc.stdin.write(json.dumps(header).encode() + b"\n")
            self.proc.stdin.write(array("d", ts).tobytes() + array("d", values).tobytes())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise UserError(f"fitting {metric}: the fit process exited ({self.proc.poll()})") from None
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout_s)
        if not ready:
            self.close()
            raise UserError(f"fitting {metric}: no answer within {self.timeout_s:.0f} s")
        line = self.proc.stdout.readline()
        if not line:
            raise UserError(f"fitting {metric}: the fit process exited ({self.proc.wait(5)})")
        reply = json.loads(line)
        if "error" in reply:
            raise UserError(f"fitting {metric}: {reply['error']}")
        return reply["state"], reply["stats"]

    def close(self) -> None:
        """End the child: EOF first, then kill (it is our own child, known by its handle)."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "FitProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(stdin=sys.stdin.buffer, stdout=sys.stdout.buffer) -> None:
    for line in stdin:
        try:
            request = json.loads(line)
            n = request["n"]
            series = array("d")
            series.frombytes(stdin.read(16 * n))
            if len(series) != 2 * n:
                return  # the parent went away mid-request
            detector, stats = fit_series(series[:n].tolist(), series[n:].tolist(), request["threshold"])
            reply = {"metric": request["metric"], "state": detector.to_state(), "stats": stats}
        except Exception as exc:  # answer, never die: the parent reports it on the task
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(reply).encode() + b"\n")
        stdout.flush()


def lowest_priority() -> None:
    """Run only when a CPU would otherwise idle (Linux SCHED_IDLE), else at nice 19:
    the supervisor, its restarts and the services always come first."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        pass
    try:
        os.nice(19)
    except OSError:
        pass


if __name__ == "__main__":
    lowest_priority()
    serve()

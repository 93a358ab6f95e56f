"""When will a resource run out? A robust trend forecast for used/capacity series.

Method: the samples of the recent window (default 7 days) are averaged into at
most `max_points` time buckets, then fitted with the Theil–Sen estimator (the
median of all pairwise slopes), which shrugs off spikes and outliers. When the
window spans two days or more, a daily profile (median residual per hour of
day) is removed and the line refitted, so a daily cycle does not tilt the
slope. The band comes from the distribution-free confidence interval of the
Theil–Sen slope (Sen 1968, 95 % by default): eta_low uses the upper slope,
eta_high the lower one (infinite when that slope is not positive); both lines
pivot on the middle of the window, so the band also covers the uncertainty of
the current level.

ETA is when the fitted trend reaches capacity, counted from the last sample.
With a daily cycle the peak of a day can touch capacity somewhat earlier.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

DAY_S = 86400.0
Z_95 = 1.96  # two-sided 95 % normal quantile
MAX_POINTS = 150  # time buckets fitted: Theil-Sen is O(n^2) pairs


@dataclass(frozen=True)
class Forecast:
    eta_s: float          # seconds from the last sample until the trend reaches capacity
    eta_low_s: float      # early end of the band (faster fill)
    eta_high_s: float     # late end of the band; math.inf when a flat trend is plausible
    slope: float          # used units per second
    trend_rising: bool    # the rise is statistically clear (slope band above zero)


def forecast_exhaustion(samples: Iterable[Sequence[float]], horizon_s: float,
                        window_s: float = 7 * DAY_S, max_points: int = MAX_POINTS,
                        z: float = Z_95) -> Forecast | None:
    """Forecast from (t_seconds, used, capacity) samples, oldest first.

    Returns None when the trend is flat or falling, or when it does not reach
    capacity within `horizon_s` seconds of the last sample.
    """
    points = sorted((float(t), float(u), float(c)) for t, u, c in samples)
    if len(points) < 3:
        return None
    t_last, used_last, capacity = points[-1]
    recent = [p for p in points if p[0] >= t_last - window_s]
    ts, ys = _bucket_means([p[0] for p in recent], [p[1] for p in recent], max_points)
    return forecast_buckets(ts, ys, t_last, capacity, horizon_s, z)


def forecast_buckets(ts: Sequence[float], ys: Sequence[float], t_last: float, capacity: float, horizon_s: float,
                     z: float = Z_95) -> Forecast | None:
    """The forecast from bucket means (what `forecast_exhaustion` computes from raw samples, or
    the registry's `bucket_means` computes in the database), `t_last` the newest sample's time."""
    ts, ys = list(ts), list(ys)
    if len(ts) < 3 or ts[-1] - ts[0] <= 0:
        return None
    slope, intercept = theil_sen(ts, ys)
    if ts[-1] - ts[0] >= 2 * DAY_S:
        ys = _remove_daily_profile(ts, ys, slope, intercept)
        slope, intercept = theil_sen(ts, ys)
    if slope <= 0:
        return None
    slope_low, slope_high = sen_slope_interval(ts, ys, z)
    # Lines with the band's slopes pivot on the window's middle, so a steeper
    # slope also means a higher level now: the band covers both uncertainties.
    t_mid = _median(ts)
    y_mid = intercept + slope * t_mid
    eta = _eta(capacity, y_mid, t_mid, t_last, slope)
    if eta > horizon_s:
        return None
    eta_low = _eta(capacity, y_mid, t_mid, t_last, slope_high)
    eta_high = _eta(capacity, y_mid, t_mid, t_last, slope_low)
    return Forecast(eta, min(eta_low, eta), max(eta_high, eta), slope, slope_low > 0)


def _eta(capacity: float, y_mid: float, t_mid: float, t_last: float, slope: float) -> float:
    """Seconds after t_last at which the line through (t_mid, y_mid) reaches capacity."""
    if slope <= 0:
        return math.inf
    headroom = capacity - (y_mid + slope * (t_last - t_mid))
    return max(0.0, headroom / slope)


def theil_sen(ts: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """(slope, intercept): median pairwise slope, median of y - slope * t."""
    slopes = _pair_slopes(ts, ys)
    slope = _median(slopes) if slopes else 0.0
    intercept = _median([y - slope * t for t, y in zip(ts, ys)])
    return slope, intercept


def sen_slope_interval(ts: Sequence[float], ys: Sequence[float], z: float = Z_95
                       ) -> tuple[float, float]:
    """Distribution-free confidence interval of the Theil–Sen slope (Sen 1968)."""
    slopes = sorted(_pair_slopes(ts, ys))
    n, pairs = len(ts), len(slopes)
    spread = z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lo = max(0, int(math.floor((pairs - spread) / 2)))
    hi = min(pairs - 1, int(math.ceil((pairs + spread) / 2)))
    return slopes[lo], slopes[hi]


def format_eta(seconds: float | None) -> str:
    """'~3 h 10 m', '~2 d 4 h', '~12 m', '< 1 m', or 'never'."""
    if seconds is None or math.isinf(seconds) or math.isnan(seconds):
        return "never"
    if seconds < 60:
        return "< 1 m"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"~{minutes} m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"~{hours} h {minutes} m" if minutes else f"~{hours} h"
    days, hours = divmod(hours + (1 if minutes >= 30 else 0), 24)
    return f"~{days} d {hours} h" if hours else f"~{days} d"


# ------------------------------------------------------------------ helpers

def _pair_slopes(ts: Sequence[float], ys: Sequence[float]) -> list[float]:
    n = len(ts)
    return [(ys[j] - ys[i]) / (ts[j] - ts[i])
            for i in range(n) for j in range(i + 1, n) if ts[j] != ts[i]]


def _median(values: Sequence[float]) -> float:
    s = sorted(values)
    m = len(s)
    return s[m // 2] if m % 2 else 0.5 * (s[m // 2 - 1] + s[m // 2])


def _bucket_means(ts: list[float], ys: list[float], max_points: int
                  ) -> tuple[list[float], list[float]]:
    """Average into at most max_points equal time buckets (keeps Theil–Sen O(max_points^2))."""
    if len(ts) <= max_points:
        return ts, ys
    t0, span = ts[0], ts[-1] - ts[0]
    sums: dict[int, list[float]] = {}
    for t, y in zip(ts, ys):
        b = min(int((t - t0) / span * max_points), max_points - 1)
        acc = sums.setdefault(b, [0.0, 0.0, 0])
        acc[0] += t
        acc[1] += y
        acc[2] += 1
    out = [(acc[0] / acc[2], acc[1] / acc[2]) for _, acc in sorted(sums.items())]
    return [t for t, _ in out], [y for _, y in out]


def _remove_daily_profile(ts: Sequence[float], ys: Sequence[float], slope: float,
                          intercept: float, bins: int = 24) -> list[float]:
    """Subtract the median residual of each hour of day from the values."""
    residuals: list[list[float]] = [[] for _ in range(bins)]
    hour = [int((t % DAY_S) / DAY_S * bins) for t in ts]
    for h, t, y in zip(hour, ts, ys):
        residuals[h].append(y - (intercept + slope * t))
    profile = [_median(r) if r else 0.0 for r in residuals]
    return [y - profile[h] for h, y in zip(hour, ys)]

import math
import random

import pytest

from grace_tui.learning.forecast import Forecast, forecast_exhaustion, format_eta

DAY = 86400.0
CAPACITY = 100.0
RATE = 1.0 / 3600.0  # one unit per hour


def true_eta(intercept, rate, t_last):
    return (CAPACITY - (intercept + rate * t_last)) / rate


def test_linear_fill_eta_in_band_and_within_10_percent():
    rng = random.Random(7)
    samples = [(t, 40 + RATE * t + rng.gauss(0, 0.5), CAPACITY) for t in range(0, 2 * 86400, 300)]
    f = forecast_exhaustion(samples, horizon_s=30 * DAY)
    want = true_eta(40, RATE, samples[-1][0])
    assert isinstance(f, Forecast)
    assert f.trend_rising
    assert f.eta_low_s <= want <= f.eta_high_s
    assert abs(f.eta_s - want) <= 0.10 * want
    assert math.isclose(f.slope, RATE, rel_tol=0.05)


def test_fill_with_daily_cycle_within_20_percent():
    rng = random.Random(11)
    rate = RATE / 5
    samples = [(t, 20 + rate * t + 8 * math.sin(2 * math.pi * t / DAY) + rng.gauss(0, 1), CAPACITY)
               for t in range(0, 5 * 86400, 300)]
    f = forecast_exhaustion(samples, horizon_s=60 * DAY)
    want = true_eta(20, rate, samples[-1][0])
    assert f is not None
    assert abs(f.eta_s - want) <= 0.20 * want


def test_noisy_flat_gives_none():
    rng = random.Random(3)
    samples = [(t, 50 + rng.gauss(0, 5), CAPACITY) for t in range(0, 3 * 86400, 300)]
    assert forecast_exhaustion(samples, horizon_s=30 * DAY) is None


def test_falling_gives_none():
    rng = random.Random(5)
    samples = [(t, 80 - RATE * t + rng.gauss(0, 1), CAPACITY) for t in range(0, 2 * 86400, 300)]
    assert forecast_exhaustion(samples, horizon_s=30 * DAY) is None


def test_beyond_horizon_gives_none():
    samples = [(t, 10 + 1e-6 * t, CAPACITY) for t in range(0, 86400, 600)]
    assert forecast_exhaustion(samples, horizon_s=DAY) is None


def test_spikes_do_not_move_the_estimate_much():
    samples = [(t, 40 + RATE * t + (30 if i % 50 == 0 else 0), CAPACITY)
               for i, t in enumerate(range(0, 86400, 300))]
    f = forecast_exhaustion(samples, horizon_s=30 * DAY)
    want = true_eta(40, RATE, samples[-1][0])
    assert f is not None and abs(f.eta_s - want) <= 0.05 * want


def test_too_few_samples_gives_none():
    assert forecast_exhaustion([(0, 1, 10), (1, 2, 10)], horizon_s=DAY) is None


def test_format_eta():
    assert format_eta(3 * 3600 + 10 * 60) == "~3 h 10 m"
    assert format_eta(3 * 3600) == "~3 h"
    assert format_eta(42 * 60) == "~42 m"
    assert format_eta(30) == "< 1 m"
    assert format_eta(2 * DAY + 4 * 3600) == "~2 d 4 h"
    assert format_eta(math.inf) == "never"
    assert format_eta(None) == "never"


@pytest.mark.parametrize("days", [0.5, 3.0])  # a few hundred raw samples (no bucketing), and three days of tiers
def test_the_registry_buckets_a_stored_series_as_the_forecaster_does(registry, days):
    """The job's path (bucket means in SQL) forecasts what forecast_exhaustion does on the same rows."""
    from grace_tui.learning.forecast import MAX_POINTS, forecast_buckets
    from grace_tui.registry import metrics
    from grace_tui.registry.metrics import Sample

    rng = random.Random(7)
    t0, step = 1_700_000_000.0, 300.0 if days > 1 else 120.0
    stored = [Sample("disk:/data", t0 + i * step, 100.0 + 0.01 * i * step / 60 + rng.gauss(0, 2), 200.0)
              for i in range(int(days * 86400 / step))]
    metrics.add_samples(stored)
    since = stored[-1].ts - 7 * 86400
    ts, used = metrics.bucket_means("disk:/data", since, MAX_POINTS)
    assert len(ts) == min(len(stored), MAX_POINTS)
    in_db = forecast_buckets(ts, used, stored[-1].ts, 200.0, horizon_s=30 * 86400)
    in_python = forecast_exhaustion([(s.ts, s.value, s.capacity) for s in stored], horizon_s=30 * 86400)
    assert in_db is not None and in_python is not None
    assert in_db.eta_s == pytest.approx(in_python.eta_s, rel=1e-9)
    assert in_db.eta_low_s == pytest.approx(in_python.eta_low_s, rel=1e-9)

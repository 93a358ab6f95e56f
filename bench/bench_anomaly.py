#!/usr/bin/env python3
"""Benchmark the streaming anomaly detector on NAB, and the exhaustion forecaster.

Runs grace_tui.learning.anomaly.AnomalyDetector in-process over every series of
the shared NAB corpus, scores it with score.py's own functions (all three
profiles, threshold optimised per profile, plus the standard profile at
DEFAULT_THRESHOLD) and times only the detector's step() calls, on one core.
Then measures forecast_exhaustion on synthetic series with known answers.

    python3 bench/bench_anomaly.py [--baselines] [--write bench/results/anomaly.md]
        [--nab-dir /work/shared/nab]
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grace_tui.learning.anomaly import DEFAULT_THRESHOLD, AnomalyDetector  # noqa: E402
from grace_tui.learning.forecast import forecast_exhaustion  # noqa: E402


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_detector(score, corpus, make) -> tuple[dict[str, list[float]], float]:
    """Scores per file and the seconds spent inside step() only."""
    scores, elapsed = {}, 0.0
    for f in corpus.files:
        det = make(score.file_info(f))
        step = det.step
        t0 = time.perf_counter()
        out = [step(t, v) for t, v in zip(f.timestamps, f.values)]
        elapsed += time.perf_counter() - t0
        scores[f.name] = out
    return scores, elapsed


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, nproc {os.cpu_count()}, Python {platform.python_version()}"


def split_half(score, corpus, scores) -> str:
    """Threshold chosen on every other file, applied to the rest, both ways."""
    names = [f.name for f in corpus.files]
    halves = (corpus.subset(names[0::2]), corpus.subset(names[1::2]))
    out = []
    for train, test in (halves, halves[::-1]):
        threshold, _ = score.optimize_threshold(train, scores, "standard")
        out.append(score.score_at(test, scores, "standard", threshold))
    raw = sum(r.raw for r in out)
    null = sum(r.null for r in out)
    perfect = sum(r.perfect for r in out)
    pooled = 100.0 * (raw - null) / (perfect - null)
    return (f"split-half (standard; threshold from the other half of the files): "
            f"odd-index files {out[0].normalized:.2f} at {out[0].threshold:.4g}, "
            f"even-index files {out[1].normalized:.2f} at {out[1].threshold:.4g}, "
            f"mean {(out[0].normalized + out[1].normalized) / 2:.2f}, pooled {pooled:.2f}")


def random_splits(score, corpus, scores, n: int = 10) -> str:
    """Mean test score over n random half/half file splits (seeds 0..n-1), both ways."""
    names = [f.name for f in corpus.files]
    out = []
    for seed in range(n):
        shuffled = names[:]
        random.Random(seed).shuffle(shuffled)
        half = len(shuffled) // 2
        a, b = corpus.subset(shuffled[:half]), corpus.subset(shuffled[half:])
        for train, test in ((a, b), (b, a)):
            threshold, _ = score.optimize_threshold(train, scores, "standard")
            out.append(score.score_at(test, scores, "standard", threshold).normalized)
    return (f"random splits (standard; {n} random half/half file splits, seeds 0..{n - 1}, "
            f"threshold from one half, scored on the other, both ways): mean {sum(out) / len(out):.2f}, "
            f"min {min(out):.2f}, max {max(out):.2f}")


def nab_rows(score, corpus, name, make, notes=None) -> list[str]:
    scores, elapsed = run_detector(score, corpus, make)
    us = 1e6 * elapsed / corpus.n_rows
    results = score.score_detector(corpus, scores)
    rows = []
    for profile, r in results.items():
        rows.append(f"| {name} | {profile} | {r.normalized:.2f} | {r.threshold:.4g} | "
                    f"{r.windows_detected}/{r.windows} | {r.false_positives} | {us:.2f} |")
    if name == "grace-tui":
        r = score.score_at(corpus, scores, "standard", DEFAULT_THRESHOLD)
        rows.append(f"| {name} | standard @ DEFAULT_THRESHOLD | {r.normalized:.2f} | "
                    f"{DEFAULT_THRESHOLD:.4g} | {r.windows_detected}/{r.windows} | "
                    f"{r.false_positives} | {us:.2f} |")
        if notes is not None:
            notes.append(split_half(score, corpus, scores))
            notes.append(random_splits(score, corpus, scores))
    return rows


# ------------------------------------------------------------------ forecast

DAY = 86400.0


def forecast_trials(kind: str, trials: int) -> tuple[float, float, float, int]:
    """(median |error|, max |error|, band coverage, None count) over seeded trials."""
    errors, inside, nones = [], 0, 0
    for seed in range(trials):
        rng = random.Random(seed)
        if kind == "linear":
            rate, base, span, horizon = 1 / 3600, 40.0, 2 * DAY, 30 * DAY
            samples = [(t, base + rate * t + rng.gauss(0, 0.5), 100.0)
                       for t in range(0, int(span), 300)]
        else:
            rate, base, span, horizon = 1 / 18000, 20.0, 5 * DAY, 60 * DAY
            samples = [(t, base + rate * t + 8 * math.sin(2 * math.pi * t / DAY)
                        + rng.gauss(0, 1), 100.0) for t in range(0, int(span), 300)]
        want = (100.0 - (base + rate * samples[-1][0])) / rate
        f = forecast_exhaustion(samples, horizon)
        if f is None:
            nones += 1
            continue
        errors.append(abs(f.eta_s - want) / want)
        inside += f.eta_low_s <= want <= f.eta_high_s
    errors.sort()
    return errors[len(errors) // 2], errors[-1], inside / max(1, len(errors)), nones


def forecast_none_rate(kind: str, trials: int) -> float:
    """Share of trials that correctly return None (flat noisy, falling)."""
    hits = 0
    for seed in range(trials):
        rng = random.Random(seed)
        if kind == "flat":
            samples = [(t, 50 + rng.gauss(0, 5), 100.0) for t in range(0, 3 * 86400, 300)]
        else:
            samples = [(t, 80 - t / 3600 + rng.gauss(0, 1), 100.0)
                       for t in range(0, 2 * 86400, 300)]
        hits += forecast_exhaustion(samples, 30 * DAY) is None
    return hits / trials


def forecast_rows(trials: int) -> list[str]:
    rows = []
    for kind, label in (("linear", "linear fill, noise sd 0.5 %, 2 days of 5-min samples"),
                        ("daily", "slow fill + daily cycle (amplitude 8 %), noise sd 1 %, 5 days")):
        median, worst, coverage, nones = forecast_trials(kind, trials)
        rows.append(f"| {label} | {100 * median:.2f} % | {100 * worst:.2f} % | "
                    f"{100 * coverage:.0f} % | {nones} |")
    flat = forecast_none_rate("flat", trials)
    falling = forecast_none_rate("falling", trials)
    rows.append(f"| noisy flat: None returned | | | | {100 * flat:.0f} % of trials |")
    rows.append(f"| falling: None returned | | | | {100 * falling:.0f} % of trials |")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nab-dir", type=Path, default=Path("/work/shared/nab"),
                    help="folder with score.py and baselines.py")
    ap.add_argument("--baselines", action="store_true", help="also run baselines.py's detectors")
    ap.add_argument("--trials", type=int, default=100, help="forecast trials per case")
    ap.add_argument("--write", type=Path, help="also write the tables into this markdown file")
    args = ap.parse_args(argv)

    score = load_module(args.nab_dir / "score.py", "nab_score")
    corpus = score.load_corpus()
    header = ["| detector | profile | score | threshold | windows | FP | µs/point |",
              "|---|---|---|---|---|---|---|"]
    notes: list[str] = []
    rows = nab_rows(score, corpus, "grace-tui", lambda info: AnomalyDetector(), notes)
    if args.baselines:
        base = load_module(args.nab_dir / "baselines.py", "nab_baselines")
        rows += nab_rows(score, corpus, "RollingZScore", base.RollingZScore)
        rows += nab_rows(score, corpus, "EwmaMad", base.EwmaMad)
    nab_table = "\n".join(header + rows)
    fc_header = ["| case | median ETA error | max ETA error | true ETA inside band | None |",
                 "|---|---|---|---|---|"]
    fc_table = "\n".join(fc_header + forecast_rows(args.trials))
    text = (f"Machine: {machine()}\n"
            f"NAB: {len(corpus.files)} series, {corpus.n_rows} points; "
            f"DEFAULT_THRESHOLD = {DEFAULT_THRESHOLD}\n\n{nab_table}\n\n"
            + "".join(f"{n}\n\n" for n in notes) +
            f"Forecast ({args.trials} seeded trials per case):\n\n{fc_table}\n")
    print(text)
    if args.write:
        write_results(args.write, text)
    return 0


def write_results(path: Path, measured: str) -> None:
    """Replace the measured block between the markers, keeping the prose around it."""
    begin, end = "<!-- measured:begin -->", "<!-- measured:end -->"
    old = path.read_text() if path.exists() else f"{begin}\n{end}\n"
    if begin not in old or end not in old:
        old += f"\n{begin}\n{end}\n"
    head, rest = old.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{measured}{end}{tail}")


if __name__ == "__main__":
    sys.exit(main())

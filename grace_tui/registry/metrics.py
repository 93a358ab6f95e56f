"""Metric history and learned model state: tables and queries.

A metric is a named series ("host.cpu_pct", "disk:/var", "svc:web.rss_bytes").
Samples are stored in tiers of resolution: raw (0), then means over
`resolution` seconds once they age. `downsample()` folds old rows of one tier
into the next and `expire()` drops the coarsest beyond retention, so the table
stays bounded. `capacity` is set for resources that can run out (disk, memory,
fds) and is what the exhaustion forecaster needs.
"""

from __future__ import annotations

import json
import time
import weakref
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, NamedTuple

import peewee

from grace_tui.registry.db import BaseModel, database

RAW = 0  # resolution of samples as taken


class MetricSeries(BaseModel):
    """One series; samples refer to it by a small integer to keep rows short."""

    id = peewee.AutoField()
    name = peewee.CharField(max_length=255, unique=True)


class MetricSample(BaseModel):
    series = peewee.IntegerField()  # MetricSeries.id (no FK: bulk deletes stay cheap)
    resolution = peewee.IntegerField(default=RAW)  # 0 = raw, else seconds per mean
    ts = peewee.DoubleField()  # epoch seconds; bucket start for means
    value = peewee.DoubleField()
    capacity = peewee.DoubleField(null=True)

    class Meta:
        indexes = ((("series", "resolution", "ts"), True),)


class ModelState(BaseModel):
    """A trained model for one metric (e.g. kind "anomaly"), JSON state plus its stats."""

    kind = peewee.CharField(max_length=32)
    metric = peewee.CharField(max_length=255)
    state = peewee.TextField()
    stats = peewee.TextField(default="{}")
    trained_at = peewee.DoubleField()

    class Meta:
        primary_key = peewee.CompositeKey("kind", "metric")


class Sample(NamedTuple):  # a tuple: the sampler makes some 60 every 15 s
    metric: str
    ts: float
    value: float
    capacity: float | None = None


@dataclass(frozen=True)
class ModelView:
    kind: str
    metric: str
    state: dict[str, Any]
    stats: dict[str, Any]
    trained_at: float


# ---------------------------------------------------------------------- series
# name -> id per open database; an id never changes once assigned.
_series_ids: "weakref.WeakKeyDictionary[Any, dict[str, int]]" = weakref.WeakKeyDictionary()


def series_id(name: str) -> int:
    return series_ids([name])[name]


def series_ids(names: Iterable[str]) -> dict[str, int]:
    """name -> id, creating the series not seen before (one INSERT and one SELECT for all of them)."""
    names = list(names)
    cache = _series_ids.setdefault(database.obj, {})
    missing = sorted({n for n in names if n not in cache})
    for start in range(0, len(missing), 200):  # stay under SQLite's bound-variable limit
        chunk = missing[start:start + 200]
        MetricSeries.insert_many([{"name": n} for n in chunk]).on_conflict_ignore().execute()
        query = MetricSeries.select(MetricSeries.name, MetricSeries.id).where(MetricSeries.name.in_(chunk))
        cache.update(query.tuples())
    return {n: cache[n] for n in names}


def metric_names(prefix: str = "") -> list[str]:
    query = MetricSeries.select(MetricSeries.name).order_by(MetricSeries.name)
    if prefix:
        query = query.where(MetricSeries.name.startswith(prefix))
    return [row.name for row in query]


# ---------------------------------------------------------------------- writing
_SAMPLE_FIELDS = (MetricSample.series, MetricSample.resolution, MetricSample.ts, MetricSample.value,
                  MetricSample.capacity)


def add_samples(samples: Iterable[Sample]) -> int:
    """Store raw samples in one transaction; a repeated (metric, ts) is ignored.

    One statement run for every row (executemany): peewee rendering a many-row INSERT
    costs more CPU than the sampling it stores, every 15 s for the daemon's life."""
    samples = list(samples)
    ids = series_ids(s.metric for s in samples)
    rows = [(ids[s.metric], RAW, float(s.ts), float(s.value), None if s.capacity is None else float(s.capacity))
            for s in samples]
    if not rows:
        return 0
    with database.atomic():
        database.cursor().executemany(_insert_sql(), rows)
    return len(rows)


_insert_sqls: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def _insert_sql() -> str:
    """The sample INSERT, rendered once per open database (its dialect decides the text)."""
    db = database.obj
    if db not in _insert_sqls:
        row = (0, RAW, 0.0, 0.0, None)
        _insert_sqls[db] = MetricSample.insert_many([row], fields=_SAMPLE_FIELDS).on_conflict_ignore().sql()[0]
    return _insert_sqls[db]


def downsample(older_than: float, from_resolution: int, to_resolution: int) -> int:
    """Replace rows of one tier older than `older_than` by `to_resolution`-second means.

    Only whole buckets are folded (the cut-off is rounded down to a bucket
    boundary), so a bucket is never split between two passes. Returns rows removed.
    """
    cutoff = (older_than // to_resolution) * to_resolution
    old = (MetricSample.resolution == from_resolution) & (MetricSample.ts < cutoff)
    buckets: dict[tuple[int, float], list[float]] = {}
    query = MetricSample.select(MetricSample.series, MetricSample.ts, MetricSample.value, MetricSample.capacity)
    for series, ts, value, capacity in query.where(old).tuples().iterator():
        acc = buckets.setdefault((series, (ts // to_resolution) * to_resolution), [0.0, 0, None])
        acc[0] += value
        acc[1] += 1
        if capacity is not None:
            acc[2] = capacity if acc[2] is None else max(acc[2], capacity)
    rows = [
        {"series": series, "resolution": to_resolution, "ts": ts, "value": total / n, "capacity": cap}
        for (series, ts), (total, n, cap) in buckets.items()
    ]
    with database.atomic():
        for start in range(0, len(rows), 200):
            MetricSample.insert_many(rows[start:start + 200]).on_conflict_ignore().execute()
        removed = MetricSample.delete().where(old).execute()
    return removed


def expire(older_than: float, resolution: int) -> int:
    """Delete rows of one tier older than `older_than`; returns how many."""
    return (
        MetricSample.delete()
        .where((MetricSample.resolution == resolution) & (MetricSample.ts < older_than))
        .execute()
    )


# ---------------------------------------------------------------------- reading
def samples(
    metric: str,
    since: float | None = None,
    until: float | None = None,
    resolution: int | None = None,
) -> list[Sample]:
    """A metric's samples, oldest first: one tier, or every tier merged by time."""
    sid = MetricSeries.get_or_none(MetricSeries.name == metric)
    if sid is None:
        return []
    query = MetricSample.select(MetricSample.ts, MetricSample.value, MetricSample.capacity).where(
        MetricSample.series == sid.id
    )
    if resolution is not None:
        query = query.where(MetricSample.resolution == resolution)
    if since is not None:
        query = query.where(MetricSample.ts >= since)
    if until is not None:
        query = query.where(MetricSample.ts <= until)
    return [Sample(metric, ts, value, cap) for ts, value, cap in query.order_by(MetricSample.ts).tuples()]


def bucket_means(metric: str, since: float, buckets: int) -> tuple[list[float], list[float]]:
    """(times, values) of the metric's samples since `since`, every tier merged, averaged in SQL
    into at most `buckets` equal time buckets -- as `forecast._bucket_means` does in Python, without
    moving a week of rows (7,500 per metric) into Python every few minutes."""
    sid = MetricSeries.get_or_none(MetricSeries.name == metric)
    if sid is None:
        return [], []
    in_window = (MetricSample.series == sid.id) & (MetricSample.ts >= since)
    first, last, count = MetricSample.select(peewee.fn.MIN(MetricSample.ts), peewee.fn.MAX(MetricSample.ts),
                                             peewee.fn.COUNT(MetricSample.id)).where(in_window).tuples().get()
    if not count:
        return [], []
    if count <= buckets or last <= first:
        rows = MetricSample.select(MetricSample.ts, MetricSample.value).where(in_window).order_by(MetricSample.ts)
        pairs = list(rows.tuples())
        return [t for t, _ in pairs], [v for _, v in pairs]
    position = (MetricSample.ts - first) / (last - first) * buckets
    if isinstance(database.obj, peewee.PostgresqlDatabase):  # its CAST rounds; FLOOR is int() here
        bucket = peewee.fn.LEAST(peewee.fn.FLOOR(position), buckets - 1)
    else:  # SQLite's CAST truncates, as int() does for a non-negative number
        bucket = peewee.fn.MIN(position.cast("INTEGER"), buckets - 1)
    query = (MetricSample.select(peewee.fn.AVG(MetricSample.ts), peewee.fn.AVG(MetricSample.value))
             .where(in_window).group_by(bucket).order_by(bucket))
    pairs = list(query.tuples())
    return [float(t) for t, _ in pairs], [float(v) for _, v in pairs]


def latest(metric: str) -> Sample | None:
    found = samples_tail(metric, 1)
    return found[-1] if found else None


def samples_tail(metric: str, count: int) -> list[Sample]:
    """The newest `count` samples of a metric (any tier), oldest first."""
    sid = MetricSeries.get_or_none(MetricSeries.name == metric)
    if sid is None:
        return []
    query = (
        MetricSample.select(MetricSample.ts, MetricSample.value, MetricSample.capacity)
        .where(MetricSample.series == sid.id)
        .order_by(MetricSample.ts.desc())
        .limit(count)
    )
    return [Sample(metric, ts, value, cap) for ts, value, cap in reversed(list(query.tuples()))]


def count_samples(resolution: int | None = None) -> int:
    query = MetricSample.select()
    if resolution is not None:
        query = query.where(MetricSample.resolution == resolution)
    return query.count()


# ---------------------------------------------------------------------- models
def save_model(kind: str, metric: str, state: dict[str, Any], stats: dict[str, Any], at: float | None = None) -> None:
    now = at if at is not None else time.time()
    state_text, stats_text = json.dumps(state), json.dumps(stats)
    ModelState.insert(kind=kind, metric=metric, state=state_text, stats=stats_text, trained_at=now).on_conflict(
        conflict_target=[ModelState.kind, ModelState.metric],
        update={ModelState.state: state_text, ModelState.stats: stats_text, ModelState.trained_at: now},
    ).execute()


def load_models(kind: str) -> Iterator[ModelView]:
    """One model at a time: a state is tens of kB of JSON, and a host has a model per series."""
    rows = ModelState.select().where(ModelState.kind == kind).order_by(ModelState.metric)
    for r in rows.iterator():  # not cached by peewee: each row's text is freed once parsed
        yield ModelView(r.kind, r.metric, json.loads(r.state), json.loads(r.stats), r.trained_at)


def model_stats(kind: str) -> dict[str, dict[str, Any]]:
    """metric -> stats of every model of a kind, without loading the (large) states."""
    rows = ModelState.select(ModelState.metric, ModelState.stats).where(ModelState.kind == kind)
    return {r.metric: json.loads(r.stats) for r in rows}

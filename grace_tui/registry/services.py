"""The live state of each supervised service, as the supervisor last saw it.

The supervisor writes a row whenever a service changes (and with each resource
sample); views read it, so an attached TUI sees the same as an embedded one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import peewee

from grace_tui.registry.db import BaseModel

SERVICE_STATES = ("starting", "running", "stopped", "backoff", "escalated", "failed", "degraded", "unknown")


class ServiceState(BaseModel):
    name = peewee.CharField(primary_key=True, max_length=255)
    mode = peewee.CharField(max_length=16)  # managed | watched | host
    state = peewee.CharField(max_length=16, default="unknown")
    pid = peewee.IntegerField(null=True)
    started_at = peewee.DoubleField(null=True)  # current process start (for uptime)
    restarts = peewee.IntegerField(default=0)
    port = peewee.IntegerField(null=True)
    cpu_pct = peewee.FloatField(null=True)
    rss_bytes = peewee.BigIntegerField(null=True)
    num_fds = peewee.IntegerField(null=True)
    connect_ms = peewee.FloatField(null=True)  # last TCP connect latency
    message = peewee.TextField(default="")  # last exit, last error, "silenced until..."
    history = peewee.TextField(default="{}")  # JSON {"cpu": [...], "rss": [...]} for sparklines
    silenced_until = peewee.DoubleField(null=True)
    updated_at = peewee.DoubleField(index=True)


@dataclass(frozen=True)
class ServiceView:
    name: str
    mode: str
    state: str
    pid: int | None
    started_at: float | None
    restarts: int
    port: int | None
    cpu_pct: float | None
    rss_bytes: int | None
    num_fds: int | None
    connect_ms: float | None
    message: str
    history: dict[str, list[float]] = field(default_factory=dict)
    silenced_until: float | None = None
    updated_at: float = 0.0

    def uptime_s(self, now: float | None = None) -> float | None:
        if self.state != "running" or not self.started_at:
            return None
        return max(0.0, (now or time.time()) - self.started_at)


_VIEW_COLUMNS = (ServiceState.name, ServiceState.mode, ServiceState.state, ServiceState.pid, ServiceState.started_at,
                 ServiceState.restarts, ServiceState.port, ServiceState.cpu_pct, ServiceState.rss_bytes,
                 ServiceState.num_fds, ServiceState.connect_ms, ServiceState.message, ServiceState.history,
                 ServiceState.silenced_until, ServiceState.updated_at)


def _views(query: peewee.ModelSelect) -> list[ServiceView]:
    """Rows as views, read as plain tuples (model instances cost the sampler more than the read)."""
    return [ServiceView(*r[:12], json.loads(r[12] or "{}"), *r[13:]) for r in query.tuples()]


def upsert_service(name: str, **fields: Any) -> None:
    """Create or update a service's row with the given columns (a new row's others take their defaults).

    One statement, rendered once per set of columns: peewee rendering the upsert took 0.3 ms, on
    every state change of a healing service and every host check."""
    if "history" in fields and not isinstance(fields["history"], str):
        fields["history"] = json.dumps(fields["history"])
    fields["updated_at"] = time.time()
    row = {**_NEW_ROW, "name": name, **fields}
    db = ServiceState._meta.database
    db.execute_sql(_upsert_sql(db, tuple(row), tuple(fields)), tuple(row.values()))


_NEW_ROW = {name: f.default for name, f in ServiceState._meta.fields.items() if f.default is not None}
_NEW_ROW["mode"] = "managed"
_upsert_sqls: dict[tuple[Any, tuple[str, ...], tuple[str, ...]], str] = {}


def _upsert_sql(db: Any, columns: tuple[str, ...], updated: tuple[str, ...]) -> str:
    key = (db.param, columns, updated)  # the dialect and the columns decide the text
    if key not in _upsert_sqls:
        quoted = [f'"{c}"' for c in columns]
        _upsert_sqls[key] = (f'INSERT INTO "service_state" ({", ".join(quoted)}) '
                             f'VALUES ({", ".join([db.param] * len(columns))}) ON CONFLICT ("name") DO UPDATE SET '
                             + ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in updated))
    return _upsert_sqls[key]


def remove_services_except(names: list[str]) -> None:
    """Forget services that are no longer in the config (the host's own row stays)."""
    ServiceState.delete().where(ServiceState.name.not_in(names or [""]) & (ServiceState.mode != "host")).execute()


_NO_HISTORY_COLUMNS = tuple(peewee.SQL("NULL") if c is ServiceState.history else c for c in _VIEW_COLUMNS)


def list_services(with_history: bool = True) -> list[ServiceView]:
    """Every service's row; without the sparkline history (a JSON text per row) for the sampler."""
    columns = _VIEW_COLUMNS if with_history else _NO_HISTORY_COLUMNS
    return _views(ServiceState.select(*columns).order_by(ServiceState.name))


DOWN_STATES = ("failed", "escalated")  # the supervisor gave up on these: a person must act


def escalated_but_running(service: Any) -> bool:
    """A restart loop over a threshold or an HTTP check escalates with its process left running:
    degraded, not down. `service` is a view or a runner: anything with state and pid."""
    return service.state == "escalated" and service.pid is not None


def is_down(service: Any) -> bool:
    """Left down: its remediation failed, or its crash loop escalated with no process running."""
    return service.state in DOWN_STATES and not escalated_but_running(service)


def count_down() -> int:
    """How many services is_down(), in SQL."""
    left_running = (ServiceState.state == "escalated") & ServiceState.pid.is_null(False)
    return ServiceState.select().where(ServiceState.state.in_(DOWN_STATES) & ~left_running).count()


def get_service(name: str) -> ServiceView | None:
    found = _views(ServiceState.select(*_VIEW_COLUMNS).where(ServiceState.name == name))
    return found[0] if found else None


def last_service_change() -> float:
    return ServiceState.select(peewee.fn.MAX(ServiceState.updated_at)).scalar() or 0.0


_SAMPLE_COLUMNS = ("cpu_pct", "rss_bytes", "num_fds", "connect_ms", "history")


def record_samples(samples: dict[str, dict[str, Any]]) -> None:
    """Write one resource sample per service in a single statement (the supervisor's periodic
    check; peewee's per-row upsert costs more CPU than the sampling itself)."""
    if not samples:
        return
    db = ServiceState._meta.database
    p = db.param
    sql = (f'UPDATE "service_state" SET {", ".join(f"{c!r} = {p}".replace(chr(39), chr(34)) for c in _SAMPLE_COLUMNS)}'
           f', "updated_at" = {p} WHERE "name" = {p}')
    now = time.time()
    rows = []
    for name, fields in samples.items():
        history = fields.get("history", {})
        values = [fields.get(c) for c in _SAMPLE_COLUMNS[:-1]]
        rows.append((*values, history if isinstance(history, str) else json.dumps(history), now, name))
    cursor = db.cursor()
    cursor.executemany(sql, rows)

"""The task registry: register tasks, report progress, finish them, and query them.

This is the public Python API for grace-tui's own subsystems and for users'
scripts (a backup job that wants to show up in the pane):

    from grace_tui.registry import Registry

    registry = Registry.open()              # the default state dir's DB
    with registry.task("nightly backup", subsystem="ops") as task:
        task.progress(40, "copying /var/lib")
    # completed on success, failed with the exception's text otherwise
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import peewee

from grace_tui.errors import UserError
from grace_tui.events import EventBus
from grace_tui.paths import StatePaths
from grace_tui.registry import db as dbmod
from grace_tui.registry.models import ACTIVE_STATUSES, TERMINAL_STATUSES, Task, TaskStat
from grace_tui.registry.ids import iso, new_task_id

@dataclass(frozen=True)
class TaskView:
    """A read-only snapshot of one task, safe to hand to any thread."""

    id: str
    subsystem: str
    kind: str
    title: str
    status: str
    progress: float
    message: str
    created_at: float
    started_at: float | None
    completed_at: float | None
    updated_at: float
    duration_s: float | None
    result: Any
    error: str | None
    host: str
    ref: str | None

    @classmethod
    def from_row(cls, row: Task) -> "TaskView":
        return cls(
            id=row.id,
            subsystem=row.subsystem,
            kind=row.kind,
            title=row.title,
            status=row.status,
            progress=row.progress,
            message=row.message,
            created_at=row.created_at,
            started_at=row.started_at,
            completed_at=row.completed_at,
            updated_at=row.updated_at,
            duration_s=row.duration_s,
            result=json.loads(row.result) if row.result else None,
            error=row.error,
            host=row.host,
            ref=row.ref,
        )

    def elapsed_s(self, now: float | None = None) -> float:
        """Time the task has been running (or ran, once finished)."""
        if self.duration_s is not None:
            return self.duration_s
        start = self.started_at or self.created_at
        return max(0.0, (now if now is not None else time.time()) - start)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("created_at", "started_at", "completed_at", "updated_at"):
            data[key] = iso(data[key])
        data["elapsed_s"] = round(self.elapsed_s(), 3)
        return data


@dataclass(frozen=True)
class StatRow:
    subsystem: str
    status: str
    count: int
    avg_duration_s: float | None


class TaskHandle:
    """What `Registry.task()` yields: report progress on the task it opened."""

    def __init__(self, registry: "Registry", task_id: str):
        self.registry = registry
        self.id = task_id
        self.result: Any = None

    def progress(self, percent: float, message: str | None = None) -> None:
        self.registry.progress(self.id, percent, message)

    def __repr__(self) -> str:
        return f"TaskHandle({self.id!r})"


class Registry:
    """The unified task registry over one database (SQLite or PostgreSQL)."""

    def __init__(self, database: peewee.Database, events: EventBus | None = None):
        self.database = database
        self.events = events or EventBus()
        self.host = socket.gethostname()
        p = database.param
        self._progress_sql = (
            f'UPDATE "task" SET "progress" = {p}, "message" = COALESCE({p}, "message"), '
            f'"updated_at" = {p} WHERE "id" = {p} AND "status" = \'active\''
        )

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(
        cls,
        state_dir: str | os.PathLike | None = None,
        db_url: str | None = None,
        events: EventBus | None = None,
    ) -> "Registry":
        """Open (creating and migrating) the registry of a state dir or a DB URL."""
        paths = StatePaths(state_dir).ensure()
        target = db_url or str(paths.db)
        if not dbmod._is_url(target):
            dbmod.check_sqlite_file(Path(target))
            _create_private(Path(target))
        database = dbmod.connect(target)
        dbmod.database.initialize(database)
        try:
            database.connect(reuse_if_open=True)
            from grace_tui.registry.schema import ALL_MODELS  # every domain's tables

            dbmod.migrate(database, ALL_MODELS)
        except peewee.DatabaseError as exc:
            said = " ".join(str(exc).split())  # one line: libpq's messages span several
            raise UserError(f"{target}: cannot open database: {said}") from None
        if not dbmod._is_url(target):
            _make_private(Path(target))
        return cls(database, events)

    def close(self) -> None:
        if not self.database.is_closed():
            self.database.close()

    # ------------------------------------------------------------------ writing
    def start_task(
        self,
        title: str,
        subsystem: str = "ops",
        kind: str = "job",
        *,
        status: str = "active",
        ref: str | None = None,
        message: str = "",
    ) -> str:
        """Register a task and return its id. It starts `active` unless told `pending`."""
        if status not in ACTIVE_STATUSES:
            raise UserError(f"a new task must be pending or active, not {status!r}")
        for field, value in (("title", title), ("subsystem", subsystem), ("kind", kind)):
            if not value.strip():
                raise UserError(f"a task needs a {field}")
        now = time.time()
        task_id = new_task_id()
        with self.database.atomic():
            Task.insert(
                id=task_id,
                subsystem=subsystem,
                kind=kind,
                title=title[:500],
                status=status,
                message=message,
                created_at=now,
                started_at=now if status == "active" else None,
                updated_at=now,
                host=self.host,
                ref=ref,
            ).execute()
            _bump_stat(subsystem, status, count=1)
        self.events.publish("task", task_id, status)
        return task_id

    def progress(self, task_id: str, percent: float, message: str | None = None) -> None:
        """Report progress (0–100) with an optional status message."""
        percent = _check_percent(percent)
        now = time.time()
        # Fast path: one precompiled UPDATE on a running task (the hot loop of every job).
        cursor = self.database.execute_sql(self._progress_sql, (percent, message, now, task_id))
        if cursor.rowcount != 1:
            values: dict[Any, Any] = {Task.progress: percent, Task.updated_at: now}
            if message is not None:
                values[Task.message] = message
            self._progress_slow(task_id, values)
        self.events.publish("task", task_id, "active")

    def _progress_slow(self, task_id: str, values: dict[Any, Any]) -> None:
        with self.database.atomic():
            row = self._get_row(task_id, lock=True)
            if row.status in TERMINAL_STATUSES:
                raise UserError(f"task {task_id} is already {row.status}")
            if row.status == "pending":  # the first progress report starts it
                values[Task.status] = "active"
                values[Task.started_at] = values[Task.updated_at]
                _move_stat(row.subsystem, "pending", "active")
            Task.update(values).where(Task.id == task_id).execute()

    def activate(self, task_id: str, message: str | None = None) -> None:
        self.progress(task_id, self.get(task_id).progress, message)

    def complete(self, task_id: str, result: Any = None, message: str | None = None) -> None:
        self._finish(task_id, "completed", result=result, message=message)

    def fail(self, task_id: str, error: str, result: Any = None) -> None:
        self._finish(task_id, "failed", error=error or "failed", result=result)

    def cancel(self, task_id: str, reason: str = "cancelled") -> None:
        self._finish(task_id, "cancelled", error=reason)

    def interrupt(self, task_id: str, reason: str = "interrupted by shutdown") -> None:
        self._finish(task_id, "interrupted", error=reason)

    def _finish(
        self,
        task_id: str,
        status: str,
        *,
        result: Any = None,
        error: str | None = None,
        message: str | None = None,
    ) -> None:
        result_text = _dump_result(result)
        now = time.time()
        with self.database.atomic():
            row = self._get_row(task_id, lock=True)
            if row.status in TERMINAL_STATUSES:
                raise UserError(f"task {task_id} is already {row.status}")
            started = row.started_at or row.created_at
            duration = max(0.0, now - started)
            values: dict[Any, Any] = {
                Task.status: status,
                Task.completed_at: now,
                Task.updated_at: now,
                Task.duration_s: duration,
                Task.result: result_text,
                Task.error: error,
            }
            if status == "completed":
                values[Task.progress] = 100.0
            if message is not None:
                values[Task.message] = message
            Task.update(values).where(Task.id == task_id).execute()
            _move_stat(row.subsystem, row.status, status, duration=duration)
        self.events.publish("task", task_id, status)

    @contextmanager
    def task(self, title: str, subsystem: str = "ops", kind: str = "job", **kwargs: Any) -> Iterator[TaskHandle]:
        """Run a block as a task: completed when it returns, failed if it raises."""
        handle = TaskHandle(self, self.start_task(title, subsystem, kind, **kwargs))
        try:
            yield handle
        except BaseException as exc:
            status_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                self.interrupt(handle.id, status_error)
            else:
                self.fail(handle.id, status_error)
            raise
        else:
            self.complete(handle.id, handle.result)

    def interrupt_orphans(self, host: str | None = None, subsystem: str | None = None) -> list[str]:
        """Mark tasks left active by a process that died as `interrupted`; returns their ids."""
        query = Task.select(Task.id).where(Task.status.in_(ACTIVE_STATUSES), Task.host == (host or self.host))
        if subsystem:
            query = query.where(Task.subsystem == subsystem)
        ids = [row.id for row in query]
        for task_id in ids:
            try:
                self.interrupt(task_id)
            except UserError:
                pass  # finished meanwhile
        return ids

    # ------------------------------------------------------------------ reading
    def get(self, task_id: str) -> TaskView:
        return TaskView.from_row(self._get_row(task_id))

    def _get_row(self, task_id: str, lock: bool = False) -> Task:
        query = Task.select().where(Task.id == task_id)
        if lock and self.database.for_update:  # PostgreSQL: lock the row; SQLite's
            query = query.for_update()  # BEGIN IMMEDIATE already serialises writers
        row = query.first()
        if row is None:
            raise UserError(f"unknown task id {task_id!r}")
        return row

    def active_tasks(self, subsystem: str | None = None, limit: int = 500) -> list[TaskView]:
        """What runs now (and waits to run), oldest first."""
        query = Task.select().where(Task.status.in_(ACTIVE_STATUSES))
        if subsystem:
            query = query.where(Task.subsystem == subsystem)
        return [TaskView.from_row(r) for r in query.order_by(Task.created_at).limit(limit)]

    def recent_completions(self, limit: int = 20, subsystem: str | None = None) -> list[TaskView]:
        """Finished tasks (any terminal status), newest first."""
        query = Task.select().where(Task.completed_at.is_null(False))
        if subsystem:
            query = query.where(Task.subsystem == subsystem)
        return [TaskView.from_row(r) for r in query.order_by(Task.completed_at.desc()).limit(limit)]

    def list_tasks(
        self,
        *,
        subsystem: str | None = None,
        status: str | None = None,
        before_id: str | None = None,
        search: str | None = None,
        limit: int = 100,
    ) -> list[TaskView]:
        """A page of tasks, newest first; pass the last id seen as `before_id` for the next."""
        query = Task.select()
        if subsystem:
            query = query.where(Task.subsystem == subsystem)
        if status:
            query = query.where(Task.status == status)
        if before_id:
            query = query.where(Task.id < before_id)
        order = Task.id.desc()
        if search:
            query = query.where(Task.title.contains(search))
            if isinstance(self.database, peewee.SqliteDatabase):
                # Rows are stored in creation order: walking the table backwards reads pages in
                # sequence (a scan that stops at `limit`) where the id index would jump per row.
                order = peewee.SQL("rowid").desc()
        return [TaskView.from_row(r) for r in query.order_by(order).limit(limit)]

    def stats(self) -> list[StatRow]:
        """Counts and average duration by subsystem and status (constant cost)."""
        rows = TaskStat.select().where(TaskStat.count > 0).order_by(TaskStat.subsystem, TaskStat.status)
        return [
            StatRow(r.subsystem, r.status, r.count, r.duration_sum / r.duration_n if r.duration_n else None)
            for r in rows
        ]

    def data_version(self) -> int | None:
        """SQLite's count of commits made by other connections (None on PostgreSQL):
        a one-pragma way for a poller to learn that nothing changed since its last look."""
        if isinstance(self.database, peewee.SqliteDatabase):
            return self.database.execute_sql("PRAGMA data_version").fetchone()[0]
        return None

    def last_change(self) -> float:
        """When any task last changed (cheap, indexed): lets another process notice updates."""
        value = Task.select(peewee.fn.MAX(Task.updated_at)).scalar()
        return value or 0.0


def _check_percent(percent: float) -> float:
    try:
        value = float(percent)
    except (TypeError, ValueError):
        raise UserError(f"progress must be a number from 0 to 100, got {percent!r}") from None
    if not 0.0 <= value <= 100.0 or value != value:
        raise UserError(f"progress must be from 0 to 100, got {percent}")
    return value


def _dump_result(result: Any) -> str | None:
    if result is None:
        return None
    try:
        return json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise UserError(f"task result is not JSON-serialisable: {exc}") from None


def _bump_stat(subsystem: str, status: str, count: int = 0, duration: float | None = None) -> None:
    d_sum = duration or 0.0
    d_n = 1 if duration is not None else 0
    TaskStat.insert(subsystem=subsystem, status=status, count=count, duration_sum=d_sum, duration_n=d_n).on_conflict(
        conflict_target=[TaskStat.subsystem, TaskStat.status],
        update={
            TaskStat.count: TaskStat.count + count,
            TaskStat.duration_sum: TaskStat.duration_sum + d_sum,
            TaskStat.duration_n: TaskStat.duration_n + d_n,
        },
    ).execute()


def _move_stat(subsystem: str, old: str, new: str, duration: float | None = None) -> None:
    _bump_stat(subsystem, old, count=-1)
    _bump_stat(subsystem, new, count=1, duration=duration)


def _create_private(path: Path) -> None:
    """Create the DB file 0600 before SQLite does (it would honour the umask)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise UserError(f"{path}: cannot create database: {exc.strerror or exc}") from None


def _make_private(path: Path) -> None:
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            os.chmod(candidate, 0o600)
        except FileNotFoundError:
            pass

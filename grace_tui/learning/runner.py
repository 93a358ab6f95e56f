"""The learning job runner: a bounded pool of worker threads beside the supervisor.

Every run of a job is a task of subsystem `learning` in the registry (kind
`ml_training`, `config_update` or `knowledge_acquisition`): `pending` while it
waits for a worker, `active` with percent and a status message while it runs,
then completed (with the job's result), failed, cancelled or interrupted.

    runner = LearningRunner(registry, incidents, workers=2)
    runner.register_job("train_anomaly", "ml_training", train, every_s=3600)
    runner.start()
    task_id = runner.run_now("train_anomaly")
    runner.cancel(task_id)
    runner.stop()          # a job cut off here is `interrupted`, and re-run on next start

Cancelling is cooperative: a job calls `ctx.check_cancel()` (or reads
`ctx.cancelled`) between steps. Jobs are plain functions `func(ctx) -> result`,
the result (JSON-able) is stored on the task.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from grace_tui.errors import UserError
from grace_tui.registry import Registry
from grace_tui.registry.db import log_failure
from grace_tui.registry.models import Task

log = logging.getLogger(__name__)

SUBSYSTEM = "learning"
JOB_KINDS = ("ml_training", "config_update", "knowledge_acquisition")
SHUTDOWN = "interrupted by shutdown"
PROGRESS_EVERY_S = 0.25  # progress writes per job, at most 4 a second: a person reads it


class JobCancelled(Exception):
    """Raised by `JobContext.check_cancel()` to unwind a cancelled job."""


@dataclass
class JobSpec:
    name: str
    kind: str
    func: Callable[["JobContext"], Any]
    every_s: float | None = None  # None: on demand only
    title: str = ""
    first_delay_s: float | None = None  # first scheduled run after start (default: every_s)


class JobContext:
    """What a job gets: progress reporting, the cancel token, the registry and incident log."""

    def __init__(self, runner: "LearningRunner", spec: JobSpec, task_id: str):
        self.name = spec.name
        self.task_id = task_id
        self.registry = runner.registry
        self.incidents = runner.incidents
        self.settings = runner.settings
        self._cancel = threading.Event()
        self.cancel_reason = ""
        self._last_write = -PROGRESS_EVERY_S

    def progress(self, percent: float, message: str | None = None) -> None:
        """Report percent and a status message; also a cancellation point.

        Written at most every PROGRESS_EVERY_S (reports in between are dropped; the
        next one supersedes them): each write takes the DB's write lock, which the
        supervisor needs to record an incident quickly."""
        self.check_cancel()
        now = time.monotonic()
        if now - self._last_write < PROGRESS_EVERY_S and percent < 100:
            return
        self._last_write = now
        self.registry.progress(self.task_id, max(0.0, min(100.0, percent)), message)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancel(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled(self.cancel_reason or "cancelled")

    def _request_cancel(self, reason: str) -> None:
        self.cancel_reason = reason
        self._cancel.set()


class LearningRunner:
    def __init__(
        self,
        registry: Registry,
        incidents: Any = None,
        *,
        workers: int = 2,
        settings: dict[str, Any] | None = None,
        tick_s: float = 0.5,
    ):
        if workers < 1:
            raise UserError(f"learning.workers must be at least 1, got {workers}")
        self.registry = registry
        self.incidents = incidents
        self.settings = settings or {}
        self.workers = workers
        self.tick_s = tick_s
        self._jobs: dict[str, JobSpec] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._queued: dict[str, JobSpec] = {}  # task id -> spec, waiting for a worker
        self._running: dict[str, JobContext] = {}  # task id -> context
        self._next_due: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # the schedule changed: recompute the next due time
        self._threads: list[threading.Thread] = []
        self.max_concurrent = 0  # high-water mark of running jobs (tests, bench)

    # ------------------------------------------------------------------ jobs
    def register_job(
        self,
        name: str,
        kind: str,
        func: Callable[[JobContext], Any],
        every_s: float | None = None,
        *,
        title: str = "",
        first_delay_s: float | None = None,
    ) -> JobSpec:
        if kind not in JOB_KINDS:
            raise UserError(f"job {name}: kind must be one of {', '.join(JOB_KINDS)}, not {kind!r}")
        if every_s is not None and every_s <= 0:
            raise UserError(f"job {name}: every_s must be positive, got {every_s}")
        spec = JobSpec(name, kind, func, every_s, title or name.replace("_", " "), first_delay_s)
        with self._lock:
            self._jobs[name] = spec
            if every_s and self._threads:
                self._next_due[name] = time.monotonic() + (first_delay_s if first_delay_s is not None else every_s)
                self._wake.set()
        return spec

    def reschedule(self, name: str, every_s: float | None) -> None:
        """Change a job's period (None: on demand only); the next run is one period from now."""
        with self._lock:
            spec = self._jobs[name]
            if spec.every_s == every_s:
                return
            spec.every_s = every_s
            if every_s and self._threads:
                self._next_due[name] = time.monotonic() + every_s
                self._wake.set()
            else:
                self._next_due.pop(name, None)

    def jobs(self) -> list[JobSpec]:
        return sorted(self._jobs.values(), key=lambda s: s.name)

    def run_now(self, name: str) -> str:
        """Queue a run of job `name`; returns its task id (pending until a worker takes it)."""
        spec = self._jobs.get(name)
        if spec is None:
            known = ", ".join(sorted(self._jobs)) or "none"
            raise UserError(f"unknown learning job {name!r} (known: {known})")
        task_id = self.registry.start_task(spec.title, SUBSYSTEM, spec.kind, status="pending", ref=name,
                                           message="waiting for a worker")
        with self._lock:
            self._queued[task_id] = spec
        self._queue.put(task_id)
        return task_id

    def cancel(self, task_id: str) -> str:
        """Cancel a waiting or running job of this runner."""
        with self._lock:
            if task_id in self._queued:
                del self._queued[task_id]
                self.registry.cancel(task_id, "cancelled before it started")
                return f"cancelled {task_id} (it had not started)"
            ctx = self._running.get(task_id)
        if ctx is None:
            task = self.registry.get(task_id)  # unknown id -> UserError
            if task.status not in ("pending", "active"):
                raise UserError(f"task {task_id} is already {task.status}")
            raise UserError(f"task {task_id} is not a learning job of this process")
        ctx._request_cancel("cancelled by user")
        return f"cancelling {task_id} (stops at its next step)"

    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def is_busy(self, name: str) -> bool:
        with self._lock:
            return any(s.name == name for s in self._queued.values()) or any(
                c.name == name for c in self._running.values()
            )

    # ------------------------------------------------------------------ lifecycle
    def start(self, *, schedule: bool = True) -> "LearningRunner":
        """Start workers (and the scheduler); re-run jobs a previous shutdown interrupted."""
        self._stop.clear()
        rerun = self._reschedule_interrupted() if schedule else []
        now = time.monotonic()
        with self._lock:
            for spec in self._jobs.values():
                if spec.every_s and schedule:
                    delay = spec.first_delay_s if spec.first_delay_s is not None else spec.every_s
                    self._next_due[spec.name] = now + delay
        for i in range(self.workers):
            self._spawn(self._work, f"grace-learn-{i}")
        if schedule:
            self._spawn(self._schedule, "grace-learn-schedule")
        for name in rerun:
            self.run_now(name)
        return self

    def stop(self, timeout: float = 10.0) -> list[str]:
        """Stop: waiting runs are cancelled, running ones asked to stop and marked interrupted."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            waiting = list(self._queued)
            self._queued.clear()
            running = list(self._running.values())
        for task_id in waiting:
            self._finish_quietly(self.registry.interrupt, task_id, SHUTDOWN)
        for ctx in running:
            ctx._request_cancel(SHUTDOWN)
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        # A job that ignores its cancel token is still cut off as far as the registry goes.
        for ctx in running:
            self._finish_quietly(self.registry.interrupt, ctx.task_id, SHUTDOWN)
        return [ctx.task_id for ctx in running] + waiting

    def _reschedule_interrupted(self) -> list[str]:
        """Jobs left pending/active by a dead process, or interrupted at the last shutdown."""
        self.registry.interrupt_orphans(subsystem=SUBSYSTEM)
        names: list[str] = []
        for name in self._jobs:
            last = (
                Task.select(Task.status)
                .where(Task.subsystem == SUBSYSTEM, Task.ref == name)
                .order_by(Task.created_at.desc())
                .first()
            )
            if last is not None and last.status == "interrupted":
                names.append(name)
        return names

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=self._with_db_closed(target), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _with_db_closed(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            finally:
                try:
                    self.registry.database.close()  # this thread's connection
                except Exception:
                    pass

        return run

    # ------------------------------------------------------------------ threads
    def _schedule(self) -> None:
        """Sleep until the next job is due (or the schedule changes), then queue what is due.
        `tick_s` is only a floor between rounds, so an idle engine wakes a few times an hour."""
        while not self._stop.is_set():
            now = time.monotonic()
            for name, due in list(self._next_due.items()):
                spec = self._jobs[name]
                if now < due or not spec.every_s:
                    continue
                self._next_due[name] = now + spec.every_s
                if self.is_busy(name):
                    continue  # never two scheduled runs of one job at a time
                try:
                    self.run_now(name)
                except Exception:
                    log_failure(log, "cannot schedule learning job %s", name)
            self._wake.wait(max(self.tick_s, self._seconds_to_next_due()))
            self._wake.clear()

    def _seconds_to_next_due(self) -> float:
        dues = [due for name, due in list(self._next_due.items()) if self._jobs[name].every_s]
        return min(dues) - time.monotonic() if dues else 3600.0

    def _work(self) -> None:
        while True:
            task_id = self._queue.get()
            if task_id is None or self._stop.is_set():
                return
            with self._lock:
                spec = self._queued.pop(task_id, None)
                if spec is None:
                    continue  # cancelled while waiting
                ctx = JobContext(self, spec, task_id)
                self._running[task_id] = ctx
                self.max_concurrent = max(self.max_concurrent, len(self._running))
            try:
                self._run(spec, ctx)
            finally:
                with self._lock:
                    self._running.pop(task_id, None)

    def _run(self, spec: JobSpec, ctx: JobContext) -> None:
        try:
            self.registry.activate(ctx.task_id, "starting")
            result = spec.func(ctx)
            ctx.check_cancel()  # a cancel that came during the last step still counts
        except JobCancelled as exc:
            finish = self.registry.interrupt if str(exc) == SHUTDOWN else self.registry.cancel
            self._finish_quietly(finish, ctx.task_id, str(exc))
        except Exception as exc:
            log_failure(log, "learning job %s failed", spec.name)
            self._finish_quietly(self.registry.fail, ctx.task_id, f"{type(exc).__name__}: {exc}")
        else:
            message = result.get("summary") if isinstance(result, dict) else None
            self._finish_quietly(self.registry.complete, ctx.task_id, result, message)

    def _finish_quietly(self, finish: Callable[..., None], task_id: str, *args: Any) -> None:
        try:
            finish(task_id, *args)
        except UserError:
            pass  # already finished (e.g. interrupted by stop() while we were returning)

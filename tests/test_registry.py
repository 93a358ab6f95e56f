"""The task registry: lifecycle, queries, stats, concurrency, bad input."""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
from pathlib import Path

import pytest

from grace_tui.errors import UserError
from grace_tui.registry import Registry, new_task_id


def test_task_lifecycle_records_progress_result_and_duration(registry: Registry) -> None:
    task_id = registry.start_task("nightly backup", subsystem="ops", kind="job")
    registry.progress(task_id, 40, "copying /var/lib")
    running = registry.get(task_id)
    assert (running.status, running.progress, running.message) == ("active", 40.0, "copying /var/lib")
    assert [t.id for t in registry.active_tasks()] == [task_id]

    registry.complete(task_id, {"bytes": 1234})
    done = registry.get(task_id)
    assert done.status == "completed" and done.progress == 100.0
    assert done.result == {"bytes": 1234}
    assert done.completed_at >= done.started_at and done.duration_s == pytest.approx(
        done.completed_at - done.started_at
    )
    assert registry.active_tasks() == []
    assert [t.id for t in registry.recent_completions()] == [task_id]


def test_pending_task_starts_on_first_progress(registry: Registry) -> None:
    task_id = registry.start_task("train", subsystem="learning", kind="ml_training", status="pending")
    assert registry.get(task_id).started_at is None
    registry.progress(task_id, 10, "epoch 1/10")
    task = registry.get(task_id)
    assert task.status == "active" and task.started_at is not None


def test_context_manager_completes_or_fails(registry: Registry) -> None:
    with registry.task("ok job") as handle:
        handle.progress(50, "half")
        handle.result = {"rows": 3}
    assert registry.get(handle.id).status == "completed"
    assert registry.get(handle.id).result == {"rows": 3}

    with pytest.raises(RuntimeError):
        with registry.task("bad job") as failing:
            raise RuntimeError("disk full")
    failed = registry.get(failing.id)
    assert failed.status == "failed" and failed.error == "RuntimeError: disk full"


def test_stats_count_and_average_duration_by_subsystem_and_status(registry: Registry) -> None:
    for subsystem in ("ops", "ops", "learning"):
        registry.complete(registry.start_task("t", subsystem=subsystem))
    registry.fail(registry.start_task("t", subsystem="ops"), "boom")
    registry.start_task("t", subsystem="learning")
    stats = {(s.subsystem, s.status): s for s in registry.stats()}
    assert stats[("ops", "completed")].count == 2
    assert stats[("ops", "failed")].count == 1
    assert stats[("learning", "completed")].count == 1
    assert stats[("learning", "active")].count == 1
    assert stats[("learning", "active")].avg_duration_s is None
    durations = [registry.get(t.id).duration_s for t in registry.recent_completions() if t.subsystem == "ops"
                 and t.status == "completed"]
    assert stats[("ops", "completed")].avg_duration_s == pytest.approx(sum(durations) / 2)


def test_bad_input_is_refused_and_changes_nothing(registry: Registry) -> None:
    task_id = registry.start_task("job")
    registry.progress(task_id, 30, "ok")
    for bad in (-1, 100.5, float("nan"), "abc"):
        with pytest.raises(UserError, match="progress"):
            registry.progress(task_id, bad)
    with pytest.raises(UserError, match="unknown task id"):
        registry.progress("nope", 5)
    with pytest.raises(UserError, match="not JSON"):
        registry.complete(task_id, {"when": object()})
    assert registry.get(task_id).progress == 30.0 and registry.get(task_id).status == "active"
    registry.complete(task_id)
    with pytest.raises(UserError, match="already completed"):
        registry.progress(task_id, 50)


def test_ids_are_unique_and_sort_by_creation() -> None:
    ids = [new_task_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_list_tasks_pages_newest_first(registry: Registry) -> None:
    ids = [registry.start_task(f"t{i}") for i in range(25)]
    first = registry.list_tasks(limit=10)
    second = registry.list_tasks(limit=10, before_id=first[-1].id)
    assert [t.id for t in first + second] == list(reversed(ids))[:20]


def test_interrupt_orphans_marks_tasks_of_a_dead_process(registry: Registry) -> None:
    task_id = registry.start_task("train", subsystem="learning")
    assert registry.interrupt_orphans(subsystem="learning") == [task_id]
    assert registry.get(task_id).status == "interrupted"


def test_state_files_are_owner_only(state_dir: Path, registry: Registry) -> None:
    registry.start_task("x")
    assert stat.S_IMODE(os.stat(state_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(state_dir / "grace.db").st_mode) == 0o600


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    bogus = tmp_path / "grace.db"
    bogus.write_text("precious notes\n")
    with pytest.raises(UserError, match="not a SQLite database"):
        Registry.open(tmp_path, str(bogus))
    assert bogus.read_text() == "precious notes\n"


def test_a_corrupt_database_gives_one_line_error(tmp_path: Path) -> None:
    good = Registry.open(tmp_path)
    good.start_task("x")
    good.close()
    db = tmp_path / "grace.db"
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the schema page, keep the header
    db.write_bytes(bytes(data))
    with pytest.raises(UserError, match="grace.db"):
        Registry.open(tmp_path)


def test_schema_version_is_stored(registry: Registry) -> None:
    from grace_tui.registry import db

    assert db.schema_version(registry.database) == db.SCHEMA_VERSION


# ---------------------------------------------------------------- concurrency
UPDATES = 300


def _hammer(registry: Registry, task_id: str, label: str) -> None:
    for i in range(1, UPDATES + 1):
        registry.progress(task_id, i * 100 / UPDATES, f"{label} step {i}")


def test_four_threads_update_at_once_without_loss(registry: Registry) -> None:
    ids = [registry.start_task(f"thread job {n}") for n in range(4)]
    errors: list[BaseException] = []

    def run(task_id: str, n: int) -> None:
        try:
            _hammer(registry, task_id, f"thread {n}")
            registry.complete(task_id, {"n": n})
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(tid, n)) for n, tid in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for n, task_id in enumerate(ids):
        task = registry.get(task_id)
        assert task.status == "completed" and task.result == {"n": n}
        assert task.message == f"thread {n} step {UPDATES}"
    assert {(s.subsystem, s.status): s.count for s in registry.stats()} == {("ops", "completed"): 4}


def _process_worker(state_dir: str, task_ids: list[str], label: str, errors) -> None:
    try:
        registry = Registry.open(state_dir)
        threads = [threading.Thread(target=_hammer, args=(registry, tid, label)) for tid in task_ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for tid in task_ids:
            registry.complete(tid, {"by": label})
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        errors.put(repr(exc))


def test_two_processes_of_two_threads_update_at_once(state_dir: Path, registry: Registry) -> None:
    ids = [registry.start_task(f"proc job {n}") for n in range(4)]
    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(str(state_dir), ids[i * 2:i * 2 + 2], f"p{i}", errors))
             for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert errors.empty(), errors.get()
    for n, task_id in enumerate(ids):
        task = registry.get(task_id)
        assert task.status == "completed" and task.result == {"by": f"p{n // 2}"}
        assert task.message == f"p{n // 2} step {UPDATES}"
    assert {(s.subsystem, s.status): s.count for s in registry.stats()} == {("ops", "completed"): 4}


def test_search_pages_newest_first(registry: Registry) -> None:
    ids = [registry.start_task(f"backup {i}" if i % 2 else f"deploy {i}") for i in range(30)]
    backups = [tid for i, tid in enumerate(ids) if i % 2]
    first = registry.list_tasks(search="backup", limit=10)
    second = registry.list_tasks(search="backup", limit=10, before_id=first[-1].id)
    assert [t.id for t in first + second] == list(reversed(backups))[:20]
    assert registry.list_tasks(search="nothing like this") == []


def test_data_version_moves_only_when_another_connection_commits(registry: Registry) -> None:
    before = registry.data_version()
    assert registry.data_version() == before  # looking changes nothing
    # peewee gives each thread its own connection, as another process would have one
    writer = threading.Thread(target=registry.start_task, args=("from elsewhere",))
    writer.start()
    writer.join()
    assert registry.data_version() != before


def test_a_storage_failure_is_logged_in_one_line_naming_its_first_cause(tmp_path: Path, caplog) -> None:
    """A full disk or a read-only database is an operating condition: one journal line each time, not
    a 60-line traceback; a failed ROLLBACK must not hide why the transaction failed."""
    import logging

    import peewee

    from grace_tui.registry.db import log_failure

    path = tmp_path / "ro.db"
    peewee.SqliteDatabase(str(path)).execute_sql("CREATE TABLE t (x)")
    readonly = peewee.SqliteDatabase(f"file:{path}?mode=ro", uri=True)
    log = logging.getLogger("test.storage")
    with caplog.at_level(logging.ERROR, logger="test.storage"):
        try:
            try:
                readonly.execute_sql("INSERT INTO t VALUES (1)")
            except peewee.DatabaseError:
                readonly.execute_sql("ROLLBACK")  # fails too: no transaction is active
        except peewee.DatabaseError:
            log_failure(log, "writing %s", "t")
        try:
            {}["missing"]
        except KeyError:
            log_failure(log, "a bug")
    storage, bug = caplog.records
    assert storage.getMessage() == "writing t: attempt to write a readonly database" and not storage.exc_info
    assert bug.exc_info  # anything else keeps its traceback

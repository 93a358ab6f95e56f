"""The learning job runner: progress, cancel, interrupt and reschedule, bounded concurrency."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import wait_until
from grace_tui.errors import UserError
from grace_tui.learning.runner import LearningRunner


def status(registry, task_id: str) -> str:
    return registry.get(task_id).status


@pytest.fixture
def runner(registry):
    r = LearningRunner(registry, workers=2, tick_s=0.05)
    yield r
    r.stop()


def test_progress_is_visible_while_running_and_result_is_stored(registry, runner):
    step = threading.Event()

    def job(ctx):
        ctx.progress(50, "fitting 1/2 series")
        step.wait(20)
        ctx.progress(90, "fitting 2/2 series")
        return {"summary": "trained 2/2 series", "models": {"a": 1, "b": 2}}

    runner.register_job("train", "ml_training", job)
    runner.start()
    task_id = runner.run_now("train")
    task = wait_until(lambda: (t := registry.get(task_id)).progress == 50 and t, message="50 %")
    assert (task.status, task.subsystem, task.kind, task.message) == (
        "active", "learning", "ml_training", "fitting 1/2 series")
    assert task.elapsed_s() >= 0
    step.set()
    wait_until(lambda: status(registry, task_id) == "completed", message="completed")
    done = registry.get(task_id)
    assert done.progress == 100 and done.message == "trained 2/2 series"
    assert done.result["models"] == {"a": 1, "b": 2}


def test_cancel_a_running_job_stops_it_at_its_next_step(registry, runner):
    steps = []

    def job(ctx):
        while True:
            steps.append(1)
            ctx.check_cancel()
            time.sleep(0.01)

    runner.register_job("loop", "knowledge_acquisition", job)
    runner.start()
    task_id = runner.run_now("loop")
    wait_until(lambda: steps, message="job running")
    assert "cancelling" in runner.cancel(task_id)
    wait_until(lambda: status(registry, task_id) == "cancelled", message="cancelled")
    assert registry.get(task_id).error == "cancelled by user"
    with pytest.raises(UserError, match="already cancelled"):
        runner.cancel(task_id)


def test_cancel_a_waiting_job_means_it_never_runs(registry):
    runner = LearningRunner(registry, workers=1)
    gate = threading.Event()
    ran = []
    runner.register_job("block", "ml_training", lambda ctx: gate.wait(20))
    runner.register_job("other", "config_update", lambda ctx: ran.append(1))
    runner.start()
    try:
        first = runner.run_now("block")
        wait_until(lambda: status(registry, first) == "active", message="first job active")
        second = runner.run_now("other")
        assert status(registry, second) == "pending"
        assert "had not started" in runner.cancel(second)
        gate.set()
        wait_until(lambda: status(registry, first) == "completed", message="first done")
        assert status(registry, second) == "cancelled" and ran == []
    finally:
        gate.set()
        runner.stop()


def test_a_failing_job_is_failed_with_its_error(registry, runner):
    def job(ctx):
        raise ValueError("no history")

    runner.register_job("bad", "ml_training", job)
    runner.start()
    task_id = runner.run_now("bad")
    wait_until(lambda: status(registry, task_id) == "failed", message="failed")
    assert registry.get(task_id).error == "ValueError: no history"


def test_n_jobs_on_m_workers_never_run_more_than_m_at_once(registry):
    workers, jobs = 2, 6
    runner = LearningRunner(registry, workers=workers)
    lock = threading.Lock()
    running = [0]
    peak = [0]
    both_running = threading.Event()

    def job(ctx):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            if running[0] == workers:
                both_running.set()
        both_running.wait(20)  # the first job waits for a second one: the pool is really parallel
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    for i in range(jobs):
        runner.register_job(f"job{i}", "ml_training", job)
    runner.start()
    try:
        ids = [runner.run_now(f"job{i}") for i in range(jobs)]
        active_seen = 0
        while not all(status(registry, t) == "completed" for t in ids):
            now_active = [t for t in registry.active_tasks("learning") if t.status == "active"]  # one query
            active_seen = max(active_seen, len(now_active))
            time.sleep(0.005)
        assert peak[0] == workers and runner.max_concurrent == workers
        assert active_seen <= workers
    finally:
        runner.stop()


def test_scheduled_jobs_run_again_and_never_overlap(registry):
    runner = LearningRunner(registry, workers=2, tick_s=0.02)
    runs = []
    runner.register_job("tick", "knowledge_acquisition", lambda ctx: runs.append(1), every_s=0.05, first_delay_s=0)
    runner.start()
    try:
        wait_until(lambda: len(runs) >= 3, message="three scheduled runs")
    finally:
        runner.stop()
    tasks = registry.list_tasks(subsystem="learning")
    assert all(t.ref == "tick" and t.status in ("completed", "interrupted") for t in tasks)
    assert runner.max_concurrent == 1


def test_shutdown_interrupts_a_running_job_and_the_next_start_reruns_it(registry):
    started = threading.Event()

    def slow(ctx):
        started.set()
        while True:
            ctx.progress(10, "epoch 1/10")
            time.sleep(0.01)

    runner = LearningRunner(registry, workers=1)
    runner.register_job("train", "ml_training", slow)
    runner.start()
    first = runner.run_now("train")
    assert started.wait(20)
    assert runner.stop() == [first]
    assert status(registry, first) == "interrupted"
    assert registry.get(first).error == "interrupted by shutdown"

    again = LearningRunner(registry, workers=1)
    again.register_job("train", "ml_training", lambda ctx: {"summary": "done"})
    again.start()
    try:
        rerun = wait_until(lambda: [t for t in registry.list_tasks(subsystem="learning") if t.id != first],
                           message="rescheduled run")
        wait_until(lambda: status(registry, rerun[0].id) == "completed", message="rerun completed")
    finally:
        again.stop()


def test_a_job_left_running_by_a_killed_process_is_interrupted_and_rerun(registry, state_dir):
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(state_dir)], stdout=subprocess.PIPE, text=True)
    try:
        task_id = child.stdout.readline().strip()
        assert task_id, "child did not start its job"
        assert status(registry, task_id) == "active"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(20)
    runner = LearningRunner(registry, workers=1)
    runner.register_job("train", "ml_training", lambda ctx: {"summary": "ok"})
    runner.start()
    try:
        assert status(registry, task_id) == "interrupted"
        rerun = wait_until(lambda: [t for t in registry.list_tasks(subsystem="learning")
                                    if t.id != task_id and t.status == "completed"], message="rerun")
        assert rerun[0].ref == "train"
    finally:
        runner.stop()


KILLED_CHILD = """
import sys, threading, time
from grace_tui.registry import Registry
from grace_tui.learning.runner import LearningRunner
registry = Registry.open(sys.argv[1])
running = threading.Event()
def job(ctx):
    ctx.progress(30, "epoch 3/10")
    running.set()
    threading.Event().wait()  # runs until the test SIGKILLs this process
runner = LearningRunner(registry, workers=1)
runner.register_job("train", "ml_training", job)
runner.start()
task_id = runner.run_now("train")
running.wait(60)
print(task_id, flush=True)
threading.Event().wait()
"""


def test_bad_job_definitions_and_unknown_names_are_one_line_errors(registry):
    runner = LearningRunner(registry)
    with pytest.raises(UserError, match="kind must be one of"):
        runner.register_job("x", "training", lambda ctx: None)
    with pytest.raises(UserError, match="unknown learning job 'nope'"):
        runner.run_now("nope")
    with pytest.raises(UserError, match="unknown task id"):
        runner.cancel("0000000000000")
    with pytest.raises(UserError, match="at least 1"):
        LearningRunner(registry, workers=0)


def test_the_fit_child_process_learns_exactly_what_an_in_process_fit_learns():
    from grace_tui.learning.fitproc import FitProcess, fit_series

    ts = [15.0 * i for i in range(500)]
    values = [10 + (i % 13) * 0.5 for i in range(500)]
    with FitProcess() as fitter:
        state, stats = fitter.fit("m", ts, values, 0.305)
        with pytest.raises(UserError, match="fitting empty: ValueError|fitting empty: UserError"):
            fitter.fit("empty", [], [], 0.305)
        assert fitter.fit("again", ts, values, 0.305)[0] == state  # still serving after an error
    local, local_stats = fit_series(ts, values, 0.305)
    assert state == json_roundtrip(local.to_state())
    assert stats["points"] == local_stats["points"] == 500 and stats["max"] == 16.0


def json_roundtrip(data):
    import json

    return json.loads(json.dumps(data))


def test_the_engine_starts_learning_and_its_stop_interrupts_running_jobs(registry, state_dir):
    from grace_tui.engine import Engine
    from grace_tui.paths import StatePaths

    engine = Engine(StatePaths(state_dir), registry)
    engine.start()
    try:
        assert {"train_anomaly", "forecast_exhaustion"} <= {spec.name for spec in engine.learning.jobs()}
        started = threading.Event()

        def endless(ctx):
            started.set()
            while True:
                ctx.progress(1, "epoch 1/10")
                time.sleep(0.01)

        engine.learning.register_job("endless", "ml_training", endless)
        task_id = engine.run_job("endless")
        assert started.wait(20)
        done = engine.run_job("train_anomaly")
        wait_until(lambda: status(registry, done) == "completed", message="train_anomaly completed")
    finally:
        engine.stop()
    assert status(registry, task_id) == "interrupted"

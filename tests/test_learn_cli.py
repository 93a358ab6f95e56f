"""`grace-tui learn ...` in real subprocesses: score, run, list, cancel, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from conftest import run_cli, wait_until
from grace_tui.learning.anomaly import DEFAULT_THRESHOLD
from grace_tui.registry import metrics
from grace_tui.registry.metrics import Sample


def one_line_error(result, *needles: str) -> None:
    assert result.returncode != 0
    assert result.stdout == "" or result.stdout.startswith("timestamp,value,anomaly_score")
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grace-tui: "), result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_score_reads_stdin_and_writes_scores_in_unit_range(state_dir):
    rows = "".join(f"2024-01-01 00:{i // 60:02d}:{i % 60:02d},{10 + (i % 7)}\n" for i in range(300))
    result = run_cli("learn", "score", "-", state_dir=state_dir, input="timestamp,value\n" + rows + "x,500\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "timestamp,value,anomaly_score" and len(lines) == 302
    scores = [float(line.rsplit(",", 1)[1]) for line in lines[1:]]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[-1] == max(scores) and scores[-1] >= DEFAULT_THRESHOLD  # the spike at the end


def test_score_writes_a_private_out_file(state_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("timestamp,value\n1,1\n2,2\n")
    out = tmp_path / "out.csv"
    result = run_cli("learn", "score", str(src), "--out", str(out), state_dir=state_dir)
    assert result.returncode == 0 and result.stdout == ""
    assert out.read_text().splitlines()[0] == "timestamp,value,anomaly_score"
    assert os.stat(out).st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("text", "needles"), [
    ("timestamp,val\n1,2\n", ("in.csv:1", "missing column 'value'")),
    ("timestamp,value\n1,2\n2,abc\n", ("in.csv:3", "'abc' is not a number")),
    ("", ("in.csv", "empty file")),
    ("timestamp,value\n1,nan\n", ("in.csv:2", "not a finite number")),
])
def test_score_bad_input_is_one_line_error(state_dir, tmp_path, text, needles):
    src = tmp_path / "in.csv"
    src.write_text(text)
    one_line_error(run_cli("learn", "score", str(src), state_dir=state_dir), *needles)


def test_score_missing_or_binary_file_is_one_line_error(state_dir, tmp_path):
    one_line_error(run_cli("learn", "score", str(tmp_path / "nope.csv"), state_dir=state_dir), "nope.csv: cannot read")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"timestamp,value\n1,\xff\xfe\n")
    one_line_error(run_cli("learn", "score", str(binary), state_dir=state_dir), "bin.csv: not UTF-8")


def test_run_trains_on_history_and_list_shows_the_run(registry, state_dir):
    metrics.add_samples(Sample("host.load1", 1000.0 + 15 * i, 1.0 + (i % 5) * 0.1) for i in range(120))
    result = run_cli("learn", "run", "train_anomaly", state_dir=state_dir)
    assert result.returncode == 0, result.stderr
    task_id, summary = result.stdout.splitlines()
    assert summary == "trained 1/1 series"
    assert "completed 100.0% trained 1/1 series" in result.stderr
    task = registry.get(task_id)
    assert (task.subsystem, task.kind, task.status) == ("learning", "ml_training", "completed")
    assert task.result["models"]["host.load1"]["points"] == 120

    listing = run_cli("learn", "list", state_dir=state_dir)
    assert listing.returncode == 0, listing.stderr
    assert f"train_anomaly           ml_training               3600s  {task_id} completed 100%" in listing.stdout
    assert "1 trained anomaly models" in listing.stdout and "host.load1" in listing.stdout


def test_run_unknown_job_and_cancel_errors(state_dir):
    one_line_error(run_cli("learn", "run", "nope", state_dir=state_dir), "unknown learning job 'nope'")
    one_line_error(run_cli("learn", "cancel", "0000000000000", state_dir=state_dir), "unknown task id")


def test_cancel_without_a_daemon_cancels_a_left_over_learning_task(registry, state_dir):
    task_id = registry.start_task("train anomaly detectors", "learning", "ml_training", ref="train_anomaly")
    result = run_cli("learn", "cancel", task_id, state_dir=state_dir)
    assert result.returncode == 0, result.stderr
    assert registry.get(task_id).status == "cancelled"
    other = registry.start_task("backup", "ops", "job")
    one_line_error(run_cli("learn", "cancel", other, state_dir=state_dir), "not a learning job")


DAEMON = textwrap.dedent("""
    import sys, threading, time
    from grace_tui.engine import Engine
    from grace_tui.lockfile import SupervisorLock
    from grace_tui.paths import StatePaths
    from grace_tui.registry import Registry
    paths = StatePaths(sys.argv[1]).ensure()
    lock = SupervisorLock(paths.lock).acquire()
    engine = Engine(paths, Registry.open(paths.root))
    engine.start()
    gate = threading.Event()
    def slow(ctx):
        while True:
            ctx.progress(5, "epoch 1/10")
            time.sleep(0.02)
    engine.learning.register_job("slow", "ml_training", slow)
    print("ready", flush=True)
    sys.stdin.readline()
    engine.stop()
""")


def test_run_and_cancel_go_through_a_running_daemon(registry, state_dir):
    daemon = subprocess.Popen([sys.executable, "-c", DAEMON, str(state_dir)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert daemon.stdout.readline().strip() == "ready"
        started = run_cli("learn", "run", "slow", "--no-wait", state_dir=state_dir)
        assert started.returncode == 0, started.stderr
        task_id = started.stdout.strip()
        wait_until(lambda: registry.get(task_id).status == "active", message="job active in the daemon")
        cancelled = run_cli("learn", "cancel", task_id, state_dir=state_dir)
        assert cancelled.returncode == 0 and "cancelling" in cancelled.stdout, cancelled.stderr
        wait_until(lambda: registry.get(task_id).status == "cancelled", message="cancelled in the daemon")
    finally:
        daemon.stdin.write("\n")
        daemon.stdin.flush()
        daemon.wait(30)


def test_a_bad_learning_config_is_one_line_naming_the_file_line_and_key(state_dir, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[learning]\nsample_interval_s = \"often\"\n")
    result = run_cli("learn", "list", "--config", str(config), state_dir=state_dir)
    one_line_error(result, f"{config}:2: learning.sample_interval_s: expected a number")
    assert result.returncode == 2

"""Metric history: real samples from psutil, a real service process, and bounded retention."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from grace_tui.errors import ConfigError
from grace_tui.learning.sampler import MetricSampler, dir_bytes, host_samples
from grace_tui.learning.settings import LearningSettings
from grace_tui.registry import metrics
from grace_tui.registry.metrics import Sample
from grace_tui.registry.services import get_service, upsert_service
from grace_tui.supervisor.host import HOST_ROW, HostCpu, host_memory
from supervisor_helpers import banner_pid, echo_argv, free_port, running_engine, wait_for

DAY = 86400.0


def test_host_dir_and_service_metrics_are_sampled(registry, tmp_path):
    watched = tmp_path / "spool"
    watched.mkdir()
    (watched / "a").write_bytes(b"x" * 1000)
    (watched / "sub").mkdir()
    (watched / "sub" / "b").write_bytes(b"y" * 500)
    service = subprocess.Popen([sys.executable, "-c", "import signal; print('up', flush=True); signal.pause()"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert service.stdout.readline() == "up\n"  # sample the interpreter once it is loaded, not mid-exec
        upsert_service("web", mode="watched", state="running", pid=service.pid, connect_ms=1.5)
        settings = LearningSettings(disk_paths=[str(tmp_path)], watch_dirs={str(watched): 10_000.0})
        taken = {s.metric: s for s in MetricSampler(settings).sample_once(now=1000.0)}
    finally:
        service.kill()
        service.wait()
        service.stdout.close()
    assert {"host.mem_used", "host.load1", f"disk:{tmp_path}"} <= set(taken)
    assert "host.cpu_pct" not in taken  # no CPU window yet: the sampler was made a moment ago
    assert taken[f"dir:{watched}"] == Sample(f"dir:{watched}", 1000.0, 1500.0, 10_000.0)
    assert taken["host.mem_used"].capacity > taken["host.mem_used"].value > 0
    assert taken["svc:web.rss_bytes"].value > 1_000_000  # a real Python process
    assert taken["svc:web.fds"].value >= 3 and taken["svc:web.fds"].capacity > 0
    assert taken["svc:web.connect_ms"].value == 1.5
    stored = metrics.samples("svc:web.rss_bytes")
    assert [s.ts for s in stored] == [1000.0]


def echo_config(tmp_path, extra: str = ""):
    """(port, config path) of one echo service; checks and sampling rounds an hour apart: the test drives them."""
    port = free_port()
    argv = ", ".join(f'"{a}"' for a in echo_argv(port))
    path = tmp_path / "config.toml"
    path.write_text("[supervisor]\ncheck_interval = 3600.0\n[learning]\nsample_interval_s = 3600\n"
                    f"{extra}[services.echo]\ncommand = [{argv}]\nport = {port}\n")
    return port, path


def test_an_engine_samples_its_supervisors_services_from_memory(tmp_path):
    """Under an engine the sampler reads the supervisor's services, not the registry's rows; the
    host's row is not sampled as a service (host_samples reads the host itself)."""
    port, path = echo_config(tmp_path)
    with running_engine(tmp_path, path) as engine:
        runner = engine.supervisor.runners["echo"]
        wait_for(lambda: runner.state == "running" and banner_pid(port) == runner.pid, what="echo up")
        wait_for(lambda: get_service(HOST_ROW), what="the host's row")
        sampler = engine.learning_service.sampler
        assert sampler.services == engine.supervisor.service_views
        expected = psutil.Process(runner.pid)
        fds_before = expected.num_fds()  # a probe's connection may still be open, or closing meanwhile
        taken = {s.metric: s for s in sampler.sample_once(now=1000.0)}
        fds_after = expected.num_fds()
        assert taken["svc:echo.rss_bytes"].value == pytest.approx(expected.memory_info().rss, rel=0.2)
        # the kernel's count also holds the descriptor a blocked accept() has reserved
        assert min(fds_before, fds_after) <= taken["svc:echo.fds"].value <= max(fds_before, fds_after) + 1
        assert taken["svc:echo.fds"].capacity == expected.rlimit(psutil.RLIMIT_NOFILE)[0]
        assert not [m for m in taken if m.startswith(f"svc:{HOST_ROW}")]


def test_a_stopped_service_has_no_figures_to_sample_or_show(tmp_path):
    """Its last check round measured a process that is gone: the sampler must not store that
    RSS every 15 s as if it were still true, nor the pane show it."""
    _, path = echo_config(tmp_path, "[host]\nenabled = false\n")
    with running_engine(tmp_path, path) as engine:
        runner = engine.supervisor.runners["echo"]
        wait_for(lambda: (get_service("echo") or runner).rss_bytes, what="the first sample in the registry")
        engine.stop_service("echo")
        wait_for(lambda: runner.state == "stopped" and get_service("echo").state == "stopped", what="stopped")
        row = get_service("echo")
        assert (row.cpu_pct, row.rss_bytes, row.num_fds, row.connect_ms) == (None, None, None, None)
        taken = engine.learning_service.sampler.sample_once(now=1000.0)
        assert not [s.metric for s in taken if s.metric.startswith("svc:echo.")]


def test_host_cpu_and_memory_read_from_proc_agree_with_psutil():
    cpu = HostCpu()
    start = time.process_time()
    while time.process_time() - start < HostCpu.MIN_WINDOW_S + 0.1:  # CPU work, counted in ticks
        pass
    assert 0 < cpu.percent() <= 100
    available, total = host_memory()
    assert total == psutil.virtual_memory().total
    assert available == pytest.approx(psutil.virtual_memory().available, rel=0.1)


def test_host_cpu_says_nothing_over_a_window_too_short_to_count():
    """At start the host check and the sampler read the CPU a few ms after the baseline: a few
    10 ms ticks of start-up work would read as 100% busy and feed the anomaly detector a spike."""
    now = [0.0]
    cpu = HostCpu(clock=lambda: now[0])
    now[0] = HostCpu.MIN_WINDOW_S / 10
    assert cpu.percent() is None
    assert "host.cpu_pct" not in {s.metric for s in host_samples(1.0, [], cpu.percent())}
    start = time.process_time()
    while time.process_time() - start < 0.3:  # CPU work, counted in ticks
        pass
    now[0] = HostCpu.MIN_WINDOW_S
    assert 0 < cpu.percent() <= 100


def test_dir_bytes_of_a_missing_dir_is_none(tmp_path):
    assert dir_bytes(str(tmp_path / "nope")) is None
    assert dir_bytes(str(tmp_path)) == 0


def test_retention_folds_old_samples_into_means_and_drops_the_oldest(registry):
    settings = LearningSettings(raw_keep_s=DAY, mid_resolution_s=600, mid_keep_s=3 * DAY,
                                coarse_resolution_s=3600, coarse_keep_s=7 * DAY)
    end = 100 * DAY
    start = end - 10 * DAY
    step = 120.0
    n = int(10 * DAY / step)
    for metric in ("m1", "m2"):
        metrics.add_samples(Sample(metric, start + i * step, (start + i * step) / 1000.0) for i in range(n))
    assert metrics.count_samples() == 2 * n
    sampler = MetricSampler(settings)
    removed = sampler.maintain(now=end)
    assert removed["raw_folded"] > 0 and removed["mid_folded"] > 0 and removed["expired"] > 0

    rows = metrics.samples("m1")
    raw = [s for s in rows if s.ts >= end - DAY]
    assert all(s.ts % step == 0 for s in raw) and len(raw) == pytest.approx(DAY / step, abs=6)
    assert min(s.ts for s in rows) >= end - 7 * DAY - 3600  # nothing beyond retention
    assert len(rows) < n / 5  # bounded: 7200 raw rows became about 1000
    by_tier = {res: metrics.samples("m1", resolution=res) for res in (0, 600, 3600)}
    assert all(s.ts >= end - DAY - 600 for s in by_tier[0])
    assert all(end - 3 * DAY - 3600 <= s.ts < end - DAY for s in by_tier[600])
    assert all(s.ts < end - 3 * DAY for s in by_tier[3600])
    # A mean of a linear series is its value at the bucket's middle.
    hour = by_tier[3600][len(by_tier[3600]) // 2]
    assert hour.value == pytest.approx((hour.ts + 3600 / 2 - step / 2) / 1000.0)
    # Maintaining again changes nothing: whole buckets only, never folded twice.
    before = metrics.count_samples()
    assert sampler.maintain(now=end) == {"raw_folded": 0, "mid_folded": 0, "expired": 0}
    assert metrics.count_samples() == before


def test_capacity_survives_downsampling(registry):
    metrics.add_samples(Sample("disk:/x", float(t), float(t), 5000.0) for t in range(0, 3600, 60))
    metrics.downsample(older_than=3600, from_resolution=0, to_resolution=600)
    folded = metrics.samples("disk:/x")
    assert len(folded) == 6 and all(s.capacity == 5000.0 for s in folded)


@pytest.mark.parametrize(("data", "message"), [
    ({"sample_interval_s": "fast"}, "learning.sample_interval_s: expected a number"),
    ({"workers": 0}, "learning.workers: expected a positive number"),
    ({"watch_dirs": {"/srv": -1}}, "learning.watch_dirs./srv: expected a positive number"),
    ({"disk_paths": "/"}, "learning.disk_paths: expected a list of paths"),
    ({"anomaly_threshold": 2}, "learning.anomaly_threshold: expected a score in"),
    ({"anomaly_remediation": "yes"}, "learning.anomaly_remediation: expected true or false"),
])
def test_bad_learning_settings_name_the_field(data, message):
    with pytest.raises(ConfigError, match=message):
        LearningSettings.from_dict(data, source="config.toml")


def test_unknown_learning_keys_are_left_to_others():
    assert LearningSettings.from_dict({"future_knob": 1, "workers": 3}).workers == 3


def test_state_db_stays_private(registry, state_dir):
    metrics.add_samples([Sample("m", 1.0, 1.0)])
    assert os.stat(state_dir / "grace.db").st_mode & 0o777 == 0o600


def test_a_reloaded_learning_config_applies_in_place_and_a_bad_one_changes_nothing(registry, state_dir):
    from grace_tui.incidents import IncidentLog
    from grace_tui.learning.service import LearningService
    from grace_tui.paths import StatePaths

    service = LearningService(registry, IncidentLog(registry, StatePaths(state_dir)), {"sample_interval_s": 30})
    assert service.sampler.settings is service.settings is service.online.settings
    service.apply_config({"sample_interval_s": 5, "schedule": {"train_anomaly": 60}, "anomaly_threshold": 0.5})
    assert service.sampler.settings.sample_interval_s == 5 and service.online.settings.anomaly_threshold == 0.5
    every = {spec.name: spec.every_s for spec in service.runner.jobs()}
    assert every == {"train_anomaly": 60, "forecast_exhaustion": 300}  # unnamed jobs keep their period
    with pytest.raises(ConfigError, match="learning.sample_interval_s"):
        service.apply_config({"sample_interval_s": -1})
    assert service.settings.sample_interval_s == 5


# A parent whose child is a thread's child and whose grandchild sits below that: the tree the
# sampler sums a service's CPU and RSS over.
TREE = """
import subprocess, sys, threading
def spawn():
    subprocess.Popen([sys.executable, "-c",
                      "import subprocess, sys, signal; subprocess.Popen([sys.executable, '-c', "
                      "'import signal; signal.pause()']); signal.pause()"])
threading.Thread(target=spawn).start()
print("ready", flush=True)
import signal; signal.pause()
"""


@pytest.mark.parametrize("children_files", [True, False], ids=["proc-children-files", "process-table-scan"])
def test_tree_finds_every_process_below_including_children_of_threads(monkeypatch, children_files):
    import psutil

    from grace_tui.supervisor import procs

    if children_files and not procs._children_files():
        pytest.skip("this kernel has no /proc/PID/task/TID/children")
    monkeypatch.setattr(procs, "_HAS_CHILDREN_FILES", children_files)
    parent = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        root = psutil.Process(parent.pid)
        for _ in range(3000):  # the grandchild is on its way
            if len(root.children(recursive=True)) == 2:
                break
            time.sleep(0.01)
        expected = {p.pid for p in root.children(recursive=True)}
        assert len(expected) == 2
        [(first, _), *below] = procs.tree(parent.pid)
        assert first == parent.pid and {pid for pid, _ in below} == expected
    finally:
        for p in psutil.Process(parent.pid).children(recursive=True):
            p.kill()
        parent.kill()
        parent.wait()


def test_a_first_round_creates_all_its_series_at_once_and_ids_stay_stable(registry):
    names = [f"svc:s{i}.rss_bytes" for i in range(250)]  # more than one 200-name chunk
    first = metrics.series_ids(names)
    assert len(set(first.values())) == 250
    metrics._series_ids.clear()  # as a new process would: ids come from the table
    assert metrics.series_ids(reversed(names)) == first
    assert metrics.add_samples([Sample(n, 5.0, 1.0) for n in names[:3]] + [Sample("host.load1", 5.0, 0.5)]) == 4
    assert metrics.series_id("host.load1") not in first.values()

"""Reading what a process uses: real processes, compared with what psutil says of them."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from grace_tui.supervisor import procs

# Told to go, busy for argv[1] seconds of its own CPU time, then says so and waits: known CPU to measure.
BURN = """
import signal, sys, time
sys.stdin.readline()
start = time.process_time()
while time.process_time() - start < float(sys.argv[1]):
    pass
print("done", flush=True)
signal.pause()
"""


def _start(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _go(proc: subprocess.Popen) -> None:
    proc.stdin.write("go\n")
    proc.stdin.flush()


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()
    proc.stdin.close()
    proc.stdout.close()


def test_usage_reads_cpu_rss_and_start_time_as_psutil_does():
    proc = _start(BURN, "0.3")
    try:
        _go(proc)
        assert proc.stdout.readline() == "done\n"
        used = procs.usage(proc.pid)
        assert procs.alive(proc.pid)
        expected = psutil.Process(proc.pid)
        times = expected.cpu_times()
        assert used is not None
        assert used.cpu_s >= 0.3 and used.cpu_s == pytest.approx(times.user + times.system, abs=0.02)
        # the same memory, read a moment apart from another file
        assert used.rss_bytes == pytest.approx(expected.memory_info().rss, rel=0.05)
        assert used.started + psutil.boot_time() == pytest.approx(expected.create_time(), abs=1.0)
        assert procs.open_fds(proc.pid) == expected.num_fds()
        assert used.threads == expected.num_threads()
    finally:
        _stop(proc)


def test_a_zombie_or_a_gone_process_has_no_usage_and_is_not_alive():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    while psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE:  # exited, not yet reaped by us
        time.sleep(0.005)
    assert procs.usage(proc.pid) is None and not procs.alive(proc.pid)
    proc.wait()
    assert procs.usage(proc.pid) is None
    assert procs.open_fds(proc.pid) is None


def test_cpu_meter_measures_between_readings_and_restarts_on_a_new_process():
    meter = procs.CpuMeter()
    proc = _start(BURN, "0.2")
    try:
        first = procs.usage(proc.pid)  # before it burns anything
        assert meter.percent(proc.pid, first, now=100.0) == 0.0  # the first reading only sets the baseline
        _go(proc)
        assert proc.stdout.readline() == "done\n"
        second = procs.usage(proc.pid)
        burnt = second.cpu_s - first.cpu_s
        assert burnt >= 0.15  # 0.2 s less the part of a 10 ms tick /proc may not show yet
        assert meter.percent(proc.pid, second, now=102.0) == pytest.approx(burnt / 2.0 * 100)
        # the same PID with another start time is another process: no delta across the two
        reused = procs.Usage(cpu_s=second.cpu_s + 50, rss_bytes=1, started=second.started + 7)
        assert meter.percent(proc.pid, reused, now=103.0) == 0.0
    finally:
        _stop(proc)


def test_a_script_run_through_its_shebang_is_an_instance_of_its_command(tmp_path):
    """The kernel runs `start.sh` as `/bin/sh start.sh ARGS`: that process is the service, for
    free_port and for adopting it after a supervisor restart; another script is not."""
    from grace_tui.config import config_from_dict

    script, other = tmp_path / "start.sh", tmp_path / "other.sh"
    for path in (script, other):
        path.write_text("#!/bin/sh\nexec sleep 60\n" if path == other else "#!/bin/sh\nsleep 60\n")
        path.chmod(0o755)
    proc = subprocess.Popen([str(script), "--port", "8080"])
    try:
        wait = time.monotonic() + 20
        while psutil.Process(proc.pid).cmdline()[:1] != ["/bin/sh"]:  # exec'd through its #! line
            assert time.monotonic() < wait
            time.sleep(0.01)
        assert psutil.Process(proc.pid).cmdline() == ["/bin/sh", str(script), "--port", "8080"]

        def identity(command: list[str], **extra):
            config = config_from_dict({"services": {"s": {"command": command, **extra}}}, source="<test>")
            return procs.verify_identity(proc.pid, config.services["s"])[0]

        assert identity([str(script), "--port", "8080"])
        assert identity(["./start.sh", "--port", "8080"], cwd=str(tmp_path))
        assert not identity([str(script), "--port", "9090"])
        assert not identity([str(other), "--port", "8080"])
    finally:
        proc.kill()
        proc.wait()

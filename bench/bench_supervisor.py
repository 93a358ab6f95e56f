#!/usr/bin/env python3
"""grace-tui vs supervisord, side by side in one run, on the anchor workload.

Reuses the anchor harness (/work/shared/bench/anchors/mttr_bench.py): the same
echo server, the same SIGKILL -> "port answers from a new PID" measurement (5 ms
polls), the same idle overhead measurement (CPU seconds and VmHWM of the
supervisor process with N idle services). supervisord comes from PyPI, installed
into its own venv (default /tmp/bench-venv). grace-tui is installed the way a user
gets it, `pip install <repo root>` into its own clean venv (default
/tmp/grace-bench-venv: no test extra, no psycopg2), and runs as `grace-tui daemon`
from there.

    python bench/bench_supervisor.py                       # 20 trials, 3 x 180 s overhead windows each
    python bench/bench_supervisor.py --trials 5 --duration 10 --out -
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

ANCHORS = Path(os.environ.get("ANCHORS_DIR", "/work/shared/bench/anchors"))
VENV = Path(os.environ.get("BENCH_VENV", "/tmp/bench-venv"))
os.environ["ANCHORS_VENV"] = str(VENV)  # read by mttr_bench at import
sys.path.insert(0, str(ANCHORS))
import mttr_bench as mb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GRACE_VENV = Path(os.environ.get("GRACE_BENCH_VENV", "/tmp/grace-bench-venv"))
GRACE_PY = str(GRACE_VENV / "bin" / "python")


def ensure_supervisord() -> str:
    if not (VENV / "bin" / "supervisord").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "supervisor"], check=True)
    out = subprocess.run([str(VENV / "bin" / "supervisord"), "--version"], capture_output=True, text=True)
    return out.stdout.strip()


def ensure_grace() -> str:
    """A clean venv with grace-tui installed from this checkout (reinstalled each run: current code)."""
    pip = str(GRACE_VENV / "bin" / "pip")
    if not Path(pip).exists():
        subprocess.run([sys.executable, "-m", "venv", str(GRACE_VENV)], check=True)
        subprocess.run([pip, "install", "-q", str(ROOT)], check=True)
    subprocess.run([pip, "install", "-q", "--force-reinstall", "--no-deps", str(ROOT)], check=True)
    frozen = subprocess.run([pip, "freeze"], capture_output=True, text=True).stdout.split()
    return ", ".join(x for x in frozen if x.split("==")[0].lower() in ("peewee", "psutil", "watchfiles", "textual"))


# grace_tui.cli first, as in `grace-tui daemon`: it keeps hashlib from loading OpenSSL (3.4 MB).
IMPORT_STEPS = ("grace_tui.cli", "sqlite3", "peewee", "psutil", "watchfiles", "grace_tui.engine", "grace_tui.supervisor",
                "grace_tui.governance", "grace_tui.learning.service", "grace_tui.cli.main")
IMPORT_PROBE = """
import sys
def rss():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS'))
print('python', rss())
for name in sys.argv[1:]:
    __import__(name)
    print(name, rss())
"""


def import_breakdown() -> list[tuple[str, int]]:
    """VmRSS (kB) after each import, in the clean venv: what the runtime dependencies cost."""
    out = subprocess.run([GRACE_PY, "-I", "-c", IMPORT_PROBE, *IMPORT_STEPS], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return [(name, int(kb)) for name, kb in (line.split() for line in out.splitlines())]


class GraceSupervised(mb.Supervised):
    """The harness's Supervised, running `grace-tui daemon` instead."""

    def __init__(self, n: int, base_port: int, extra_toml: str = ""):
        super().__init__("supervisord", "default", n, base_port)
        self.extra_toml = extra_toml
        self.kind = "grace-tui"
        self.profile_name = "default"
        self.profile = {"check_interval": 30.0, "min_uptime": 1.0, "restart_budget": 5}
        self.run = self.run.replace("mttr-bench-supervisord-", "mttr-bench-grace-tui-")
        os.rename(self.run.replace("grace-tui", "supervisord"), self.run)

    def write_config(self) -> None:
        lines = [self.extra_toml]
        for i in range(self.n):
            argv = ", ".join(f'"{a}"' for a in shlex.split(self.echo_cmd(i)))
            lines += [f"[services.echo{i}]", f"command = [{argv}]", f"port = {self.ports[i]}", ""]
        self.config_text = "\n".join(lines)
        self.config_path = f"{self.run}/config.toml"
        self.log_path = f"{self.run}/supervisor.stdout"  # the daemon logs to stderr
        Path(self.config_path).write_text(self.config_text)

    def command(self) -> list[str]:
        return [GRACE_PY, "-m", "grace_tui", "daemon", "--config", self.config_path,
                "--state-dir", f"{self.run}/state", "--log-level", "info"]  # the default: a failed trial shows why

    def state(self, i: int) -> str:
        return ""


def run_ns(pid: int) -> int:
    """Nanoseconds the scheduler ran the process's live threads (/proc/PID/task/*/schedstat).
    CPU ticks are 10 ms, and an idle supervisor uses a few per minute: this tells 45 ms from 55."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that ended: its time is in the ticks only
    return total


RUN_NS: list[int] = []  # run_ns at each cpu_times() of the current window (its start and end)


class _RunTimeProcess:
    """psutil.Process for the harness's overhead window: each cpu_times() (the window's start
    and end) also reads the scheduler's run time, the same way for every supervisor."""

    def __init__(self, pid: int):
        self._process = _real_psutil.Process(pid)
        self._pid = pid

    def __getattr__(self, name: str):
        return getattr(self._process, name)

    def cpu_times(self):
        RUN_NS.append(run_ns(self._pid))
        return self._process.cpu_times()


class _PsutilWithRunTime:
    def __getattr__(self, name: str):
        return _RunTimeProcess if name == "Process" else getattr(_real_psutil, name)


_real_psutil = mb.psutil
mb.psutil = _PsutilWithRunTime()


def overhead(kind: str, a: argparse.Namespace) -> dict:
    """One harness overhead window, plus the scheduler's CPU time over the same window."""
    RUN_NS.clear()
    STOPPED.clear()
    result = mb.mode_overhead(args_for(kind, "overhead", a))
    result.update(STOPPED)
    if len(RUN_NS) == 2:
        result["cpu_sched_s"] = (RUN_NS[1] - RUN_NS[0]) / 1e9
    return result


LEARNING_OFF = "[learning]\nsample_host = false\nsample_services = false\n"


WARMUP_S = 0.0  # set from --warmup: overhead windows start this long after the supervisor


def _factory(kind, profile, n, base_port, **kw):
    if kind == "grace-tui":
        sup = GraceSupervised(n, base_port)
    elif kind == "grace-tui-learning-off":
        sup = GraceSupervised(n, base_port, LEARNING_OFF)
    else:
        sup = _original(kind, profile, n, base_port, **kw)
    stop = sup.stop

    def count_then_stop(keep=False):  # before the harness deletes the run dir
        STOPPED.update(restarts=restarts(sup), incidents=incidents_opened(sup))
        return stop(keep)

    sup.stop = count_then_stop
    if WARMUP_S:
        start = sup.start

        def start_then_settle():  # same wait for every supervisor
            start()
            time.sleep(WARMUP_S)

        sup.start = start_then_settle
    return sup


STOPPED: dict = {}  # what the last supervisor did while it ran, read as it is stopped


def restarts(sup) -> int:
    """Echo-server starts beyond the first of each (their --startlog), whoever supervised them."""
    starts = 0
    for i in range(sup.n):
        try:
            starts += len(Path(f"{sup.run}/echo{i}.starts").read_text().splitlines())
        except OSError:
            pass
    return max(0, starts - sup.n)


def incidents_opened(sup) -> int | None:
    """Distinct incidents in grace-tui's incidents.jsonl; None for supervisord."""
    if not isinstance(sup, GraceSupervised):
        return None
    try:
        lines = Path(f"{sup.run}/state/incidents.jsonl").read_text().splitlines()
    except OSError:
        return 0
    return len({json.loads(line).get("incident") for line in lines if line.strip()} - {None})


_original = mb.Supervised
mb.Supervised = _factory
mb.LIMIT_PATTERNS["grace-tui"] = []


def free_base(n: int) -> int:
    """A base port with n free ports above it, below the ephemeral range: a probe of a port in
    that range can connect to itself while the server is down, and the harness's probe would then
    hold the port in TIME_WAIT for 60 s, where no restart can bind it (a failed trial that is the
    harness's doing, for any supervisor)."""
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for base in range(20000, ephemeral_low - n, 100):
        if all(_free(base + i) for i in range(n)):
            return base
    raise SystemExit(f"no {n} free ports between 20000 and the ephemeral range ({ephemeral_low})")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def args_for(kind: str, mode: str, a: argparse.Namespace) -> argparse.Namespace:
    n = 1 if mode == "mttr" else a.n
    return argparse.Namespace(supervisor=kind, profile="default", n=n, base_port=free_base(n), cycle=None,
                              limit="profile", trials=a.trials, settle=a.settle, jitter=a.jitter, seed=a.seed,
                              trial_timeout=30.0, state_each_trial=False, keep=False, duration=a.duration)


def median_overhead(windows: list[dict]) -> dict:
    """Median CPU and VmHWM over the windows, with the range of each."""
    cpu = sorted(w.get("cpu_s", 0.0) for w in windows)
    sched = sorted(w.get("cpu_sched_s", 0.0) for w in windows)
    hwm = sorted(w.get("vm_hwm_kb") or 0 for w in windows)
    mid = len(windows) // 2
    return {"cpu_s": cpu[mid], "cpu_range": (cpu[0], cpu[-1]),
            "sched_s": sched[mid], "sched_range": (sched[0], sched[-1]), "window_s": windows[mid].get("window_s", 0.0),
            "cpu_pct_of_one_core": 100.0 * cpu[mid] / (windows[mid].get("window_s") or 1.0),
            "vm_hwm_kb": hwm[mid], "hwm_range": (hwm[0], hwm[-1]),
            "services_up_after": min(w.get("services_up_after", 0) for w in windows), "windows": len(windows),
            "restarts": sum(w.get("restarts", 0) for w in windows),
            "incidents": sum(w.get("incidents") or 0 for w in windows)}


def _cpu(o: dict) -> str:
    lo, hi = o["cpu_range"]
    return f"{o['cpu_s']:.3f} s ({o['cpu_pct_of_one_core']:.3f}% of a core; {lo:.2f}–{hi:.2f})"


def _sched(o: dict) -> str:
    lo, hi = o["sched_range"]
    return f"{o['sched_s'] * 1000:.1f} ms ({lo * 1000:.1f}–{hi * 1000:.1f})"


def _hwm(o: dict) -> str:
    lo, hi = o["hwm_range"]
    return f"{o['vm_hwm_kb'] / 1024:.1f} MB ({lo / 1024:.1f}–{hi / 1024:.1f})"


def _ratio(theirs, ours) -> str:
    """supervisord / grace-tui: above 1 means grace-tui uses less."""
    return f"{theirs / ours:.2f}x" if theirs and ours else "-"


def fmt_ms(x) -> str:
    return "-" if x is None else f"{x * 1000:.1f} ms"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--settle", type=float, default=2.0, help="seconds up before each kill (anchor: 2)")
    p.add_argument("--jitter", type=float, default=1.0, help="plus U(0, jitter) (anchor: 1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--n", type=int, default=20, help="idle services for the overhead run")
    p.add_argument("--duration", type=float, default=180.0,
                   help="overhead window, seconds (CPU is counted in 10 ms ticks: 60 s windows differ by a tick or two)")
    p.add_argument("--warmup", type=float, default=70.0,
                   help="seconds between starting a supervisor and its overhead window, for every supervisor "
                        "(grace-tui's one-off start-up jobs run at 5 s and 60 s: idle means after them)")
    p.add_argument("--repeats", type=int, default=3,
                   help="overhead windows per supervisor, alternating (CPU is counted in 10 ms ticks: one window is noisy)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "supervisor.md"), help="'-' for none")
    a = p.parse_args()
    version = ensure_supervisord()
    grace_deps = ensure_grace()
    imports = import_breakdown()
    load_start = os.getloadavg()[0]
    results = {}
    for kind in ("grace-tui", "supervisord"):
        print(f"== {kind}: MTTR, {a.trials} SIGKILL trials", flush=True)
        mttr = mb.mode_mttr(args_for(kind, "mttr", a))
        for trial in mttr["trials"]:
            if trial.get("error"):
                print(f"   trial {trial['trial']}: {trial['error']} {trial.get('state', '')}", flush=True)
                print("   the supervisor's log, last lines:\n" + mttr.get("log_tail", ""), flush=True)
        results[kind] = [mttr, []]
    results["grace-tui-learning-off"] = [None, []]
    global WARMUP_S
    WARMUP_S = a.warmup
    for round_ in range(a.repeats):  # alternate, so a busy spell on the shared machine hits every kind
        for kind in ("grace-tui", "grace-tui-learning-off", "supervisord"):
            print(f"== {kind}: idle overhead {round_ + 1}/{a.repeats}, {a.n} services, {a.duration:g} s", flush=True)
            results[kind][1].append(overhead(kind, a))
    for kind in results:
        results[kind][1] = median_overhead(results[kind][1])
    g, s = results["grace-tui"][0]["summary"]["mttr_s"], results["supervisord"][0]["summary"]["mttr_s"]
    go, so = results["grace-tui"][1], results["supervisord"][1]
    lo = results["grace-tui-learning-off"][1]
    rows = [
        "| | grace-tui | supervisord | ratio (supervisord / grace-tui) |",
        "|---|---|---|---|",
        f"| MTTR median | {fmt_ms(g.get('median'))} | {fmt_ms(s.get('median'))} | "
        f"{s['median'] / g['median']:.1f}x |" if g.get("n") and s.get("n") else "| MTTR median | - | - | - |",
        f"| MTTR p90 | {fmt_ms(g.get('p90'))} | {fmt_ms(s.get('p90'))} | "
        f"{s['p90'] / g['p90']:.1f}x |" if g.get("n") and s.get("n") else "| MTTR p90 | - | - | - |",
        f"| MTTR min / max | {fmt_ms(g.get('min'))} / {fmt_ms(g.get('max'))} | "
        f"{fmt_ms(s.get('min'))} / {fmt_ms(s.get('max'))} | |",
        f"| trials recovered | {g.get('n', 0)}/{a.trials} | {s.get('n', 0)}/{a.trials} | |",
        f"| idle CPU, {a.n} services, median of {go['windows']} windows of {go['window_s']:.0f} s (range) | "
        f"{_cpu(go)} | {_cpu(so)} | {_ratio(so['cpu_s'], go['cpu_s'])} |",
        f"| same, grace-tui with learning sampling off (supervision only) | {_cpu(lo)} | {_cpu(so)} | "
        f"{_ratio(so['cpu_s'], lo['cpu_s'])} |",
        f"| idle CPU as the scheduler counts it (ns run time of every thread), median (range) | {_sched(go)} | "
        f"{_sched(so)} | {_ratio(so['sched_s'], go['sched_s'])} |",
        f"| same, grace-tui with learning sampling off | {_sched(lo)} | {_sched(so)} | "
        f"{_ratio(so['sched_s'], lo['sched_s'])} |",
        f"| peak RSS (VmHWM), {a.n} services, median (range) | {_hwm(go)} | {_hwm(so)} | "
        f"{_ratio(so['vm_hwm_kb'], go['vm_hwm_kb'])} |",
        f"| same, grace-tui with learning sampling off | {_hwm(lo)} | {_hwm(so)} | "
        f"{_ratio(so['vm_hwm_kb'], lo['vm_hwm_kb'])} |",
        f"| services up after every window (fewest) | {go['services_up_after']}/{a.n}, learning sampling off "
        f"{lo['services_up_after']}/{a.n} | {so['services_up_after']}/{a.n} | |",
        f"| restarts during the overhead runs (echo-server starts beyond the first, all windows) | "
        f"{go['restarts']} ({go['incidents']} incidents), learning sampling off {lo['restarts']} "
        f"({lo['incidents']} incidents) | {so['restarts']} | |",
    ]
    table = "\n".join(rows)
    steps = ["| import | VmRSS after | added |", "|---|---|---|"]
    for (name, kb), (_, before) in zip(imports, [imports[0]] + imports[:-1]):
        steps.append(f"| {name} | {kb / 1024:.1f} MB | +{(kb - before) / 1024:.1f} MB |")
    breakdown = "\n".join(steps)
    print("\n" + table + "\n\n" + breakdown)
    if a.out != "-":
        machine = (f"{platform.node()}: {platform.platform()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}, load1 {load_start:.2f} at the start and {os.getloadavg()[0]:.2f} at the end "
                   f"(a shared machine: other jobs were running)")
        text = (f"# grace-tui vs supervisord (one run, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n"
                f"Workload: the anchor harness ({ANCHORS}/mttr_bench.py): SIGKILL the echo server, time until "
                f"127.0.0.1:PORT answers from a new PID (5 ms polls); {a.trials} trials, {a.settle:g} s + "
                f"U(0, {a.jitter:g}) s up before each kill. Overhead: {a.n} idle echo servers, CPU time and "
                f"VmHWM of the supervisor process over {a.duration:g} s starting {a.warmup:g} s after it was started, "
                f"{a.repeats} windows per supervisor, taken in turn.\n\n"
                f"- grace-tui: installed with `pip install <repo root>` into a clean venv ({GRACE_VENV}: {grace_deps}; "
                f"no test extra, no psycopg2); `grace-tui daemon` with defaults (check_interval 30 s, host checks on, learning "
                f"sampling every 15 s in the same process), and once more with `[learning]` sampling off\n"
                f"- supervisord: {version} from PyPI, anchor profile `default` (autorestart=true, startsecs=1)\n"
                f"- machine: {machine}\n\n{table}\n\n"
                f"What the process costs before it supervises anything (VmRSS after each import, clean venv):\n\n"
                f"{breakdown}\n\n"
                f"Command: `{' '.join(shlex.quote(x) for x in [sys.executable] + sys.argv)}`\n")
        Path(a.out).write_text(text)
        print(f"\nwritten to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

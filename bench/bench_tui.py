#!/usr/bin/env python3
"""Benchmark the TUI as a user runs it: a real `grace-tui` process in a pseudo-terminal.

1. Fill a state dir with N historical tasks (default 1,000,000; bulk-inserted here,
   script-side, straight through the registry's models) plus a few live ones.
2. Start-up to first paint: spawn `grace-tui --attach` in a pty (80x24) and time
   until the header with the incident counts has been written to the terminal.
3. Key-to-screen: press 3 / 4 alternately (switch tabs) and time until the new
   panel's title arrives on the terminal.
4. Change-to-screen: report progress on a running task from this process and time
   until the new percentage is on the terminal (attached mode polls every 200 ms;
   embedded mode is driven by events in-process, measured separately headless).
5. Idle CPU: the child's CPU time over 30 s of nothing happening.

    python3 bench/bench_tui.py [--tasks 1000000] [--idle 30] [--write bench/results/tui.md]
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import platform
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from grace_tui.registry import Registry  # noqa: E402
from grace_tui.registry.ids import new_task_id  # noqa: E402
from grace_tui.registry.models import Task, TaskStat  # noqa: E402

ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>78]|\x1b\][^\x07]*\x07")
SUBSYSTEMS = ("self_healing", "learning", "ops", "governance")


# ---------------------------------------------------------------------- data
def fill_history(registry: Registry, count: int) -> float:
    """Bulk-insert `count` finished tasks (script-side helper, not app code); returns seconds."""
    started = time.perf_counter()
    now = time.time()
    chunk = 5000
    stats: dict[tuple[str, str], list[float]] = {}
    with registry.database.atomic():
        for base in range(0, count, chunk):
            rows = []
            for i in range(base, min(count, base + chunk)):
                created = now - (count - i) * 2.0  # one task every 2 s, oldest first
                duration = 0.5 + (i % 97) * 0.3
                subsystem = SUBSYSTEMS[i % len(SUBSYSTEMS)]
                status = "failed" if i % 53 == 0 else "completed"
                rows.append((new_task_id(), subsystem, "job", f"historical job {i}", status, 100.0, "",
                             created, created, created + duration, created + duration, duration, "bench"))
                agg = stats.setdefault((subsystem, status), [0, 0.0])
                agg[0] += 1
                agg[1] += duration
            Task.insert_many(rows, fields=[Task.id, Task.subsystem, Task.kind, Task.title, Task.status,
                                           Task.progress, Task.message, Task.created_at, Task.started_at,
                                           Task.completed_at, Task.updated_at, Task.duration_s,
                                           Task.host]).execute()
        for (subsystem, status), (n, total) in stats.items():
            TaskStat.insert(subsystem=subsystem, status=status, count=n, duration_sum=total,
                            duration_n=n).execute()
    return time.perf_counter() - started


# ---------------------------------------------------------------------- the terminal
class PtyApp:
    """`grace-tui` in a pseudo-terminal; collects everything it writes."""

    def __init__(self, argv: list[str], cols: int = 80, rows: int = 24):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
        env.pop("NO_COLOR", None)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.buffer = b""

    def read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                self.buffer += os.read(self.master, 1 << 16)
            except OSError:
                pass

    def text_since(self, mark: int) -> bytes:
        return ANSI.sub(b"", self.buffer[mark:])

    def wait_for(self, needle: bytes, since: int, deadline_s: float = 60.0) -> float:
        """Seconds until `needle` shows up in the output after byte offset `since`."""
        t0 = time.perf_counter()
        while needle not in self.text_since(since):
            if time.perf_counter() - t0 > deadline_s:
                tail = self.text_since(since)[-3000:].decode(errors="replace")
                raise TimeoutError(f"{needle!r} never appeared; the terminal last showed:\n{tail}")
            self.read(0.01)
        return time.perf_counter() - t0

    def settle(self, quiet_s: float = 0.3, deadline_s: float = 30.0) -> None:
        """Read until the app has written nothing for `quiet_s` (its last repaint is complete)."""
        end = time.perf_counter() + deadline_s
        while time.perf_counter() < end:
            before = len(self.buffer)
            self.read(quiet_s)
            if len(self.buffer) == before:
                return

    def press(self, key: bytes) -> int:
        self.settle()
        mark = len(self.buffer)
        os.write(self.master, key)
        return mark

    def idle(self, seconds: float) -> float:
        """CPU seconds the app used while nothing changed for `seconds`."""
        process = psutil.Process(self.proc.pid)
        before = process.cpu_times()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.read(0.2)
        after = process.cpu_times()
        return (after.user + after.system) - (before.user + before.system)

    def quit(self) -> None:
        try:
            os.write(self.master, b"q")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.terminate()  # our own child, started above
            self.proc.wait(timeout=10)
        os.close(self.master)


def grace_tui(state: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "grace_tui", "--state-dir", str(state), "--theme", "dark", *extra]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ---------------------------------------------------------------------- measurements
def measure_attached(state: Path, registry: Registry, task_id: str, idle_s: float, keys: int) -> dict[str, object]:
    app = PtyApp(grace_tui(state, "--attach"))
    try:
        app.wait_for(b"grace-tui", 0)  # the frame
        first_paint = time.perf_counter() - app.started
        app.wait_for(b"MTTR today", 0)  # the header with the registry's figures
        data_paint = time.perf_counter() - app.started
        latencies = []
        for i in range(keys):
            key, title = (b"4", b"historical job") if i % 2 == 0 else (b"3", b"bench: live task")
            mark = app.press(key)
            t0 = time.perf_counter()
            app.wait_for(title, mark)
            latencies.append(time.perf_counter() - t0)
        # the "Running tasks" tab is showing: change a task and wait for the pane
        change = []
        for step in range(5):
            percent = 11 + step * 17
            mark = app.press(b"")
            t0 = time.perf_counter()
            registry.progress(task_id, percent, f"bench step {step}")
            app.wait_for(f"bench step {step}".encode(), mark)
            change.append(time.perf_counter() - t0)
        registry.complete(task_id)  # from here on nothing changes: no running task's clock ticks
        app.settle(1.0)
        idle_cpu = app.idle(idle_s)
        return {"first_paint_s": first_paint,
                "data_paint_s": data_paint, "keys": latencies, "change": change, "idle_cpu_s": idle_cpu,
                "idle_s": idle_s}
    finally:
        app.quit()


def measure_embedded_idle(state: Path, idle_s: float) -> float:
    """The whole embedded process (engine with the built-in host-only config, no services) at rest."""
    config_home = Path(tempfile.mkdtemp(prefix="grace-tui-bench-config-"))
    os.environ["XDG_CONFIG_HOME"] = str(config_home)  # no user config: the built-in default
    app = PtyApp(grace_tui(state))
    try:
        app.wait_for(b"MTTR today", 0)
        app.settle(2.0)
        return app.idle(idle_s)
    finally:
        app.quit()


def measure_embedded_events(registry: Registry, task_id: str) -> list[float]:
    """Embedded mode: event -> loader -> cell, in-process and headless (no terminal)."""
    from grace_tui.events import EventBus
    from grace_tui.tui.app import GraceApp
    from grace_tui.tui.data import RegistrySource
    from grace_tui.tui.sample import RecordingActions
    from grace_tui.tui.themes import load_themes

    events: EventBus = registry.events
    app = GraceApp(RegistrySource(registry), RecordingActions(), events=events, themes=load_themes(),
                   theme="dark", close_db=registry.database.close, tick_s=0)
    out: list[float] = []

    async def scenario() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            while app.loads == 0:
                await pilot.pause(0.01)
            table = app.panel("tasks").table
            for step in range(10):
                message = f"embedded step {step}"
                t0 = time.perf_counter()
                await asyncio.to_thread(registry.progress, task_id, 50 + step, message)
                while message not in str(table.get_row(task_id)):
                    await asyncio.sleep(0.002)
                await pilot.pause()  # and painted
                out.append(time.perf_counter() - t0)

    asyncio.run(scenario())
    return out


# Titles are "historical job N", N = 0 (oldest) to 999,999: how far back the 100 newest matches lie.
SEARCH_TERMS = {
    "job 7": "111,111 matches: the first page fills at once",
    "job 4242": "111 matches (4242, 42420-42429, 424200-424299): scans to job 42,420 and older",
    "job 99999": "11 matches, the oldest is job 99,999: scans to there",
}


def measure_history(registry: Registry, pages: int = 5) -> dict[str, list[float]]:
    """Completed panel over the whole registry, headless: ctrl+end on the last row to the next
    older page on screen, and a search typed then confirmed with enter to its results on screen
    (both query in the loader thread)."""
    from grace_tui.tui.app import GraceApp
    from grace_tui.tui.data import RegistrySource
    from grace_tui.tui.sample import RecordingActions
    from grace_tui.tui.themes import load_themes

    app = GraceApp(RegistrySource(registry), RecordingActions(), events=registry.events, themes=load_themes(),
                   theme="dark", close_db=registry.database.close, tick_s=0)
    out: dict[str, list[float]] = {"page": [], "search_rare": [], "key_during_search": []}

    async def until(pilot, condition) -> None:
        while not condition():
            await asyncio.sleep(0.002)
        await pilot.pause()  # and painted

    def searched(panel, text: str) -> bool:
        """The results of this search are in (none asked for or on their way)."""
        return panel.search == text and panel.pending is None and panel._search_timer is None

    async def search(pilot, panel, text: str) -> float:
        await pilot.press("slash", *text)
        t0 = time.perf_counter()
        await pilot.press("enter")
        await until(pilot, lambda: searched(panel, text))
        return time.perf_counter() - t0

    async def scenario() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            panel = app.panel("history")
            await until(pilot, lambda: panel.table.row_count > 0)
            await pilot.press("4")
            for _ in range(pages):
                rows = panel.table.row_count
                t0 = time.perf_counter()
                await pilot.press("ctrl+end")
                await until(pilot, lambda: panel.table.row_count > rows)
                out["page"].append(time.perf_counter() - t0)
            for term in SEARCH_TERMS:
                out[term] = [await search(pilot, panel, term)]
                await pilot.press("slash", "escape")
            for term in ("no such task", "zz-none"):  # matches nothing: a scan of the whole history
                await pilot.press("slash", *term)
                t0 = time.perf_counter()
                await pilot.press("enter")
                # while the loader scans, keys still switch panels at once
                k0 = time.perf_counter()
                await pilot.press("3")
                await pilot.pause()
                out["key_during_search"].append(time.perf_counter() - k0)
                await pilot.press("4")
                await until(pilot, lambda: searched(panel, term))
                out["search_rare"].append(time.perf_counter() - t0)
                await pilot.press("slash", "escape")

    asyncio.run(scenario())
    return out


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--state", type=Path, help="reuse this state dir (filled once)")
    parser.add_argument("--write", type=Path, help="write the results as markdown here")
    args = parser.parse_args()

    state = args.state or Path(tempfile.mkdtemp(prefix="grace-tui-bench-"))
    registry = Registry.open(state)
    existing = Task.select().count()
    fill_s = None
    if existing < args.tasks:
        fill_s = fill_history(registry, args.tasks - existing)
    total = Task.select().count()
    live = registry.start_task("bench: live task", "ops", message="waiting")
    registry.progress(live, 5, "started")
    print(f"state {state}: {total:,} tasks" + (f" (inserted in {fill_s:.1f} s)" if fill_s else ""))

    embedded = measure_embedded_events(registry, live)
    history = measure_history(registry)
    attached = measure_attached(state, registry, live, args.idle, args.keys)
    embedded_idle = measure_embedded_idle(state, args.idle)

    keys = attached["keys"]
    change = attached["change"]
    idle_pct = 100.0 * attached["idle_cpu_s"] / attached["idle_s"]
    lines = [
        "# TUI benchmark",
        "",
        f"`python3 bench/bench_tui.py --tasks {args.tasks} --idle {args.idle:g}` on {platform.node()} "
        f"({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"Registry: {total:,} tasks in SQLite (WAL). The app runs as a real process in a pseudo-terminal "
        "(80x24, `--attach`), timings are from this script's side of the terminal.",
        "",
        "| measure | result |",
        "|---|---|",
        f"| start-up to first paint (process start to the frame on the terminal) | {ms(attached['first_paint_s'])} |",
        f"| start-up to data on screen (header with the registry's counts) | {ms(attached['data_paint_s'])} |",
        f"| key to screen, tab switch running/completed ({len(keys)} presses, rows painted) | "
        f"median {ms(statistics.median(keys))}, "
        f"p95 {ms(percentile(keys, 0.95))}, max {ms(max(keys))} |",
        f"| registry change to screen, attached (polls every 200 ms) | median {ms(statistics.median(change))}, "
        f"max {ms(max(change))} |",
        f"| registry change to screen, embedded (event driven, headless) | median "
        f"{ms(statistics.median(embedded))}, max {ms(max(embedded))} |",
        f"| Completed panel: ctrl+end on the last row to the next 100 older tasks on screen (keyset page, "
        f"headless) | median {ms(statistics.median(history['page']))}, max {ms(max(history['page']))} |",
        *(f"| `/` search of the whole registry, enter to results on screen: \"{term}\" ({why}) | "
          f"{ms(history[term][0])} |" for term, why in SEARCH_TERMS.items()),
        f"| `/` search matching nothing (scans every title, 2 terms) | median "
        f"{ms(statistics.median(history['search_rare']))}, max {ms(max(history['search_rare']))} |",
        f"| key to screen while that search runs (tab switch, headless) | max "
        f"{ms(max(history['key_during_search']))} |",
        f"| idle CPU over {args.idle:g} s, attached (polling the registry every 200 ms) | {idle_pct:.2f} % of "
        f"one core ({attached['idle_cpu_s']:.2f} CPU s) |",
        f"| idle CPU over {args.idle:g} s, embedded (whole process: engine with host checks + pane) | "
        f"{100.0 * embedded_idle / args.idle:.2f} % of one core ({embedded_idle:.2f} CPU s) |",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(report)
    registry.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

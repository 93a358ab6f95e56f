"""Host checks: free disk per mount, available memory, load per CPU.

No remediation by default: an incident opens after N bad samples in a row and is
resolved (recovery verified by the next good sample) when the figure is back.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psutil

from grace_tui.registry import services as service_rows
from grace_tui.supervisor.procs import read_proc

if TYPE_CHECKING:
    from grace_tui.supervisor.core import Supervisor


class HostMonitor:
    def __init__(self, supervisor: "Supervisor"):
        self.sup = supervisor
        self.bad: dict[str, int] = {}
        self.open: dict[str, str] = {}  # check key -> incident id
        self.last: dict[str, Any] = {}
        self.boot_time = psutil.boot_time()  # the host row's "started": fixed until the next boot
        self.cpu = HostCpu()
        self.last_cpu: float | None = None
        history_len = supervisor.config.supervisor.history
        self.history: dict[str, deque[float]] = {"cpu": deque(maxlen=history_len), "rss": deque(maxlen=history_len)}

    def readings(self, available: float, total: float) -> list[tuple[str, str, bool, str, dict[str, Any]]]:
        """(key, kind, bad, summary, detail) for every host check; memory from `host_memory()`."""
        cfg = self.sup.config.host
        out = []
        for mount in cfg.mounts:
            try:
                usage = psutil.disk_usage(mount)
            except OSError as exc:
                out.append((f"disk:{mount}", "disk_low", False, f"{mount}: {exc}", {}))
                continue
            free_pct = 100.0 * usage.free / usage.total if usage.total else 100.0
            out.append((f"disk:{mount}", "disk_low", free_pct < cfg.disk_min_free_pct,
                        f"{mount}: {free_pct:.1f}% free < {cfg.disk_min_free_pct:g}%",
                        {"mount": mount, "free_pct": round(free_pct, 2), "free_bytes": usage.free}))
        avail_pct = 100.0 * available / total
        out.append(("memory", "memory_low", avail_pct < cfg.memory_min_available_pct,
                    f"memory: {avail_pct:.1f}% available < {cfg.memory_min_available_pct:g}%",
                    {"available_pct": round(avail_pct, 2), "available_bytes": int(available)}))
        if cfg.load_max_per_cpu is not None:
            load1 = os.getloadavg()[0] / (os.cpu_count() or 1)
            out.append(("load", "load_high", load1 > cfg.load_max_per_cpu,
                        f"load: {load1:.2f} per CPU > {cfg.load_max_per_cpu:g}",
                        {"load1_per_cpu": round(load1, 3)}))
        return out

    def check(self) -> None:
        samples = self.sup.config.host.samples
        now = time.time()
        available, total = host_memory()
        for key, kind, bad, summary, detail in self.readings(available, total):
            self.last[key] = detail
            self.bad[key] = self.bad.get(key, 0) + 1 if bad else 0
            if bad and self.bad[key] >= samples and key not in self.open:
                incident = self.sup.incidents.open(kind, "high" if kind == "disk_low" else "medium", summary,
                                                   check=key, detail=detail, detected_at=now)
                self.sup.incidents.note(incident.id, "remediation", "none: host checks only alert", {"action": "none"})
                self.open[key] = incident.id
            elif not bad and key in self.open:
                incident_id = self.open.pop(key)
                self.sup.incidents.note(incident_id, "verification", f"{key} back within limits", detail)
                self.sup.incidents.resolve(incident_id, "recovered")  # after its verification entry
        self.publish_row(total - available)

    def publish_row(self, used: float) -> None:
        """Show the host itself as a row beside the services: CPU, memory in use, the
        figures its checks read, and whether any host check has an open incident."""
        cpu = self.cpu.percent()  # since the previous reading that counted
        if cpu is None:
            cpu = self.last_cpu  # too soon to count: keep showing the last figure
        else:
            self.last_cpu = cpu
            self.history["cpu"].append(round(cpu, 1))
        self.history["rss"].append(used)
        state = "degraded" if self.open else "running"
        service_rows.upsert_service(HOST_ROW, mode="host", state=state, pid=None, started_at=self.boot_time,
                                    cpu_pct=cpu, rss_bytes=used, message=self.summary(),
                                    history={k: list(v) for k, v in self.history.items()})
        self.sup.events.publish("service", HOST_ROW, state)

    def summary(self) -> str:
        parts = []
        for key, detail in self.last.items():
            if key.startswith("disk:") and "free_pct" in detail:
                parts.append(f"{detail['mount']} {detail['free_pct']:.0f}% free")
            elif key == "memory":
                parts.append(f"memory {detail['available_pct']:.0f}% available")
            elif key == "load":
                parts.append(f"load {detail['load1_per_cpu']:.2f}/cpu")
        return " · ".join(parts)


HOST_ROW = "(host)"  # parentheses: no configured service can be named like this


class HostCpu:
    """Busy % of all the host's CPUs between two readings, as psutil.cpu_percent counts it, from
    the first line of /proc/stat: a quarter of psutil's cost, and a baseline of our own rather
    than one per calling thread."""

    MIN_WINDOW_S = 0.5  # a start-up burst over a few 10 ms ticks would read as 100% busy

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = host_cpu_ticks()
        self._last_at = clock()

    def percent(self) -> float | None:
        """None until MIN_WINDOW_S has passed since the previous reading (which stays the baseline)."""
        if self._clock() - self._last_at < self.MIN_WINDOW_S:
            return None
        now = host_cpu_ticks()
        if now is None:
            return psutil.cpu_percent(None)  # no /proc/stat
        last, self._last, self._last_at = self._last, now, self._clock()
        if last is None or now[1] <= last[1]:
            return 0.0
        return min(100.0, max(0.0, (now[0] - last[0]) / (now[1] - last[1]) * 100))


def host_cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks since boot: user nice system idle iowait irq softirq steal, less idle
    and iowait (guest time is inside user and nice already); None without /proc/stat."""
    try:
        fd = os.open("/proc/stat", os.O_RDONLY)
        try:
            first = os.read(fd, 4096).split(b"\n", 1)[0]  # the first line fits; the rest can be long
        finally:
            os.close(fd)
        ticks = [int(x) for x in first.split()[1:9]]
    except (OSError, ValueError):
        return None
    total = sum(ticks)
    return total - ticks[3] - ticks[4], total


def host_memory() -> tuple[float, float]:
    """(available, total) bytes, from MemAvailable and MemTotal as psutil reads them."""
    try:
        found = {}
        for line in read_proc("/proc/meminfo").splitlines():
            key, _, value = line.partition(b":")
            if key in (b"MemTotal", b"MemAvailable"):
                found[key] = float(value.split()[0]) * 1024
                if len(found) == 2:
                    return found[b"MemAvailable"], found[b"MemTotal"]
    except (OSError, ValueError, IndexError):
        pass
    mem = psutil.virtual_memory()  # no /proc, or a kernel without MemAvailable
    return float(mem.available), float(mem.total)

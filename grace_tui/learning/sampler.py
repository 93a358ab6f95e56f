"""Metric history: sample host and per-service metrics into the registry's DB.

Each `sample_once()` reads (the host with `supervisor.host`, processes with `supervisor.procs`):
  host     host.cpu_pct, host.load1, host.mem_used (capacity: total), host.fds
           (capacity: fs.file-max), disk:MOUNT per watched mount (used bytes,
           capacity: used + free for unprivileged users)
  dirs     dir:PATH for each `watch_dirs` entry (bytes of files under it, capacity: its quota)
  services svc:NAME.cpu_pct / .rss_bytes (the service's process tree), .fds
           (capacity: its RLIMIT_NOFILE), .connect_ms (the supervisor's last probe)

`maintain()` keeps the table bounded: raw samples for `raw_keep_s`, then
`mid_resolution_s` means until `mid_keep_s`, then `coarse_resolution_s` means
until `coarse_keep_s`, then nothing.
"""

from __future__ import annotations

import logging
import os
import resource
import threading
import time
from typing import Callable, Iterable

import psutil

from grace_tui.learning.settings import LearningSettings
from grace_tui.registry import metrics
from grace_tui.registry.db import log_failure
from grace_tui.registry.metrics import RAW, Sample
from grace_tui.registry.services import ServiceView, list_services
from grace_tui.supervisor.host import HostCpu, host_memory
from grace_tui.supervisor.procs import CpuMeter, Usage, open_fds, tree

log = logging.getLogger(__name__)

MAX_DIR_ENTRIES = 200_000  # a watched dir bigger than this is not walked again
MOUNTS_REFRESH_S = 300.0  # mounts rarely change; reading the mount table was a tenth of a round
LIMITS_REFRESH_S = 300.0  # so do a process's fd limit
ServiceSource = Callable[[], Iterable[ServiceView]]


def services_from_registry() -> list[ServiceView]:
    return list_services(with_history=False)


class MetricSampler:
    def __init__(
        self,
        settings: LearningSettings | None = None,
        on_samples: Callable[[list[Sample]], None] | None = None,
        services: ServiceSource = services_from_registry,
    ):
        """`services`: where the services to sample come from. The registry's rows by default; an
        engine hands in its supervisor's, which are in memory and never older than the rows."""
        self.settings = settings or LearningSettings()
        self.on_samples = on_samples
        self.services = services
        self._meters: dict[int, CpuMeter] = {}  # per PID, from the previous round: CPU % baselines
        self._seen: dict[int, CpuMeter] = {}  # this round's
        self._fd_limits: dict[int, tuple[float, float, float | None]] = {}  # PID: (started, read at, limit)
        self._limits_seen: dict[int, tuple[float, float, float | None]] = {}  # this round's
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_maintain = 0.0
        self._mounts: list[str] = []
        self._mounts_read_at = float("-inf")
        self.errors = 0
        self._host_cpu = HostCpu()

    # ------------------------------------------------------------------ sampling
    def sample_once(self, now: float | None = None) -> list[Sample]:
        """Take one sample of every metric, store it, hand it to `on_samples`."""
        ts = time.time() if now is None else now
        found: list[Sample] = []
        if self.settings.sample_host:
            found += host_samples(ts, self._disk_paths(time.monotonic()), self._host_cpu.percent())
        for path, quota in self.settings.watch_dirs.items():
            used = dir_bytes(path)
            if used is not None:
                found.append(Sample(f"dir:{path}", ts, float(used), quota))
        if self.settings.sample_services:
            self._seen, self._limits_seen = {}, {}
            for service in self.services():
                if service.mode != "host":  # the host's row repeats what host_samples read
                    found += self.service_samples(service, ts)
            self._meters, self._fd_limits = self._seen, self._limits_seen  # forget the processes that are gone
        metrics.add_samples(found)
        if self.on_samples:
            self.on_samples(found)
        return found

    def _disk_paths(self, now: float) -> list[str]:
        """The configured mounts, else every mounted partition (re-read every MOUNTS_REFRESH_S)."""
        if self.settings.disk_paths is not None:
            return self.settings.disk_paths
        if now - self._mounts_read_at >= MOUNTS_REFRESH_S:
            self._mounts, self._mounts_read_at = mounted_partitions(), now
        return self._mounts

    def service_samples(self, service: ServiceView, ts: float) -> list[Sample]:
        """A service's metrics, from its process tree; the supervisor's row where we may not look."""
        prefix = f"svc:{service.name}."
        cpu, rss, fds, fd_limit = service.cpu_pct, service.rss_bytes, service.num_fds, None
        tree = self._tree(service.pid) if service.pid and service.state == "running" else []
        if tree:
            cpu = sum(percent for percent, _ in tree)
            rss = sum(used.rss_bytes for _, used in tree)
            own = open_fds(service.pid)
            fds = own if own is not None else fds
            fd_limit = self._cached_fd_limit(service.pid, tree[0][1].started)
        found = []
        if cpu is not None:
            found.append(Sample(prefix + "cpu_pct", ts, float(cpu)))
        if rss is not None:
            found.append(Sample(prefix + "rss_bytes", ts, float(rss)))
        if fds is not None:
            found.append(Sample(prefix + "fds", ts, float(fds), fd_limit))
        if service.connect_ms is not None:
            found.append(Sample(prefix + "connect_ms", ts, float(service.connect_ms)))
        return found

    def _tree(self, pid: int) -> list[tuple[float, Usage]]:
        """(CPU %, usage) of the process, first, and of each of its descendants; empty when it is gone."""
        out = []
        for member, used in tree(pid):
            meter = self._seen.setdefault(member, self._meters.get(member) or CpuMeter())
            out.append((meter.percent(member, used), used))
        return out

    def _cached_fd_limit(self, pid: int, started: float) -> float | None:
        """The process's fd limit, read again only every LIMITS_REFRESH_S or for a new process."""
        now = time.monotonic()
        cached = self._fd_limits.get(pid)
        if cached is None or cached[0] != started or now - cached[1] >= LIMITS_REFRESH_S:
            cached = (started, now, fd_soft_limit(pid))
        self._limits_seen[pid] = cached
        return cached[2]

    # ------------------------------------------------------------------ retention
    def maintain(self, now: float | None = None) -> dict[str, int]:
        """Fold aged raw samples into means and drop the oldest; returns rows removed per step."""
        s = self.settings
        ts = time.time() if now is None else now
        return {
            "raw_folded": metrics.downsample(ts - s.raw_keep_s, RAW, s.mid_resolution_s),
            "mid_folded": metrics.downsample(ts - s.mid_keep_s, s.mid_resolution_s, s.coarse_resolution_s),
            "expired": metrics.expire(ts - s.coarse_keep_s, s.coarse_resolution_s),
        }

    # ------------------------------------------------------------------ thread
    def start(self) -> "MetricSampler":
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="grace-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        from grace_tui.registry.db import database

        try:
            while not self._stop.wait(self.settings.sample_interval_s):
                self._tick()
        finally:
            database.close()  # this thread's connection

    def _tick(self) -> None:
        try:
            self.sample_once()
            now = time.time()
            if now - self._last_maintain >= self.settings.maintain_every_s:
                self._last_maintain = now
                self.maintain(now)
        except Exception:  # a failed sample must not stop sampling
            self.errors += 1
            log_failure(log, "metric sampling failed")


def fd_soft_limit(pid: int) -> float | None:
    """A process's soft RLIMIT_NOFILE: the capacity its open fds are forecast against."""
    try:
        soft = resource.prlimit(pid, resource.RLIMIT_NOFILE)[0]
    except (OSError, AttributeError):
        return None  # not ours to look at, gone, or no prlimit on this OS
    return float(soft) if soft > 0 and soft != resource.RLIM_INFINITY else None


def host_samples(ts: float, disk_paths: list[str], cpu_pct: float | None) -> list[Sample]:
    found = [] if cpu_pct is None else [Sample("host.cpu_pct", ts, cpu_pct)]
    available, total = host_memory()
    found.append(Sample("host.mem_used", ts, total - available, total))
    try:
        found.append(Sample("host.load1", ts, os.getloadavg()[0]))
    except OSError:
        pass
    fds = host_fds()
    if fds:
        found.append(Sample("host.fds", ts, fds[0], fds[1]))
    for mount in disk_paths:
        try:
            st = os.statvfs(mount)  # what psutil.disk_usage reads
        except OSError:
            continue  # unmounted since, or not readable
        used, free = (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_bavail * st.f_frsize
        found.append(Sample(f"disk:{mount}", ts, float(used), float(used + free)))
    return found


def mounted_partitions() -> list[str]:
    return sorted({p.mountpoint for p in psutil.disk_partitions(all=False)})


def host_fds() -> tuple[float, float] | None:
    """(allocated, maximum) file handles of the whole host (Linux)."""
    try:
        with open("/proc/sys/fs/file-nr") as f:
            allocated, _, maximum = f.read().split()[:3]
        return float(allocated), float(maximum)
    except (OSError, ValueError):
        return None


def dir_bytes(path: str) -> int | None:
    """Bytes of the regular files under `path` (symlinks not followed); None if unreadable."""
    total = entries = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    entries += 1
                    if entries > MAX_DIR_ENTRIES:
                        log.warning("%s: more than %d entries, size is a lower bound", path, MAX_DIR_ENTRIES)
                        return total
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            if entries == 0 and not os.path.isdir(path):
                return None
    return total

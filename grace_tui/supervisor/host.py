"""Host checks: free disk per mount, available memory, load per CPU.

No remediation by default: an incident opens after N bad samples in a row and is
resolved (recovery verified by the next good sample) when the figure is back.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from grace_tui.supervisor.core import Supervisor


class HostMonitor:
    def __init__(self, supervisor: "Supervisor"):
        self.sup = supervisor
        self.bad: dict[str, int] = {}
        self.open: dict[str, str] = {}  # check key -> incident id
        self.last: dict[str, Any] = {}

    def readings(self) -> list[tuple[str, str, bool, str, dict[str, Any]]]:
        """(key, kind, bad, summary, detail) for every host check."""
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
        mem = psutil.virtual_memory()
        avail_pct = 100.0 * mem.available / mem.total
        out.append(("memory", "memory_low", avail_pct < cfg.memory_min_available_pct,
                    f"memory: {avail_pct:.1f}% available < {cfg.memory_min_available_pct:g}%",
                    {"available_pct": round(avail_pct, 2), "available_bytes": mem.available}))
        if cfg.load_max_per_cpu is not None:
            load1 = os.getloadavg()[0] / (os.cpu_count() or 1)
            out.append(("load", "load_high", load1 > cfg.load_max_per_cpu,
                        f"load: {load1:.2f} per CPU > {cfg.load_max_per_cpu:g}",
                        {"load1_per_cpu": round(load1, 3)}))
        return out

    def check(self) -> None:
        samples = self.sup.config.host.samples
        now = time.time()
        for key, kind, bad, summary, detail in self.readings():
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
                self.sup.incidents.resolve(incident_id, "recovered", at=now)

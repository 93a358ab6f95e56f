"""Host checks (disk, memory, load): incidents from real readings, and the host's row in the pane."""

from __future__ import annotations

from pathlib import Path

from supervisor_helpers import Harness, wait_for

from grace_tui.config import config_from_dict
from grace_tui.registry import incidents as incident_store
from grace_tui.registry import services as service_rows
from grace_tui.supervisor.host import HOST_ROW


def host_config(min_free_pct: float) -> dict:
    return {"supervisor": {"check_interval": 60.0, "host_check_interval": 0.2},
            "host": {"enabled": True, "mounts": ["/"], "disk_min_free_pct": min_free_pct, "samples": 2,
                     "memory_min_available_pct": 0.0, "load_max_per_cpu": 1000.0},
            "services": {}}


def test_disk_low_opens_shows_on_the_host_row_and_resolves(tmp_path: Path) -> None:
    # No real disk is 100% free: the check fails on its real reading of "/".
    with Harness(tmp_path, host_config(min_free_pct=100.0)) as h:
        incident = wait_for(lambda: incident_store.open_incidents(kind="disk_low"), what="disk_low incident")[0]
        assert incident.detail["mount"] == "/" and 0 <= incident.detail["free_pct"] < 100
        row = wait_for(lambda: (r := service_rows.get_service(HOST_ROW)) and r.state == "degraded"
                       and r.cpu_pct is not None and r,  # CPU: once a window long enough to count has passed
                       what="host row degraded, with its CPU")
        assert row.mode == "host" and "/ " in row.message and "% free" in row.message
        assert row.rss_bytes > 0 and row.history["rss"] and row.history["cpu"][-1] == round(row.cpu_pct, 1)

        h.sup.apply_config(config_from_dict(host_config(min_free_pct=0.0), source="<test>"))
        wait_for(lambda: incident_store.get_incident(incident.id).state == "resolved", what="disk_low resolved")
        wait_for(lambda: service_rows.get_service(HOST_ROW).state == "running", what="host row running")
        assert [e.type for e in incident_store.timeline(incident.id)][-2:] == ["verification", "state"]


def test_the_host_row_has_its_cpu_seconds_after_start(tmp_path: Path) -> None:
    """CPU % takes two readings; with the second a host_check_interval (30 s) after the first, the
    host row showed no CPU for the first half minute."""
    config = host_config(min_free_pct=0.0)
    config["supervisor"]["host_check_interval"] = 3600.0
    with Harness(tmp_path, config):
        wait_for(lambda: (r := service_rows.get_service(HOST_ROW)) and r.cpu_pct is not None, what="the host's CPU")

"""Open check incidents close when the check passes again, even across a config change."""

from __future__ import annotations

from grace_tui.config import config_from_dict
from supervisor_helpers import Harness, base_config, echo_argv, free_port, wait_for


def _echo(port: int, rss_max_mb: float) -> dict:
    return {"command": echo_argv(port), "port": port, "rss_max_mb": rss_max_mb, "threshold_samples": 1,
            "remediation": {"resource_threshold": ["none"]}}


def test_raised_threshold_resolves_the_open_incident_with_a_verification(tmp_path):
    port = free_port()
    with Harness(tmp_path, base_config({"echo": _echo(port, 0.5)}, check_interval=0.1)) as h:
        incident = wait_for(lambda: h.incidents_of("resource_threshold"), what="resource incident")[0]
        assert incident.state in ("open", "remediating") and "RSS" in incident.summary
        first_pid = h.runner("echo").pid
        summary = h.sup.apply_config(config_from_dict(base_config({"echo": _echo(port, 4096)}, check_interval=0.1),
                                                      source="<test>"))
        assert summary["changed"] == ["echo"]
        resolved = wait_for(lambda: h.incidents.get(incident.id).state == "resolved" and h.incidents.get(incident.id),
                            what="incident resolved after the higher limit")
        verification = [e for e in h.incidents.timeline(incident.id) if e.type == "verification"][-1]
        assert verification.data["ok"] is True
        assert "now below 4096 MB" in verification.message and "RSS" in verification.message
        assert resolved.mttr_s is not None and resolved.mttr_s > 0
        assert h.runner("echo").pid != first_pid  # the change re-created the service: counters were fresh


def test_removed_service_closes_its_open_incidents(tmp_path):
    port, other = free_port(), free_port()
    services = {"echo": _echo(port, 0.5), "keep": {"command": echo_argv(other), "port": other}}
    with Harness(tmp_path, base_config(services, check_interval=0.1)) as h:
        incident = wait_for(lambda: h.incidents_of("resource_threshold"), what="resource incident")[0]
        h.sup.apply_config(config_from_dict(base_config({"keep": services["keep"]}, check_interval=0.1),
                                            source="<test>"))
        closed = h.incidents.get(incident.id)
        assert closed.state == "failed"
        assert any("removed from the config" in e.message for e in h.incidents.timeline(incident.id))
        assert h.incidents.open_incidents("echo") == []

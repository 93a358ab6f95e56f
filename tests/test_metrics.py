"""Prometheus metrics: the atomic 0600 file and the optional 127.0.0.1 endpoint."""

from __future__ import annotations

import os
import signal
import urllib.request

from supervisor_helpers import Harness, banner_pid, base_config, echo_argv, free_port, wait_for


def test_metrics_file_and_endpoint(tmp_path):
    port, metrics_port = free_port(), free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port}}, check_interval=0.1,
                         metrics_port=metrics_port)
    with Harness(tmp_path, config) as h:
        first = wait_for(lambda: banner_pid(port), what="echo up")
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: h.ended("process_down"), what="healed")
        prom = h.paths.metrics_prom
        text = wait_for(lambda: prom.exists() and "grace_tui_incidents_resolved_total 1" in prom.read_text()
                        and prom.read_text(), what="metrics written")
        assert 'grace_tui_service_up{service="echo"} 1' in text
        assert 'grace_tui_incidents_total{kind="process_down"} 1' in text
        assert 'grace_tui_mttr_seconds{quantile="0.5"}' in text and "grace_tui_mttr_seconds_count 1" in text
        assert oct(prom.stat().st_mode & 0o777) == "0o600"
        served = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        assert "grace_tui_mttr_seconds" in served


def test_the_metrics_file_follows_a_change_at_once_not_at_the_next_check_round(tmp_path):
    """node_exporter reads the file every scrape: a service that went down or came back must not
    wait for a check round (30 s by default, an hour here) to show there."""
    port = free_port()
    config = base_config({"echo": {"command": echo_argv(port), "port": port}}, check_interval=3600.0)
    prom = tmp_path / "state" / "grace_tui.prom"
    with Harness(tmp_path, config) as h:
        first = wait_for(lambda: banner_pid(port), what="echo up")
        wait_for(lambda: prom.exists() and 'grace_tui_service_up{service="echo"} 1' in prom.read_text(),
                 what="up in the metrics file")
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: "grace_tui_incidents_resolved_total 1" in prom.read_text(), what="the healing in the file")
    assert 'grace_tui_service_up{service="echo"} 0' in prom.read_text()  # stopped with the supervisor

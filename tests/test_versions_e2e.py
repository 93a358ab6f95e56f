"""End to end in a real daemon: a noise ack -> a tuning proposal -> `config approve` -> a new version
applied by the daemon; the audit chain verifies, and fails after an edit.

Needs the supervisor and the learning runner (skipped on a tree without them).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli, wait_until

pytest.importorskip("grace_tui.supervisor")
pytest.importorskip("grace_tui.learning.runner")

from grace_tui.engine import QueuedActions  # noqa: E402
from grace_tui.registry import governance as store  # noqa: E402
from grace_tui.registry import incidents as incident_store  # noqa: E402
from grace_tui.registry import services as service_rows  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_noise_ack_to_approved_version_in_a_running_daemon(registry, state_dir: Path, tmp_path: Path) -> None:
    port = _free_port()
    config = tmp_path / "config.toml"
    config.write_text(f"""
[supervisor]
check_interval = 0.3
[host]
enabled = false
[governance]
max_threshold_change_pct = 20
[learning]
tuning_min_acks = 1
[services.web]
command = {json.dumps([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"])}
port = {port}
rss_max_mb = 1.0
threshold_samples = 2
[services.web.remediation]
resource_threshold = ["none"]
""")
    common = ["--state-dir", str(state_dir), "--config", str(config)]
    daemon = subprocess.Popen([sys.executable, "-m", "grace_tui", "daemon", "--log-level", "warning", *common],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        incident = wait_until(lambda: next((i for i in incident_store.open_incidents()
                                            if i.kind == "resource_threshold"), None), message="RSS incident")
        QueuedActions(timeout_s=20).acknowledge(incident.id, "alice", "noise")
        ran = run_cli("learn", "run", "tune_thresholds", *common)
        assert ran.returncode == 0, ran.stderr
        proposal = wait_until(lambda: next(iter(store.pending_proposals()), None), message="a pending proposal")
        assert proposal.changes[0]["path"] == "services.web.rss_max_mb" and proposal.changes[0]["old"] == 1.0

        pid_before = service_rows.get_service("web").pid
        approved = run_cli("config", "approve", str(proposal.id), "--user", "alice", *common)
        assert approved.returncode == 0 and "config version 2" in approved.stdout, approved.stderr
        assert store.get_proposal(proposal.id).decided_by == "alice"
        # the daemon applied the new version: a changed service is restarted with its new limits
        wait_until(lambda: (row := service_rows.get_service("web")) and row.pid not in (None, pid_before)
                   and row.state == "running", message="web restarted under config version 2")

        ok = run_cli("audit", "verify", *common)
        assert ok.returncode == 0 and "OK:" in ok.stdout
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    audit = state_dir / "audit.jsonl"
    audit.write_text(audit.read_text().replace('"decision":"approved"', '"decision":"rejected"'))
    broken = run_cli("audit", "verify", *common)
    assert broken.returncode != 0 and "modified" in broken.stdout

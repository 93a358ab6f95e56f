"""Learned remediation in a running engine: repeated incidents change which action is tried first.

The service's process_down remediation offers a useless action (`run:noop`) and
`restart`. Real SIGKILLs, real restarts: once the outcomes are in, the policy
stops leading with the action that never heals.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
from pathlib import Path

from conftest import wait_until

from grace_tui.engine import Engine
from grace_tui.paths import StatePaths
from grace_tui.registry import incidents as store
from grace_tui.registry import learned
from grace_tui.registry import services as service_rows
from supervisor_helpers import echo_argv, free_port


def _first_action(incident_id: str) -> str:
    return next(e.data["action"] for e in store.timeline(incident_id) if e.type == "remediation")


def test_repeated_incidents_move_the_choice_to_the_action_that_heals(registry, state_dir: Path,
                                                                     tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f"""
[supervisor]
check_interval = 60.0
[host]
enabled = false
[services.web]
command = {json.dumps(echo_argv(port))}
port = {port}
min_uptime = 0.05
restart_budget = 100
backoff_initial = 0.01
backoff_max = 0.05
start_timeout = 5.0
[services.web.commands]
noop = [{json.dumps(sys.executable)}, "-c", "pass"]
[services.web.remediation]
process_down = ["run:noop", "restart"]
""")
    engine = Engine(StatePaths(state_dir), registry, config)
    engine.start(watch_config=False)
    engine.governance.policy.rng = random.Random(4)  # reproducible draws; the outcomes are real
    firsts = []
    try:
        for n in range(1, 9):
            pid = wait_until(lambda: (r := service_rows.get_service("web")) and r.state == "running" and r.pid,
                             message="web running")
            os.kill(pid, signal.SIGKILL)
            ended = wait_until(lambda: (done := [i for i in store.all_incidents() if i.kind == "process_down"
                                                 and i.state == "resolved"]) and len(done) >= n and done,
                               message=f"incident {n} resolved")
            firsts.append(_first_action(ended[n - 1].id))
    finally:
        engine.stop(leave_running=False)
    stats = {s.action: s for s in learned.action_stats("web", "process_down")}
    assert stats["restart"].successes == stats["restart"].tries == 8
    assert stats["run:noop"].successes == 0 and stats["run:noop"].tries >= 1
    assert "run:noop" in firsts[:4], firsts  # it explored the other action early...
    assert firsts[-3:] == ["restart"] * 3, firsts  # ...and then settled on the one that heals

"""The engine's action methods before start(): a clear error, not an AttributeError."""

from __future__ import annotations

import pytest

from grace_tui.engine import Engine
from grace_tui.errors import UserError
from grace_tui.paths import StatePaths


@pytest.mark.parametrize("action, args, part", [
    ("retry", ("i-1",), "supervisor"), ("silence", ("i-1", 60), "supervisor"), ("approve", (1,), "governance"),
    ("rollback", (1,), "governance"), ("cancel_task", ("t-1",), "learning"), ("run_job", ("train_anomaly",), "learning"),
])
def test_an_action_before_start_says_which_part_is_missing(registry, state_dir, action, args, part):
    engine = Engine(StatePaths(state_dir).ensure(), registry, None)
    with pytest.raises(UserError, match=f"the {part} is not running"):
        getattr(engine, action)(*args)


def test_a_command_queued_while_no_supervisor_ran_is_not_carried_out_when_one_starts(registry, state_dir, tmp_path):
    """A pane left attached to a dead daemon could queue an acknowledgement, a stop...: the next
    supervisor, maybe days later, carried it out. It is failed instead, and its client told why."""
    from grace_tui.incidents import IncidentLog
    from grace_tui.registry import commands as command_queue

    paths = StatePaths(state_dir).ensure()
    incident = IncidentLog(registry, paths).open("process_down", "high", "web exited", service="web")
    stale = command_queue.enqueue("acknowledge", incident.id, user="someone", reason="days ago")
    config = tmp_path / "config.toml"
    config.write_text("[host]\nenabled = false\n")
    engine = Engine(paths, registry, config)
    engine.start(watch_config=False)
    try:
        fresh = command_queue.enqueue("acknowledge", incident.id, user="tester", reason="now")
        assert command_queue.wait_for(fresh, 20).status == "done"
    finally:
        engine.stop(leave_running=False)
    view = command_queue.get_command(stale)
    assert (view.status, view.result) == ("failed", "not carried out: queued while no supervisor was running")
    assert engine.incidents.get(incident.id).acked_by == "tester"

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

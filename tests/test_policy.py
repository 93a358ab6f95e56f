"""Learned remediation: a simulation where one action is better; the policy converges on it."""

from __future__ import annotations

import random

from grace_tui.events import EventBus
from grace_tui.governance.policy import RemediationPolicy

ACTIONS = ["free_port", "restart"]
# The simulated world: restart heals 85% of the time in ~5 s, free_port 35% in ~20 s.
WORLD = {"restart": (0.85, 5.0), "free_port": (0.35, 20.0)}


def _simulate(policy: RemediationPolicy, world_rng: random.Random, rounds: int) -> list[str]:
    chosen = []
    for _ in range(rounds):
        action = policy.choose_action("web", "port_in_use", ACTIONS)
        p, ttr = WORLD[action]
        success = world_rng.random() < p
        policy.record("web", "port_in_use", action, success, ttr * world_rng.uniform(0.5, 1.5) if success else None)
        chosen.append(action)
    return chosen


def test_converges_on_the_better_action(registry) -> None:
    events = []
    policy = RemediationPolicy(rng=random.Random(7), on_learning=lambda t, d: events.append(t))
    chosen = _simulate(policy, random.Random(11), 150)
    early, late = chosen[:20], chosen[-50:]
    assert "free_port" in early  # it explored
    assert late.count("restart") >= 45, late.count("restart")
    table = {row["action"]: row for row in policy.table("web", "port_in_use")}
    assert table["restart"]["tries"] + table["free_port"]["tries"] == 150
    assert table["restart"]["success_rate"] > table["free_port"]["success_rate"]
    assert table["restart"]["median_ttr_s"] < table["free_port"]["median_ttr_s"]
    assert events.count("remediation_outcome") == 150


def test_changes_its_mind_when_the_world_changes(registry) -> None:
    changes = []
    policy = RemediationPolicy(rng=random.Random(3),
                               on_learning=lambda t, d: changes.append(d) if t == "remediation_choice_changed" else None)
    for _ in range(15):  # restart looked good at first...
        policy.record("db", "process_down", "restart", True, 4.0)
    assert policy.choose_action("db", "process_down", ["restart", "reload"]) == "restart"
    for _ in range(40):  # ...then it keeps failing
        policy.record("db", "process_down", "restart", False, None)
    picks = [policy.choose_action("db", "process_down", ["restart", "reload"]) for _ in range(20)]
    assert picks.count("reload") >= 12  # untried reload: uniform prior beats ~0.25
    assert any(c["to"] == "reload" for c in changes)


def test_learns_from_remediation_outcome_events(registry) -> None:
    bus = EventBus()
    policy = RemediationPolicy(rng=random.Random(1))
    bus.subscribe(policy.on_event)
    bus.publish("remediation_outcome", "api", {"kind": "process_down", "action": "restart", "success": True,
                                               "ttr_s": 2.5})
    bus.publish("remediation_outcome", "api", {"kind": "process_down", "action": "restart", "success": False,
                                               "ttr_s": None})
    (row,) = policy.table("api")
    assert (row["tries"], row["successes"], row["median_ttr_s"]) == (2, 1, 2.5)


def test_single_action_needs_no_evidence(registry) -> None:
    assert RemediationPolicy().choose_action("x", "process_down", ["restart"]) == "restart"

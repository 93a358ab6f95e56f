"""Learned remediation: pick the action most likely to heal fast, learn from each outcome.

Method: Thompson sampling. For each (service, incident kind, action) the success
probability has a Beta(1 + successes, 1 + failures) posterior (uniform prior).
To choose, draw one sample per configured action and weight it by a recovery-
speed factor tau / (tau + median time to recovery) (tau = 30 s; an action with
no recovery yet gets 1, i.e. optimism). The highest weighted draw wins. With
little evidence the posteriors are wide, so every action keeps being tried now
and then (exploration); as evidence accumulates the draws concentrate and the
better action is chosen almost always (exploitation).

`choose_action` plugs into `Supervisor.choose_action`; `on_outcome` consumes the
supervisor's "remediation_outcome" events.
"""

from __future__ import annotations

import random
import threading
from typing import Any, Callable, Sequence

from grace_tui.events import Event
from grace_tui.registry import learned

SPEED_TAU_S = 30.0

LearningSink = Callable[[str, dict[str, Any]], None]  # (event type, data) -> audit


class RemediationPolicy:
    def __init__(self, rng: random.Random | None = None, on_learning: LearningSink | None = None,
                 tau_s: float = SPEED_TAU_S):
        self.rng = rng or random.Random()
        self.on_learning = on_learning or (lambda type, data: None)
        self.tau_s = tau_s
        self._lock = threading.Lock()
        self._last_choice: dict[tuple[str, str], str] = {}

    # ------------------------------------------------------------------ choosing
    def choose_action(self, service: Any, kind: str, actions: Sequence[str]) -> str:
        """The configured action to try for this incident (an argument order tie-break)."""
        if not actions:
            raise ValueError(f"no remediation actions configured for {kind}")
        name = _service_name(service)
        if len(actions) == 1:
            return actions[0]
        stats = {s.action: s for s in learned.action_stats(name, kind)}
        scores = {action: self._draw(stats.get(action)) for action in actions}
        choice = max(actions, key=lambda a: scores[a])
        self._note_choice(name, kind, choice, scores)
        return choice

    def _draw(self, stats: learned.ActionStats | None) -> float:
        successes = stats.successes if stats else 0
        failures = (stats.tries - stats.successes) if stats else 0
        p = self.rng.betavariate(1 + successes, 1 + failures)
        ttr = stats.median_ttr_s if stats else None
        return p * (1.0 if ttr is None else self.tau_s / (self.tau_s + ttr))

    def _note_choice(self, service: str, kind: str, choice: str, scores: dict[str, float]) -> None:
        with self._lock:
            before = self._last_choice.get((service, kind))
            self._last_choice[(service, kind)] = choice
        if before is not None and before != choice:
            self.on_learning("remediation_choice_changed", {
                "service": service, "kind": kind, "from": before, "to": choice,
                "scores": {a: round(s, 4) for a, s in scores.items()}})

    # ------------------------------------------------------------------ learning
    def record(self, service: Any, kind: str, action: str, success: bool, ttr_s: float | None) -> None:
        name = _service_name(service)
        learned.record_outcome(name, kind, action, success, ttr_s)
        self.on_learning("remediation_outcome", {"service": name, "kind": kind, "action": action,
                                                 "success": bool(success), "ttr_s": ttr_s})

    def on_event(self, event: Event) -> None:
        """EventBus subscriber: learn from "remediation_outcome" events."""
        if event.topic != "remediation_outcome" or not isinstance(event.data, dict):
            return
        data = event.data
        if not data.get("kind") or not data.get("action"):
            return
        self.record(event.key, data["kind"], data["action"], bool(data.get("success")), data.get("ttr_s"))

    def table(self, service: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """What was learned, per action: tries, success rate, median time to recovery."""
        return [{
            "service": s.service, "kind": s.kind, "action": s.action, "tries": s.tries,
            "successes": s.successes,
            "success_rate": round(s.success_rate, 4) if s.success_rate is not None else None,
            "median_ttr_s": round(s.median_ttr_s, 3) if s.median_ttr_s is not None else None,
        } for s in learned.action_stats(service, kind)]


def _service_name(service: Any) -> str:
    return str(getattr(service, "name", service))

"""A tiny in-process publish/subscribe bus between the engine and its views.

The engine (registry, supervisor, learning) publishes typed events; the TUI and
the daemon subscribe. Callbacks run on the publisher's thread, so a subscriber
that owns an event loop must hand the event over (Textual: post_message).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Something changed. `topic` says what (task, incident, service, config...)."""

    topic: str
    key: str = ""
    data: Any = None


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Register `callback`; returns a function that unsubscribes it."""
        with self._lock:
            self._subscribers = [*self._subscribers, callback]

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = [s for s in self._subscribers if s is not callback]

        return unsubscribe

    def publish(self, topic: str, key: str = "", data: Any = None) -> None:
        event = Event(topic, key, data)
        for callback in self._subscribers:  # copy-on-write list: no lock needed
            try:
                callback(event)
            except Exception:  # a broken view must never stop the engine
                log.exception("event subscriber failed on %s", topic)

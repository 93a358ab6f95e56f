"""The loader thread: the only place the pane reads the database.

Changes are *requested* (from engine events, or noticed by polling the
registry's change marks when attached to a daemon); requests pile up in a set
while a load runs, so a burst of 1,000 progress updates costs one or two loads.
The UI never waits on it: results go back through `deliver` (Textual's
thread-safe `post_message`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from grace_tui.tui.data import TOPICS, Clock, Source

log = logging.getLogger(__name__)

POLL_S = 0.2  # attached mode: how often to look at the change marks


class DataPump:
    def __init__(
        self,
        source: Source,
        deliver: Callable[[dict[str, Any]], None],
        clock: Clock,
        *,
        poll: bool = False,
        on_error: Callable[[str], None] | None = None,
        close_db: Callable[[], None] | None = None,
    ):
        self.source = source
        self.deliver = deliver
        self.clock = clock
        self.poll = poll
        self.on_error = on_error
        self.close_db = close_db
        self._wanted: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._marks: dict[str, float] = {}
        self._history: tuple[str, str | None] | None = None  # the latest page asked for
        self._thread = threading.Thread(target=self._run, name="grace-tui-loader", daemon=True)

    def start(self) -> None:
        self.request(set(TOPICS))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def request(self, topics: set[str] | str) -> None:
        """Ask for a reload of these topics; cheap, callable from any thread."""
        with self._lock:
            self._wanted |= {topics} if isinstance(topics, str) else topics
        self._wake.set()

    def request_history(self, search: str, before_id: str | None) -> None:
        """Ask for a page of history; a newer request replaces one not yet run (typing a search)."""
        with self._lock:
            self._history = (search, before_id)
        self._wake.set()

    def _take(self) -> tuple[set[str], tuple[str, str | None] | None]:
        with self._lock:
            wanted, self._wanted = self._wanted, set()
            history, self._history = self._history, None
            self._wake.clear()
        return wanted, history

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.wait(POLL_S if self.poll else None)
                if self._stop.is_set():
                    break
                if self.poll:
                    self._notice_changes()
                topics, history = self._take()
                if topics:
                    self._load(topics)
                if history:
                    self._load_history(*history)
        finally:
            if self.close_db:
                self.close_db()  # this thread's own connection

    def _notice_changes(self) -> None:
        try:
            marks = self.source.marks()
        except Exception as exc:
            self._report(f"cannot read the registry: {exc}")
            return
        changed = {t for t, mark in marks.items() if self._marks.get(t) != mark}
        if self._marks and changed:
            self.request(changed)
        self._marks = marks

    def _load(self, topics: set[str]) -> None:
        try:
            data = self.source.load(topics, self.clock())
        except Exception as exc:  # a locked or vanished DB must not kill the pane
            log.exception("loading %s failed", topics)
            self._report(f"cannot read the registry: {exc}")
            return
        self.deliver(data)

    def _load_history(self, search: str, before_id: str | None) -> None:
        try:
            page = self.source.history(search, before_id)
        except Exception as exc:
            log.exception("loading history failed")
            self._report(f"cannot read the task history: {exc}")
            return
        self.deliver({"history_page": page})

    def _report(self, message: str) -> None:
        if self.on_error:
            self.on_error(message)

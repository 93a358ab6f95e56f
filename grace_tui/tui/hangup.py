"""Ending the pane when its terminal is gone and Textual cannot.

A dropped session usually sends SIGHUP, and the pane exits. Without one (the pane ran under
runuser, or its terminal's session leader ignores the hangup) the pane sees the terminal go
and exits too, but Textual's exit writes to that terminal: its writer thread died on the first
write to it (EIO), its queue fills, and the exit blocks for good. An embedded pane then holds
the state dir's lock, supervising with nobody to see it, and no daemon can start. This thread
ends the process itself when the pane has not ended GRACE_S after the terminal went away.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable

CHECK_S = 5.0
GRACE_S = 10.0  # the pane's own exit, when it can, takes well under a second


def stdin_is_a_terminal() -> bool:
    """False once the terminal has hung up (isatty fails with EIO then) or was never there."""
    try:
        return bool(sys.__stdin__) and os.isatty(sys.__stdin__.fileno())
    except (OSError, ValueError):
        return False


class HangupWatch:
    def __init__(self, on_stuck: Callable[[], None], terminal_alive: Callable[[], bool] = stdin_is_a_terminal,
                 check_s: float = CHECK_S, grace_s: float = GRACE_S):
        self.on_stuck = on_stuck
        self.terminal_alive = terminal_alive
        self.check_s = check_s
        self.grace_s = grace_s
        self._ended = threading.Event()
        self._lock = threading.Lock()  # on_stuck and the pane's own ending never both run
        self._thread = threading.Thread(target=self._run, name="grace-tui-hangup", daemon=True)

    def start(self) -> "HangupWatch":
        self._thread.start()
        return self

    def ended(self) -> None:
        """The pane has ended by itself: from here on its own shutdown runs, not on_stuck."""
        with self._lock:
            self._ended.set()

    def _run(self) -> None:
        gone_since: float | None = None
        while not self._ended.wait(self.check_s):
            if self.terminal_alive():
                gone_since = None
            elif gone_since is None:
                gone_since = time.monotonic()
            elif time.monotonic() - gone_since >= self.grace_s:
                with self._lock:
                    if not self._ended.is_set():
                        self.on_stuck()
                return


def end_process_now(exit_code: int = 0) -> None:
    """After on_stuck's own cleanup: Textual's teardown would block on the dead terminal."""
    import logging

    logging.shutdown()
    os._exit(exit_code)

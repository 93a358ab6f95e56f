"""Know the moment a process exits: one thread blocked in epoll on pidfds.

Linux >= 5.3 gives a pidfd per process that becomes readable when it exits, for
our children and for processes we merely watch. Where pidfd_open is missing the
same thread falls back to polling those PIDs every 0.2 s.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from typing import Callable

import psutil

log = logging.getLogger(__name__)
ExitCallback = Callable[[int, float], None]  # (pid, detected_at wall time)


class ExitWatcher:
    POLL_FALLBACK_S = 0.2

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._wake_r, self._wake_w = os.pipe()
        self._epoll.register(self._wake_r, select.EPOLLIN)
        self._by_fd: dict[int, tuple[int, ExitCallback]] = {}
        self._polled: dict[int, tuple[float | None, ExitCallback]] = {}  # fallback: pid -> (create_time, cb)
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="grace-exit-watch", daemon=True)
        self._thread.start()

    def watch(self, pid: int, callback: ExitCallback) -> str:
        """Call `callback(pid, detected_at)` once `pid` exits. Returns the method used."""
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError) as exc:
            if isinstance(exc, ProcessLookupError):
                callback(pid, time.time())
                return "gone"
            try:
                created: float | None = psutil.Process(pid).create_time()
            except psutil.Error:
                created = None
            with self._lock:
                self._polled[pid] = (created, callback)
            self._wake()
            return "poll"
        with self._lock:
            self._by_fd[fd] = (pid, callback)
            self._epoll.register(fd, select.EPOLLIN)
        return "pidfd"

    def unwatch(self, pid: int) -> None:
        with self._lock:
            for fd, (watched, _) in list(self._by_fd.items()):
                if watched == pid:
                    self._close(fd)
            self._polled.pop(pid, None)

    def close(self) -> None:
        self._stop = True
        self._wake()
        self._thread.join(timeout=5)
        with self._lock:
            for fd in list(self._by_fd):
                self._close(fd)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._epoll.close()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _close(self, fd: int) -> None:  # lock held
        self._by_fd.pop(fd, None)
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass
        os.close(fd)

    def _run(self) -> None:
        while not self._stop:
            timeout = self.POLL_FALLBACK_S if self._polled else -1
            try:
                ready = self._epoll.poll(timeout)
            except InterruptedError:
                continue
            now = time.time()
            fired: list[tuple[int, ExitCallback]] = []
            with self._lock:
                for fd, _mask in ready:
                    if fd == self._wake_r:
                        os.read(self._wake_r, 4096)
                    elif fd in self._by_fd:
                        fired.append(self._by_fd[fd])
                        self._close(fd)
                for pid, (created, callback) in list(self._polled.items()):
                    if not _same_process_alive(pid, created):
                        fired.append((pid, callback))
                        del self._polled[pid]
            for pid, callback in fired:
                try:
                    callback(pid, now)
                except Exception:
                    log.exception("exit callback for PID %s failed", pid)


def _same_process_alive(pid: int, created: float | None) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and (created is None or proc.create_time() == created)
    except psutil.Error:
        return False

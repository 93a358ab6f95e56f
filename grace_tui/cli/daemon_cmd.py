"""`grace-tui daemon`: the supervisor in the foreground, for systemd.

Logs to stderr, one supervisor per state dir (a lock file naming its PID), clean
exit on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import threading
from pathlib import Path

from grace_tui.cli.context import Context
from grace_tui.errors import UserError
from grace_tui.paths import open_private


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("daemon", parents=[common], help="run the supervisor in the foreground (systemd)")
    p.add_argument("--dry-run", action="store_true", help="detect and report, but change nothing")
    p.add_argument("--leave-running", action="store_true",
                   help="on exit leave managed services running (default: per config, stop them)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=cmd_daemon)


class DaemonLock:
    """An flock on STATE/daemon.lock holding our PID; a second daemon learns who holds it."""

    def __init__(self, path: Path):
        self.path = path
        self.file = None

    def acquire(self) -> None:
        f = open_private(self.path, "a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            f.close()
            raise UserError(f"another supervisor (PID {holder}) is running on this state dir ({self.path})") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self.file = f

    def release(self) -> None:
        if self.file:
            self.file.seek(0)
            self.file.truncate()
            fcntl.flock(self.file.fileno(), fcntl.LOCK_UN)
            self.file.close()
            self.file = None


def cmd_daemon(ctx: Context) -> int:
    logging.basicConfig(level=getattr(logging, ctx.args.log_level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from grace_tui.config import load_config

    load_config(ctx.config_path)  # fail fast, before taking the lock, on a bad config
    lock = DaemonLock(ctx.paths.lock)
    lock.acquire()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    from grace_tui.engine import Engine

    engine = Engine(ctx.paths, ctx.registry, ctx.config_path, dry_run=ctx.args.dry_run)
    try:
        engine.start()
        logging.getLogger("grace_tui.daemon").info("grace-tui daemon PID %d, state dir %s, config %s",
                                                   os.getpid(), ctx.paths.root,
                                                   engine.config.source_path or "built-in default")
        while not stop.wait(3600):
            pass
        logging.getLogger("grace_tui.daemon").info("stopping")
    finally:
        engine.stop(True if ctx.args.leave_running else None)
        lock.release()
    return 0

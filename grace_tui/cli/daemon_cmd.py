"""`grace-tui daemon`: the supervisor in the foreground, for systemd.

Logs to stderr, one supervisor per state dir (a lock file naming its PID), clean
exit on SIGTERM/SIGINT, config re-read at once on SIGHUP (`systemctl reload`).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from grace_tui.cli.context import Context
from grace_tui.errors import UserError
from grace_tui.lockfile import SupervisorLock
from grace_tui.text import one_line


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("daemon", parents=[common], help="run the supervisor in the foreground (systemd)")
    p.add_argument("--dry-run", action="store_true", help="detect and report, but change nothing")
    p.add_argument("--leave-running", action="store_true",
                   help="on exit leave managed services running (default: per config, stop them)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=cmd_daemon)


def _limit_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own heap arena; one supervisor thread per
    service would otherwise cost megabytes of RSS for nothing (same as MALLOC_ARENA_MAX=2)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


class InertFormatter(logging.Formatter):
    """Log lines carry text from outside (a service's name in a summary, a command's error): escape
    sequences in it must not reach the terminal that tails the log."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(one_line(line) for line in super().format(record).splitlines())


class JournalFormatter(InertFormatter):
    """For stderr read by journald: it stamps the time itself and takes a leading <N> as the
    line's syslog priority, so `journalctl -p warning` lists the incidents and not the routine."""

    PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return f"<{self.PRIORITY.get(record.levelno, 6)}>{super().format(record)}"


def _stderr_is_journal() -> bool:
    """systemd sets JOURNAL_STREAM=DEV:INODE of the stream it connected; compare, as systemd.exec(5)
    advises, so a stderr redirected elsewhere by a wrapper is not taken for the journal."""
    try:
        dev, inode = (int(x) for x in os.environ["JOURNAL_STREAM"].split(":"))
        st = os.fstat(2)
    except (KeyError, ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (dev, inode)


def cmd_daemon(ctx: Context) -> int:
    _limit_malloc_arenas()
    handler = logging.StreamHandler()
    handler.setFormatter(JournalFormatter() if _stderr_is_journal() else
                         InertFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, ctx.args.log_level.upper()), handlers=[handler])
    from grace_tui.config import load_config

    load_config(ctx.config_path)  # fail fast, before taking the lock, on a bad config
    lock = SupervisorLock(ctx.paths.lock).acquire()
    log = logging.getLogger("grace_tui.daemon")
    asked: set[int] = set()  # signals received, handled by the loop below rather than in the handler
    wake = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        asked.add(signum)
        wake.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    from grace_tui.engine import Engine

    engine = Engine(ctx.paths, ctx.registry, ctx.config_path, dry_run=ctx.args.dry_run)
    try:
        engine.start()
        log.info("grace-tui daemon PID %d, state dir %s, config %s", os.getpid(), ctx.paths.root,
                 engine.config.source_path or "built-in default")
        while not asked & {signal.SIGTERM, signal.SIGINT}:
            wake.wait(3600)
            wake.clear()
            if signal.SIGHUP in asked:
                asked.discard(signal.SIGHUP)
                try:
                    log.info("SIGHUP: %s", engine.reload_config())
                except UserError as exc:  # already logged with its FILE:LINE error
                    log.info("SIGHUP: %s", exc)
        log.info("stopping")
    finally:
        engine.stop(True if ctx.args.leave_running else None)
        lock.release()
    return 0

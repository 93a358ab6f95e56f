"""`grace-tui` with no subcommand: open the pane, embedded or attached to a daemon.

Embedded: this process runs the Engine (supervisor included) and holds the
state dir's lock. Attached (`--attach`, or a daemon already holds the lock): no
Engine; the pane polls the registry's change marks and sends actions through the
command queue, which the daemon serves.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from grace_tui.cli.context import Context
from grace_tui.errors import ConfigError, UsageError, UserError
from grace_tui.tui.hangup import HangupWatch, end_process_now


def run(ctx: Context) -> int:
    from grace_tui.config import load_config
    from grace_tui.lockfile import holder_pid
    from grace_tui.tui.themes import choose_theme, load_themes, remembered_theme

    theme_set = load_themes()
    theme, warning = choose_theme(theme_set.names, ctx.args.theme, remembered_theme(ctx.paths.root))
    if warning:
        raise UsageError(f"--theme: {warning}")
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        raise UserError("the TUI needs a terminal; for a service use `grace-tui daemon`")
    notices = [f"theme skipped: {error}" for error in theme_set.errors]
    holder = holder_pid(ctx.paths.lock)
    attach = bool(ctx.args.attach) or holder is not None
    try:
        keys = load_config(ctx.config_path).tui.keys  # `[tui] keys`
    except ConfigError as exc:
        if not attach:
            raise  # embedded, the engine could not start on it either: one line, exit 2
        keys = {}  # the daemon keeps its last good config; the pane must still open to show it
        notices.append(f"config not read, default keys: {exc}")
    if holder is not None and not ctx.args.attach:
        notices.append(f"grace-tui PID {holder} already supervises this state dir: attached to it "
                       "(actions go through its command queue)")
    _log_to_file(ctx)
    if attach:
        return _run_attached(ctx, theme_set, theme, notices, keys)
    return _run_embedded(ctx, theme_set, theme, notices, keys)


def _run_attached(ctx: Context, theme_set: Any, theme: str, notices: list[str], keys: dict[str, str]) -> int:
    from grace_tui.engine import QueuedActions
    from grace_tui.tui.app import GraceApp
    from grace_tui.tui.data import RegistrySource

    registry = ctx.registry
    app = GraceApp(RegistrySource(registry, state_dir=ctx.paths.root), QueuedActions(lock=ctx.paths.lock),
                   mode="attached", themes=theme_set, theme=theme, state_dir=ctx.paths.root,
                   close_db=registry.database.close, notices=notices, watch_terminal=True, keys=keys,
                   supervisor_lock=ctx.paths.lock)
    hangup = HangupWatch(end_process_now).start()
    try:
        return app.run() or 0
    finally:
        hangup.ended()


def _run_embedded(ctx: Context, theme_set: Any, theme: str, notices: list[str], keys: dict[str, str]) -> int:
    from grace_tui.engine import Engine
    from grace_tui.lockfile import SupervisorLock
    from grace_tui.tui.app import GraceApp
    from grace_tui.tui.data import RegistrySource

    registry = ctx.registry
    with SupervisorLock(ctx.paths.lock):
        engine = Engine(ctx.paths, registry, ctx.config_path)
        engine.start()
        app = None
        hangup = HangupWatch(lambda: _end_stuck_pane(engine)).start()
        try:
            app = GraceApp(RegistrySource(registry, state_dir=ctx.paths.root), engine, mode="embedded",
                           events=engine.events,
                           themes=theme_set, theme=theme, state_dir=ctx.paths.root,
                           close_db=registry.database.close, notices=notices, watch_terminal=True, keys=keys)
            return app.run() or 0
        finally:
            hangup.ended()
            # `q` is a choice (stop_services_on_exit decides); a dropped SSH session is not: the
            # services it started keep running, and the next grace-tui adopts them.
            if app is not None and app.terminal_lost:
                _terminal_lost(engine)
            else:
                engine.stop()


def _terminal_lost(engine: Any) -> None:
    logging.getLogger("grace_tui.tui").warning("terminal lost: managed services left running")
    engine.stop(True)


def _end_stuck_pane(engine: Any) -> None:
    """The terminal went away and the pane could not close (tui/hangup.py)."""
    _terminal_lost(engine)
    end_process_now()


def _log_to_file(ctx: Context) -> None:
    """Logs would tear the screen: send them to STATE_DIR/tui.log (0600)."""
    from grace_tui.paths import open_private

    handler = logging.StreamHandler(open_private(ctx.paths.root / "tui.log", "a", encoding="utf-8"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)

"""What every command gets: the global options, resolved, and lazily opened state."""

from __future__ import annotations

import argparse
from functools import cached_property
from pathlib import Path

from grace_tui.paths import StatePaths


class Context:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.state_dir: Path | None = Path(args.state_dir).expanduser() if args.state_dir else None
        self.config_path: Path | None = Path(args.config).expanduser() if args.config else None
        self.db_url: str | None = args.db

    @cached_property
    def paths(self) -> StatePaths:
        return StatePaths(self.state_dir).ensure()

    @cached_property
    def registry(self):
        from grace_tui.registry import Registry

        return Registry.open(self.paths.root, self.db_url)

    def supervisor_pid(self) -> int | None:
        """The PID of the daemon (or embedded pane) holding the state dir, if one does. Opens the
        DB: the command queue that reaches it lives there."""
        from grace_tui.lockfile import holder_pid

        self.registry  # noqa: B018
        return holder_pid(self.paths.lock)

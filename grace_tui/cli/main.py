"""Entry point: parse the command line, run one command, turn errors into one line."""

from __future__ import annotations

import argparse
import importlib
import sys

from grace_tui import __version__
from grace_tui.cli.context import Context
from grace_tui.errors import UsageError, UserError
from grace_tui.text import one_line

# Each module has register(subparsers, common) adding its subcommands; a subcommand
# sets `func(ctx) -> int`.
COMMAND_MODULES = [
    "grace_tui.cli.task_cmd",
    "grace_tui.cli.supervisor_cmd",
    "grace_tui.cli.daemon_cmd",
    "grace_tui.cli.config_cmd",
    "grace_tui.cli.governance_cmd",  # after config_cmd: adds to its `config` group
    "grace_tui.cli.report_cmd",
    "grace_tui.cli.drill_cmd",
    "grace_tui.cli.learn_cmd",
    "grace_tui.cli.audit_cmd",
]


def global_options(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted before and after any subcommand."""
    default = argparse.SUPPRESS if suppress else None
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("global options")
    group.add_argument("--state-dir", metavar="DIR", default=default,
                       help="state directory (default: $GRACE_TUI_STATE_DIR or $XDG_STATE_HOME/grace-tui)")
    group.add_argument("--config", metavar="PATH", default=default,
                       help="config file (default: $GRACE_TUI_CONFIG, $XDG_CONFIG_HOME/grace-tui/config.toml, "
                            "/etc/grace-tui/config.toml)")
    group.add_argument("--db", metavar="URL", default=default,
                       help="database: a SQLite path, sqlite:///PATH or postgresql://... (default: STATE_DIR/grace.db)")
    return parser


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other error
        command = self.prog.removeprefix("grace-tui").strip()
        raise UsageError(f"{command}: {message}" if command else message)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="grace-tui",
        description="A self-healing server monitor that lives in the terminal.",
        parents=[global_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"grace-tui {__version__}")
    parser.add_argument("--attach", action="store_true", help="open the TUI on a running daemon's state dir")
    parser.add_argument("--theme", metavar="NAME", help="TUI theme (dark, light, high-contrast, monochrome, ...)")
    parser.set_defaults(func=run_tui)
    common = global_options(suppress=True)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers, common)
    return parser


def run_tui(ctx: Context) -> int:
    try:
        from grace_tui.tui.run import run
    except ImportError:
        raise UserError("the TUI is not available in this build; see `grace-tui --help`") from None
    return run(ctx)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(Context(args)) or 0)
    except UserError as exc:
        print("\n".join(one_line(line) for line in f"grace-tui: {exc}".splitlines()), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0

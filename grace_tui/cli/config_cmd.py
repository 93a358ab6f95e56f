"""`grace-tui config ...`: check a config file (governance adds approve/reject/history/rollback)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grace_tui.cli.context import Context
from grace_tui.text import one_line


def register(subparsers, common: argparse.ArgumentParser) -> None:
    config = subparsers.add_parser("config", parents=[common], help="check and manage the config")
    sub = config.add_subparsers(title="config commands", metavar="ACTION", required=True, parser_class=type(config))
    p = sub.add_parser("check", parents=[common], help="validate a config; print every error as FILE:LINE: field")
    p.add_argument("path", nargs="?", help="the file (default: --config, then the usual places)")
    p.set_defaults(func=cmd_check)
    config.set_defaults(config_sub=sub)  # other modules add their subcommands to this group


def cmd_check(ctx: Context) -> int:
    from grace_tui.config import ConfigInvalid, load_config
    from grace_tui.supervisor.probes import ephemeral_port_warning

    path = Path(ctx.args.path).expanduser() if ctx.args.path else ctx.config_path
    try:
        config = load_config(path)
    except ConfigInvalid as exc:
        for error in exc.errors:
            print(one_line(error), file=sys.stderr)
        return 2
    where = config.source_path or "built-in default (no config file found)"
    for service in config.services.values():
        if warning := ephemeral_port_warning(service.name, service.port):
            print(f"{where}: warning: services.{warning}", file=sys.stderr)
    managed = sum(1 for s in config.services.values() if s.mode == "managed")
    print(f"{where}: OK: {len(config.services)} service(s) ({managed} managed, "
          f"{len(config.services) - managed} watched), host checks {'on' if config.host.enabled else 'off'}")
    return 0

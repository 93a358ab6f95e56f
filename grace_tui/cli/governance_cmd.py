"""`grace-tui config approve|reject|pending|history|rollback`: config under governance.

When a daemon holds the state dir, approve/reject/rollback go through the command
queue so the running daemon applies the new version; otherwise they are applied
to the registry directly (the daemon picks them up when it starts).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone

from grace_tui.cli.context import Context
from grace_tui.errors import UserError
from grace_tui.text import inert_lines, one_line


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add to the `config` group of cli/config_cmd.py, or create the group if it is absent."""
    config = subparsers.choices.get("config")
    sub = config.get_default("config_sub") if config is not None else None
    if sub is None:
        config = subparsers.add_parser("config", parents=[common], help="manage the config under governance")
        sub = config.add_subparsers(title="config commands", metavar="ACTION", required=True,
                                    parser_class=type(config))
        config.set_defaults(config_sub=sub)
    register_config_subcommands(sub, common)


def register_config_subcommands(sub, common: argparse.ArgumentParser) -> None:
    for name, func, help_text in (("approve", cmd_approve, "approve pending proposal N: applies a new version"),
                                  ("reject", cmd_reject, "reject pending proposal N")):
        p = sub.add_parser(name, parents=[common], help=help_text)
        p.add_argument("n", type=int, metavar="N", help="the proposal number")
        p.add_argument("--user", help="who decides (default: the login name)")
        p.set_defaults(func=func)

    p = sub.add_parser("pending", parents=[common], help="list proposals waiting for a decision")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pending)

    p = sub.add_parser("history", parents=[common], help="list config versions (newest first)")
    p.add_argument("-n", type=int, default=20, metavar="N", help="how many versions (default 20)")
    p.add_argument("--diff", action="store_true", help="print each version's diff")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("rollback", parents=[common], help="return to version N (as a new version)")
    p.add_argument("n", type=int, metavar="N", help="the version number")
    p.add_argument("--user", help="who decides (default: the login name)")
    p.set_defaults(func=cmd_rollback)


# ---------------------------------------------------------------------- actions
def _actions(ctx: Context):
    """The running daemon's queue if there is one, else governance applied right here."""
    from grace_tui.lockfile import holder_pid

    ctx.registry  # opens the DB (and binds the models) for either path
    if holder_pid(ctx.paths.lock):
        from grace_tui.engine import QueuedActions

        return QueuedActions(timeout_s=10.0)
    return _local_governance(ctx)


def _local_governance(ctx: Context):
    from grace_tui.governance import Governance, load_file_config, validate_config
    from grace_tui.incidents import IncidentLog

    governance = Governance(ctx.registry, IncidentLog(ctx.registry, ctx.paths), ctx.paths,
                            lambda: load_file_config(ctx.config_path), validate_config)
    governance.versions.sync_file("config file changed while grace-tui was stopped")
    return governance


def cmd_approve(ctx: Context) -> int:
    print(_actions(ctx).approve(ctx.args.n, ctx.args.user))
    return 0


def cmd_reject(ctx: Context) -> int:
    print(_actions(ctx).reject(ctx.args.n, ctx.args.user))
    return 0


def cmd_rollback(ctx: Context) -> int:
    actions = _actions(ctx)
    if not hasattr(actions, "rollback"):
        raise UserError("the running daemon does not support rollback; stop it or upgrade")
    print(actions.rollback(ctx.args.n, ctx.args.user))
    return 0


# ---------------------------------------------------------------------- listings
def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ") if ts else "-"


def cmd_pending(ctx: Context) -> int:
    from grace_tui.registry import governance as store

    ctx.registry  # opens the database
    proposals = store.pending_proposals()
    if ctx.args.json:
        print(json.dumps([p.__dict__ for p in proposals], indent=2, default=str))
        return 0
    if not proposals:
        print("no pending proposals")
    for p in proposals:
        changes = ", ".join(f"{c['path']}: {c['old']} -> {c['new']}" for c in p.changes)
        print(f"#{p.id}  {_when(p.created_at)}  {p.kind}  {one_line(changes)}\n      {one_line(p.reason)}")
    return 0


def cmd_history(ctx: Context) -> int:
    from grace_tui.registry import governance as store

    ctx.registry  # opens the database
    versions = store.list_versions(max(1, ctx.args.n))
    if ctx.args.json:
        print(json.dumps([{k: v for k, v in vars(v).items() if k != "config"} for v in versions], indent=2))
        return 0
    if not versions:
        print("no config versions yet (they start when grace-tui first runs or a proposal is decided)")
    for v in versions:
        changed = sum(1 for line in v.diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---"))
        proposal = f" (proposal #{v.proposal_id})" if v.proposal_id else ""
        print(f"v{v.number:<4} {_when(v.created_at)}  {one_line(v.author):<10} {changed:>3} line(s) changed  "
              f"{one_line(v.reason)}{proposal}")
        if ctx.args.diff and v.diff:
            print("".join("      " + line + "\n" for line in inert_lines(v.diff)), end="")
    return 0

"""`grace-tui task ...`: outside jobs (a backup, a deploy) report into the registry."""

from __future__ import annotations

import argparse
import json
import time

from grace_tui.cli.context import Context
from grace_tui.errors import UserError
from grace_tui.registry import STATUSES, TaskView
from grace_tui.text import one_line
from grace_tui.tui.format import duration  # pure text, no Textual


def register(subparsers, common: argparse.ArgumentParser) -> None:
    task = subparsers.add_parser("task", parents=[common], help="register and update tasks from scripts")
    sub = task.add_subparsers(title="task commands", metavar="ACTION", required=True, parser_class=type(task))

    p = sub.add_parser("start", parents=[common], help="register a task; prints its id")
    p.add_argument("--title", required=True)
    p.add_argument("--subsystem", default="ops")
    p.add_argument("--kind", default="job")
    p.add_argument("--pending", action="store_true", help="register as pending (not yet running)")
    p.set_defaults(func=cmd_start)

    p = sub.add_parser("progress", parents=[common], help="report progress 0-100")
    p.add_argument("id")
    p.add_argument("percent", type=str)
    p.add_argument("--message", "-m")
    p.set_defaults(func=cmd_progress)

    p = sub.add_parser("done", parents=[common], help="mark a task completed")
    p.add_argument("id")
    p.add_argument("--result", metavar="JSON", help="a JSON value stored with the task")
    p.set_defaults(func=cmd_done)

    p = sub.add_parser("fail", parents=[common], help="mark a task failed")
    p.add_argument("id")
    p.add_argument("--error", default="failed")
    p.set_defaults(func=cmd_fail)

    p = sub.add_parser("cancel", parents=[common], help="cancel a task")
    p.add_argument("id")
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("list", parents=[common], help="list tasks")
    p.add_argument("--active", action="store_true", help="only pending and active tasks")
    p.add_argument("--subsystem")
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)


def cmd_start(ctx: Context) -> int:
    a = ctx.args
    status = "pending" if a.pending else "active"
    print(ctx.registry.start_task(a.title, a.subsystem, a.kind, status=status))
    return 0


def cmd_progress(ctx: Context) -> int:
    try:
        percent = float(ctx.args.percent)
    except ValueError:
        raise UserError(f"progress must be a number from 0 to 100, got {ctx.args.percent!r}") from None
    ctx.registry.progress(ctx.args.id, percent, ctx.args.message)
    return 0


def cmd_done(ctx: Context) -> int:
    result = None
    if ctx.args.result is not None:
        try:
            result = json.loads(ctx.args.result)
        except json.JSONDecodeError as exc:
            raise UserError(f"--result is not valid JSON: {exc.msg} at column {exc.colno}") from None
    ctx.registry.complete(ctx.args.id, result)
    return 0


def cmd_fail(ctx: Context) -> int:
    ctx.registry.fail(ctx.args.id, ctx.args.error)
    return 0


def cmd_cancel(ctx: Context) -> int:
    ctx.registry.cancel(ctx.args.id)
    return 0


def cmd_list(ctx: Context) -> int:
    a = ctx.args
    if a.active:
        tasks = ctx.registry.active_tasks(subsystem=a.subsystem, limit=a.limit)
    else:
        tasks = ctx.registry.list_tasks(subsystem=a.subsystem, status=a.status, limit=a.limit)
    if a.json:
        print(json.dumps([t.to_json() for t in tasks], indent=1))
        return 0
    now = time.time()
    print(f"{'ID':13}  {'SUBSYSTEM':12}  {'KIND':14}  {'STATUS':11}  {'PCT':>5}  {'ELAPSED':>8}  TITLE / MESSAGE")
    for t in tasks:
        print(format_row(t, now))
    return 0


def format_row(t: TaskView, now: float) -> str:
    detail = t.title + (f" — {t.message}" if t.message else "") + (f" — {t.error}" if t.error else "")
    subsystem, kind = one_line(t.subsystem)[:12], one_line(t.kind)[:14]
    return (f"{t.id:13}  {subsystem:12}  {kind:14}  {t.status:11}  {t.progress:5.1f}  "
            f"{duration(t.elapsed_s(now)):>8}  {one_line(detail)}")

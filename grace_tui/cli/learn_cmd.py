"""`grace-tui learn ...`: what grace-tui learns, on demand; and the anomaly scorer on a CSV.

    grace-tui learn list                 jobs, their schedule and last run; trained models
    grace-tui learn run JOB [--no-wait]  run a job now (through the daemon when one runs)
    grace-tui learn cancel TASK_ID       cancel a waiting or running job
    grace-tui learn score FILE.csv [--out FILE]   timestamp,value -> timestamp,value,anomaly_score
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from grace_tui.cli.context import Context
from grace_tui.errors import UserError

TERMINAL = ("completed", "failed", "cancelled", "interrupted")


def register(subparsers, common: argparse.ArgumentParser) -> None:
    learn = subparsers.add_parser("learn", parents=[common], help="learning jobs, models and anomaly scoring")
    sub = learn.add_subparsers(title="learn commands", metavar="ACTION", required=True, parser_class=type(learn))

    p = sub.add_parser("list", parents=[common], help="jobs, their schedule and last runs; trained models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("run", parents=[common], help="run a learning job now")
    p.add_argument("job")
    p.add_argument("--no-wait", action="store_true", help="print the task id and return at once")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the job (default 600)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("cancel", parents=[common], help="cancel a waiting or running learning job")
    p.add_argument("task_id")
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("score", parents=[common], help="score a CSV (timestamp,value) with the anomaly detector")
    p.add_argument("file", help="CSV with a header and columns timestamp,value; - reads standard input")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    p.set_defaults(func=cmd_score)


# ---------------------------------------------------------------------- helpers
def learning_config(ctx: Context) -> tuple[dict[str, Any], str]:
    """The config file's [learning] table and the file's name (for error messages)."""
    from grace_tui.config import load_config

    config = load_config(ctx.config_path)
    return config.learning or {}, str(config.source_path or "config")


def local_service(ctx: Context):
    from grace_tui.incidents import IncidentLog
    from grace_tui.learning.service import LearningService

    table, source = learning_config(ctx)
    return LearningService(ctx.registry, IncidentLog(ctx.registry, ctx.paths), table, source=source)


# ---------------------------------------------------------------------- commands
def cmd_list(ctx: Context) -> int:
    from grace_tui.registry import metrics

    service = local_service(ctx)
    history = ctx.registry.list_tasks(subsystem="learning", limit=500)
    models = metrics.model_stats("anomaly")
    rows = []
    for spec in service.runner.jobs():
        last = next((t for t in history if t.ref == spec.name), None)
        rows.append({"job": spec.name, "kind": spec.kind, "every_s": spec.every_s,
                     "last": last.to_json() if last else None})
    if ctx.args.json:
        print(json.dumps({"jobs": rows, "models": models}, indent=1))
        return 0
    print(f"{'JOB':22}  {'KIND':22}  {'EVERY':>7}  LAST RUN")
    for row in rows:
        last = row["last"]
        when = "never" if last is None else (
            f"{last['id']} {last['status']} {last['progress']:.0f}% {last['message'] or last['error'] or ''}".rstrip())
        every = f"{row['every_s']:.0f}s" if row["every_s"] else "manual"
        print(f"{row['job']:22}  {row['kind']:22}  {every:>7}  {when}")
    print(f"\n{len(models)} trained anomaly models" + (":" if models else ""))
    for metric, stats in sorted(models.items()):
        print(f"  {metric:40}  {stats['points']:6d} points  expected ~{_num(stats.get('expected'))}"
              f"  ({_num(stats.get('expected_low'))} to {_num(stats.get('expected_high'))})")
    return 0


def cmd_run(ctx: Context) -> int:
    if ctx.supervisor_pid():
        from grace_tui.engine import QueuedActions

        task_id = QueuedActions().run_job(ctx.args.job)
        if not task_id.isalnum():  # the daemon did not answer in time
            print(task_id)
            return 0
        print(task_id)
        return 0 if ctx.args.no_wait else wait_for_task(ctx, task_id)
    service = local_service(ctx)
    if ctx.args.job not in {spec.name for spec in service.runner.jobs()}:
        known = ", ".join(spec.name for spec in service.runner.jobs())
        raise UserError(f"unknown learning job {ctx.args.job!r} (known: {known})")
    service.start(sample=False, schedule=False)
    try:
        task_id = service.runner.run_now(ctx.args.job)
        print(task_id)
        return wait_for_task(ctx, task_id)
    except KeyboardInterrupt:
        service.runner.cancel(task_id)
        raise
    finally:
        service.stop()


def wait_for_task(ctx: Context, task_id: str) -> int:
    """Show the task's progress on stderr until it ends; print its result."""
    deadline = time.monotonic() + ctx.args.timeout
    shown = ""
    while True:
        task = ctx.registry.get(task_id)
        line = f"{task.status} {task.progress:5.1f}% {task.message}"
        if line != shown:
            print(line, file=sys.stderr)
            shown = line
        if task.status in TERMINAL:
            break
        if time.monotonic() > deadline:
            raise UserError(f"task {task_id} still {task.status} after {ctx.args.timeout:.0f} s")
        time.sleep(0.1)
    if task.status != "completed":
        raise UserError(f"task {task_id} {task.status}: {task.error or task.message}")
    summary = task.result.get("summary") if isinstance(task.result, dict) else None
    print(summary or json.dumps(task.result))
    return 0


def cmd_cancel(ctx: Context) -> int:
    task_id = ctx.args.task_id
    if ctx.supervisor_pid():
        from grace_tui.engine import QueuedActions

        print(QueuedActions().cancel_task(task_id))
        return 0
    task = ctx.registry.get(task_id)  # unknown id -> one-line error
    if task.subsystem != "learning":
        raise UserError(f"task {task_id} is not a learning job (subsystem {task.subsystem})")
    if task.status in TERMINAL:
        raise UserError(f"task {task_id} is already {task.status}")
    ctx.registry.cancel(task_id, "cancelled by user (no daemon was running it)")
    print(f"cancelled {task_id}")
    return 0


def cmd_score(ctx: Context) -> int:
    import csv  # every subcommand module loads with the parser; the daemon never scores CSV

    name = ctx.args.file
    infile = _open_in(name)
    try:
        _score(ctx, infile, name)
    except UnicodeDecodeError as exc:
        raise UserError(f"{'stdin' if name == '-' else name}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise UserError(f"{'stdin' if name == '-' else name}: bad CSV: {exc}") from None
    finally:
        if infile is not sys.stdin:
            infile.close()
    return 0


def _score(ctx: Context, infile, name: str) -> None:
    from grace_tui.learning.score_csv import score_csv

    label = "stdin" if name == "-" else name
    if not ctx.args.out:
        score_csv(infile, sys.stdout, label)
        sys.stdout.flush()
        return
    from grace_tui.paths import open_private

    try:
        out = open_private(ctx.args.out, "w", newline="")
    except OSError as exc:
        raise UserError(f"{ctx.args.out}: cannot write: {exc.strerror or exc}") from None
    with out:
        score_csv(infile, out, label)


def _open_in(name: str):
    if name == "-":
        return sys.stdin
    try:
        return open(name, newline="", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{name}: cannot read: {exc.strerror or exc}") from None


def _num(value: Any) -> str:
    return "?" if value is None else f"{value:.4g}"

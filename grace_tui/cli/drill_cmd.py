"""`grace-tui drill`: heal a throwaway service for real and print the figures."""

from __future__ import annotations

import argparse
import json

from grace_tui.cli.context import Context
from grace_tui.errors import UsageError, UserError
from grace_tui.paths import StatePaths


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("drill", parents=[common],
                              help="live drill: SIGKILL a throwaway service N times, block its port once, time it")
    p.add_argument("--trials", type=int, default=10, help="SIGKILL trials (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_drill)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:8.1f} ms"


def cmd_drill(ctx: Context) -> int:
    import tempfile

    from grace_tui.registry import Registry
    from grace_tui.supervisor.drill import run_drill

    if not 1 <= ctx.args.trials <= 1000:
        raise UsageError("drill: --trials must be between 1 and 1000")
    tmp = None
    if ctx.state_dir is None:  # a throwaway state dir unless one is given
        tmp = tempfile.TemporaryDirectory(prefix="grace-drill-")
        paths = StatePaths(tmp.name).ensure()
        registry = Registry.open(paths.root, ctx.db_url)
    else:
        paths, registry = ctx.paths, ctx.registry

    def show(trial: dict) -> None:
        if not ctx.args.json:
            state = "resolved" if trial["resolved"] else "NOT resolved"
            print(f"  {trial['kind']:<13} detect {_ms(trial['detect_s'])}   MTTR {_ms(trial['mttr_s'])}   {state}",
                  flush=True)

    try:
        if not ctx.args.json:
            print(f"drill: {ctx.args.trials} SIGKILL trials + 1 stale port holder, state dir {paths.root}")
        try:
            data = run_drill(paths, registry, ctx.args.trials, show)
        except RuntimeError as exc:
            raise UserError(f"drill: {exc}") from None
    finally:
        registry.close()
        if tmp:
            tmp.cleanup()
    if ctx.args.json:
        print(json.dumps(data, indent=2))
    else:
        print(f"MTTR over {data['resolved']}/{len(data['trials'])} resolved: min {_ms(data['mttr_min_s'])}, "
              f"median {_ms(data['mttr_median_s'])}, p90 {_ms(data['mttr_p90_s'])}, max {_ms(data['mttr_max_s'])}; "
              f"detection median {_ms(data['detect_median_s'])}")
    return 0 if data["resolved"] == len(data["trials"]) else 1

"""`grace-tui report NAME`: reports computed from the registry of the state dir.

Each report is a module with build(ctx) -> dict and render(data) -> str.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json

from grace_tui.cli.context import Context

REPORTS = {
    "healing": "grace_tui.reports.healing",
    "learning": "grace_tui.reports.learning",
    "tasks": "grace_tui.reports.tasks",
}


def available() -> dict[str, str]:
    out = {}
    for name, module in REPORTS.items():
        try:
            importlib.util.find_spec(module)
        except ModuleNotFoundError:
            continue
        if importlib.util.find_spec(module) is not None:
            out[name] = module
    return out


def register(subparsers, common: argparse.ArgumentParser) -> None:
    report = subparsers.add_parser("report", parents=[common], help="reports: healing (MTTR, MTTA), ...")
    report.add_argument("name", choices=sorted(available()))
    report.add_argument("--json", action="store_true", help="one JSON object")
    report.set_defaults(func=cmd_report)


def cmd_report(ctx: Context) -> int:
    module = importlib.import_module(REPORTS[ctx.args.name])
    data = module.build(ctx)
    print(json.dumps(data, indent=2, default=str) if ctx.args.json else module.render(data))
    return 0

"""`grace-tui audit verify|tail`: check and read the hash-chained audit log."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone

from grace_tui.cli.context import Context
from grace_tui.governance import audit
from grace_tui.text import one_line


def register(subparsers, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("audit", parents=[common], help="verify and read the audit log")
    sub = parser.add_subparsers(title="audit commands", metavar="ACTION", required=True, parser_class=type(parser))

    p = sub.add_parser("verify", parents=[common], help="check the hash chain; non-zero exit if it is broken")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("tail", parents=[common], help="print the newest entries")
    p.add_argument("-n", type=int, default=20, metavar="N", help="how many entries (default 20)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_tail)


def cmd_verify(ctx: Context) -> int:
    from grace_tui.registry import governance as store

    path = ctx.paths.audit_log
    ctx.registry  # the registry keeps a copy of the newest entry's seq and hash
    result = audit.verify(path, store.audit_anchor(str(path.resolve())))
    if result.ok:
        print(f"OK: {result.checked} entries checked ({path})")
        return 0
    where = f"entry seq {result.first_bad_seq}" if result.first_bad_seq else "the head file"
    print(f"BROKEN: {where}: {result.why} ({result.checked} entries verified before it; {path})")
    return 3


def cmd_tail(ctx: Context) -> int:
    entries = audit.tail(ctx.paths.audit_log, max(0, ctx.args.n))
    for entry in entries:
        if ctx.args.json:
            print(json.dumps(entry, sort_keys=True))
        else:
            print(format_entry(entry))
    return 0


def format_entry(entry: dict) -> str:
    when = datetime.fromtimestamp(entry["ts"], timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    data = json.dumps(entry["data"], sort_keys=True, default=str)
    if len(data) > 160:
        data = data[:157] + "..."
    return f"{entry['seq']:>6}  {when}Z  {one_line(entry['type']):<22} {one_line(entry['actor']):<12} {data}"

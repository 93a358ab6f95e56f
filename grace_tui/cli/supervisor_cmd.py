"""What `supervisorctl` and `monit summary` do, for grace-tui: the pane's main view, its incident keys
and service control, from a shell or a script.

    grace-tui status [--json]          services, open incidents and the failed incident of each service left
                                       down; exit 3 when something needs a person (no supervisor running
                                       services counts)
    grace-tui incident list [--state STATE] [-n N] [--json]
    grace-tui incident show ID [--json]   its facts and timeline, as the pane's detail screen
    grace-tui incident ack ID [--reason TEXT] [--user NAME]
    grace-tui incident retry ID        through the supervisor (the daemon's command queue)
    grace-tui service start|stop|restart NAME
    grace-tui service signal NAME SIGNAL      its process alone (as `supervisorctl signal`)
    grace-tui service log NAME [-n LINES] [-f]   a managed service's output (as `supervisorctl tail`)
"""

from __future__ import annotations

import argparse
import json
import time

from grace_tui.cli.context import Context
from grace_tui.config.model import STOP_SIGNALS
from grace_tui.errors import UserError
from grace_tui.text import inert_lines, one_line
from grace_tui.tui.format import coarse_age, duration  # pure text, no Textual

NEEDS_A_PERSON = 3  # as `supervisorctl status` exits when a program is not running
INCIDENT_STATES = ("open", "remediating", "resolved", "failed", "escalated")


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("status", parents=[common],
                              help="services and open incidents (exit 3 when something needs a person)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_status)

    incident = subparsers.add_parser("incident", parents=[common], help="list, show, acknowledge or retry incidents")
    sub = incident.add_subparsers(title="incident commands", metavar="ACTION", required=True,
                                  parser_class=type(incident))
    p = sub.add_parser("list", parents=[common], help="the latest incidents, newest first")
    p.add_argument("--state", choices=INCIDENT_STATES, help="only incidents in this state")
    p.add_argument("-n", "--limit", type=int, default=20, help="how many (default 20)")
    p.add_argument("--json", action="store_true", help="a JSON list")
    p.set_defaults(func=cmd_incident_list)
    p = sub.add_parser("show", parents=[common], help="an incident's facts and timeline (each attempt's output)")
    p.add_argument("id")
    p.add_argument("--json", action="store_true", help="one JSON object: the incident and its timeline")
    p.set_defaults(func=cmd_incident_show)
    p = sub.add_parser("ack", parents=[common], help="acknowledge an incident (a crash loop's re-arms its service)")
    p.add_argument("id")
    p.add_argument("--reason", default="", help='why; "noise" teaches threshold tuning')
    p.add_argument("--user", help="who acknowledges (default: this login)")
    p.set_defaults(func=cmd_ack)
    p = sub.add_parser("retry", parents=[common], help="retry an incident's remediation now (needs the daemon)")
    p.add_argument("id")
    p.set_defaults(func=cmd_retry)

    service = subparsers.add_parser("service", parents=[common],
                                    help="start, stop or restart a service (daemon), or read its output")
    sub = service.add_subparsers(title="service commands", metavar="ACTION", required=True,
                                 parser_class=type(service))
    for action, says in (("start", "start it (an operator's start re-arms a crash loop)"),
                         ("stop", "stop it; it stays stopped until started (watched: its `stop` argv)"),
                         ("restart", "stop it, then start it (watched: its `restart` argv)")):
        p = sub.add_parser(action, parents=[common], help=says)
        p.add_argument("name")
        p.set_defaults(func=cmd_service, action=action)
    p = sub.add_parser("signal", parents=[common], help="send a signal to its process (HUP: many servers reload)")
    p.add_argument("name")
    p.add_argument("signal", type=str.upper, choices=STOP_SIGNALS, metavar="SIGNAL", help=", ".join(STOP_SIGNALS))
    p.set_defaults(func=cmd_service_signal)
    p = sub.add_parser("log", parents=[common], help="a managed service's output, from STATE/logs/NAME.log")
    p.add_argument("name")
    p.add_argument("-n", "--lines", type=int, default=40, help="the last LINES lines (default 40)")
    p.add_argument("-f", "--follow", action="store_true", help="then print what it writes, until ctrl+c")
    p.set_defaults(func=cmd_service_log)


def cmd_status(ctx: Context) -> int:
    from grace_tui.registry import incidents as incident_store
    from grace_tui.registry import services as service_store

    pid = ctx.supervisor_pid()
    services = service_store.list_services(with_history=False)
    down = sum(service_store.is_down(s) for s in services)  # the same read: a second one can disagree
    # What needs a person: open incidents, and the failed one that left each down service down.
    left_down = [incident_store.last_failed(s.name) for s in services if s.state == "failed"]
    incidents = incident_store.open_incidents() + [i for i in left_down if i is not None]
    if ctx.args.json:
        print(json.dumps({"supervisor_pid": pid, "down": down,
                          "services": [_service_json(s) for s in services],
                          "incidents": [_incident_json(i) for i in incidents]}, indent=1))
    else:
        print("\n".join(status_lines(pid, services, incidents, time.time())))
    unsupervised = pid is None and any(s.mode != "host" for s in services)  # nothing watches them now
    unacked = any(i.is_open and not i.acknowledged for i in incidents)
    return NEEDS_A_PERSON if down or unacked or unsupervised else 0


def status_lines(pid: int | None, services: list, incidents: list, now: float) -> list[str]:
    unsupervised = "; its services are not supervised" if any(s.mode != "host" for s in services) else ""
    lines = [f"supervisor: PID {pid}" if pid else
             f"supervisor: none holds this state dir (states as last recorded){unsupervised}"]
    lines.append(f"{'SERVICE':16}  {'MODE':7}  {'STATE':9}  {'PID':>7}  {'UPTIME':>7}  {'RST':>3}  {'PORT':>5}  "
                 "MESSAGE")
    for s in services:
        lines.append(f"{one_line(s.name)[:16]:16}  {s.mode:7}  {s.state:9}  {s.pid or '-':>7}  "
                     f"{coarse_age(s.uptime_s(now)):>7}  {s.restarts:>3}  {s.port or '-':>5}  {one_line(s.message)}")
    lines.append("")
    if not incidents:
        lines.append("no incident needs a person")
        return lines
    return lines + incident_lines(incidents, now)


def incident_lines(incidents: list, now: float) -> list[str]:
    lines = [f"{'INCIDENT':13}  {'SEV':8}  {'KIND':18}  {'SERVICE':12}  {'AGE':>6}  {'STATE':11}  {'ACK':8}  "
             "SUMMARY"]
    for i in incidents:
        lines.append(f"{i.id:13}  {i.severity:8}  {i.kind:18}  {one_line(i.service or 'host')[:12]:12}  "
                     f"{coarse_age(now - i.detected_at):>6}  {i.state:11}  {one_line(i.acked_by or '-')[:8]:8}  "
                     f"{one_line(i.summary)}")
    return lines


def _service_json(s) -> dict:
    return {"name": s.name, "mode": s.mode, "state": s.state, "pid": s.pid, "started_at": s.started_at,
            "restarts": s.restarts, "port": s.port, "cpu_pct": s.cpu_pct, "rss_bytes": s.rss_bytes,
            "message": s.message}


def _incident_json(i) -> dict:
    return {"id": i.id, "kind": i.kind, "service": i.service, "severity": i.severity, "state": i.state,
            "summary": i.summary, "detected_at": i.detected_at, "acked_by": i.acked_by, "attempts": i.attempts,
            "mttr_s": i.mttr_s}


def cmd_incident_list(ctx: Context) -> int:
    from grace_tui.registry import incidents as incident_store

    ctx.registry  # noqa: B018
    if ctx.args.limit < 1:
        raise UserError(f"--limit must be at least 1, got {ctx.args.limit}")
    incidents = incident_store.list_incidents(limit=ctx.args.limit, state=ctx.args.state)
    if ctx.args.json:
        print(json.dumps([_incident_json(i) for i in incidents], indent=1))
    elif incidents:
        print("\n".join(incident_lines(incidents, time.time())))
    else:
        print("no incidents" + (f" {ctx.args.state}" if ctx.args.state else ""))
    return 0


def cmd_incident_show(ctx: Context) -> int:
    import dataclasses

    from grace_tui.registry import incidents as incident_store

    ctx.registry  # noqa: B018
    incident = incident_store.get_incident(ctx.args.id)
    entries = incident_store.timeline(incident.id)
    if ctx.args.json:
        print(json.dumps({"incident": dataclasses.asdict(incident),
                          "timeline": [dataclasses.asdict(e) for e in entries]}, indent=1, default=str))
        return 0
    from grace_tui.tui.incident_text import facts_text, timeline_text  # plain text: no Textual

    print(facts_text(incident, {}).plain + "\n" + timeline_text(entries, incident.detected_at, {}).plain, end="")
    return 0


def cmd_ack(ctx: Context) -> int:
    """Through the daemon when one runs (its supervisor re-arms a crash loop); else straight into
    the registry and incidents.jsonl, as the daemon would write it."""
    if ctx.supervisor_pid():
        from grace_tui.engine import QueuedActions

        print(QueuedActions().acknowledge(ctx.args.id, ctx.args.user, ctx.args.reason))
        return 0
    from grace_tui.incidents import IncidentLog

    incident = IncidentLog(ctx.registry, ctx.paths).acknowledge(ctx.args.id, ctx.args.user, ctx.args.reason)
    print(f"acknowledged {incident.id} by {incident.acked_by}"
          + (f" after {duration(incident.mtta_s)}" if incident.mtta_s is not None else ""))
    return 0


def cmd_retry(ctx: Context) -> int:
    print(_queued(ctx, "retry").retry(ctx.args.id))
    return 0


def cmd_service(ctx: Context) -> int:
    actions = _queued(ctx, ctx.args.action)
    print(getattr(actions, f"{ctx.args.action}_service")(ctx.args.name))
    return 0


def cmd_service_signal(ctx: Context) -> int:
    print(_queued(ctx, f"signal {ctx.args.name}").signal_service(ctx.args.name, ctx.args.signal))
    return 0


def cmd_service_log(ctx: Context) -> int:
    """Its output as written, made inert: a service's colour codes or escapes cannot drive the terminal."""
    from grace_tui.config.model import SERVICE_NAME
    from grace_tui.supervisor.logs import follow, service_log, tail

    if not SERVICE_NAME.match(ctx.args.name):  # a file name under STATE/logs, never a path
        raise UserError(f"{ctx.args.name!r}: not a service name (letters, digits, '.', '_' and '-')")
    path = service_log(ctx.paths.root, ctx.args.name)
    if not path.exists():
        raise UserError(f"{path}: no output log for {ctx.args.name!r} (a managed service's output is kept there)")
    lines, end = tail(path, ctx.args.lines)
    shown = inert_lines("\n".join(lines))
    if shown:
        print("\n".join(shown), flush=True)
    if ctx.args.follow:  # from where the tail ended: no line lost or shown twice in between
        for text in follow(path, start=end):
            print("\n".join(inert_lines(text)), flush=True)
    return 0


def _queued(ctx: Context, what: str):
    """The running supervisor's actions, through its command queue."""
    from grace_tui.engine import QueuedActions, no_supervisor

    if not ctx.supervisor_pid():
        raise no_supervisor(what)
    return QueuedActions()

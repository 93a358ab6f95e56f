"""`grace-tui status`, `incident ack|retry` and `service start|stop|restart` from a shell, with and
without a daemon."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from conftest import run_cli
from supervisor_helpers import banner_pid, echo_argv, free_port, wait_for

from grace_tui.incidents import IncidentLog, read_jsonl
from grace_tui.paths import StatePaths
from grace_tui.registry import Registry
from grace_tui.users import current_user


def one_line_error(result) -> str:
    assert result.returncode != 0 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_status_and_incident_keys_through_the_daemon(tmp_path):
    port = free_port()
    argv = ", ".join(f'"{a}"' for a in echo_argv(port))
    config = tmp_path / "config.toml"
    config.write_text(f'[host]\nenabled = false\n[services.echo]\ncommand = [{argv}]\nport = {port}\n'
                      f'[services.gone]\npidfile = "{tmp_path / "never.pid"}"\nrestart = ["true"]\n'
                      f'start_timeout = 0.2\n')
    state = tmp_path / "state"
    daemon = subprocess.Popen([sys.executable, "-m", "grace_tui", "daemon", "--config", str(config),
                               "--state-dir", str(state), "--log-level", "warning"], stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: banner_pid(port), what="echo up under the daemon")
        status = wait_for(lambda: (r := run_cli("status", "--json", state_dir=state)) and
                          json.loads(r.stdout)["down"] == 1 and r, what="the watched service given up on")
        assert status.returncode == 3  # a service is down: a person must act
        data = json.loads(status.stdout)
        assert data["supervisor_pid"] == daemon.pid
        assert {s["name"]: s["state"] for s in data["services"]} == {"echo": "running", "gone": "failed"}

        text = run_cli("status", state_dir=state)
        assert text.returncode == 3 and f"supervisor: PID {daemon.pid}" in text.stdout
        echo_row = next(line for line in text.stdout.splitlines() if line.startswith("echo "))
        assert f" {banner_pid(port)} " in echo_row and "running" in echo_row and str(port) in echo_row

        (incident,) = [i for i in data["incidents"] if i["service"] == "gone"]  # failed: why it is down
        assert incident["state"] == "failed"
        retried = run_cli("incident", "retry", incident["id"], state_dir=state)
        assert retried.returncode == 0 and retried.stdout.strip() == "retrying gone (process_down)"
        acked = run_cli("incident", "ack", incident["id"], "--reason", "decommissioned", "--user", "alice",
                        state_dir=state)
        assert acked.returncode == 0 and acked.stdout.strip() == f"acknowledged {incident['id']} by alice"

        first = banner_pid(port)
        assert run_cli("service", "stop", "echo", state_dir=state).stdout.strip() == "stop of echo requested"
        wait_for(lambda: banner_pid(port) is None, what="echo stopped")
        states = wait_for(lambda: (s := _states(state)) and s["echo"] == "stopped" and s, what="recorded as stopped")
        assert states["echo"] == "stopped"  # an operator's stop is not an incident: nothing heals it
        assert run_cli("service", "start", "echo", state_dir=state).returncode == 0
        second = wait_for(lambda: banner_pid(port), what="echo started again")
        assert run_cli("service", "restart", "echo", state_dir=state).stdout.strip() == "restart of echo requested"
        wait_for(lambda: (p := banner_pid(port)) and p != second, what="echo restarted")
        assert first != second
        assert "unknown service 'nosuch'" in one_line_error(run_cli("service", "stop", "nosuch", state_dir=state))
        by_kind = json.loads(run_cli("report", "healing", "--json", state_dir=state).stdout)["by_kind"]
        assert by_kind == {"process_down": 1}  # gone's; the operator's stop and restart opened none
        audited = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
        assert [(e["actor"], e["data"]) for e in audited if e["type"] == "service_action"] == [
            (current_user(), {"action": a, "service": "echo"}) for a in ("stop", "start", "restart")]
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0


def _states(state) -> dict[str, str]:
    return {s["name"]: s["state"] for s in json.loads(run_cli("status", "--json", state_dir=state).stdout)["services"]}


def test_incident_ack_without_a_daemon_and_one_line_errors(tmp_path):
    state = tmp_path / "state"
    paths = StatePaths(state).ensure()
    registry = Registry.open(paths.root)
    incident = IncidentLog(registry, paths).open("disk_low", "high", "/: 4.0% free < 10%", check="disk:/")
    registry.close()

    status = run_cli("status", state_dir=state)
    assert status.returncode == 3  # an open incident nobody acknowledged
    assert "supervisor: none holds this state dir" in status.stdout
    assert incident.id in status.stdout and "/: 4.0% free < 10%" in status.stdout

    acked = run_cli("incident", "ack", incident.id, "--reason", "noise", "--user", "alice", state_dir=state)
    assert acked.returncode == 0 and acked.stdout.startswith(f"acknowledged {incident.id} by alice after ")
    records = read_jsonl(paths.incidents_jsonl).records
    assert [r["event"] for r in records if r["incident"] == incident.id][-1] == "ack"
    assert run_cli("status", state_dir=state).returncode == 0  # acknowledged: nobody needs to act now

    assert "already acknowledged by alice" in one_line_error(run_cli("incident", "ack", incident.id, state_dir=state))
    assert "unknown incident id 'nosuch'" in one_line_error(run_cli("incident", "ack", "nosuch", state_dir=state))
    assert "no supervisor holds this state dir" in one_line_error(
        run_cli("incident", "retry", incident.id, state_dir=state))
    assert "to stop" in one_line_error(run_cli("service", "stop", "web", state_dir=state))
    assert os.stat(paths.incidents_jsonl).st_mode & 0o777 == 0o600


def test_incident_list_and_show_read_the_registry(tmp_path):
    state = tmp_path / "state"
    paths = StatePaths(state).ensure()
    registry = Registry.open(paths.root)
    log = IncidentLog(registry, paths)
    old = log.open("disk_low", "high", "/: 4.0% free < 10%", check="disk:/")
    crashed = log.open("process_down", "high", "app: process 7 exited with code 2", service="app",
                       detail={"exit_code": 2, "last_output": "loading\nfatal: \x1b[31mbad workers\x1b[0m"})
    log.note(crashed.id, "remediation", "restart: spawned PID 8", {"action": "restart", "pid": 8, "ok": True})
    log.resolve(crashed.id, "recovered by restart")
    registry.close()

    listed = run_cli("incident", "list", state_dir=state)
    assert listed.returncode == 0
    rows = listed.stdout.splitlines()[1:]
    assert [r.split()[0] for r in rows] == [crashed.id, old.id]  # newest first
    resolved = json.loads(run_cli("incident", "list", "--state", "resolved", "--json", state_dir=state).stdout)
    assert [i["id"] for i in resolved] == [crashed.id] and resolved[0]["mttr_s"] >= 0
    assert run_cli("incident", "list", "--state", "escalated", state_dir=state).stdout == "no incidents escalated\n"

    shown = run_cli("incident", "show", crashed.id, state_dir=state)
    assert shown.returncode == 0 and "\x1b" not in shown.stdout
    assert "      | loading\n      | fatal: bad workers\n" in shown.stdout
    assert "remediation  restart: spawned PID 8" in shown.stdout and "→ resolved: recovered by restart" in shown.stdout
    data = json.loads(run_cli("incident", "show", crashed.id, "--json", state_dir=state).stdout)
    assert data["incident"]["state"] == "resolved" and data["incident"]["detail"]["exit_code"] == 2
    assert [e["type"] for e in data["timeline"]][:1] == ["detected"]
    assert "unknown incident id 'nosuch'" in one_line_error(run_cli("incident", "show", "nosuch", state_dir=state))
    assert "--limit must be at least 1" in one_line_error(run_cli("incident", "list", "-n", "0", state_dir=state))


def test_status_says_services_with_no_supervisor_need_a_person(tmp_path):
    """A monitoring script runs `grace-tui status`: services nobody supervises (the daemon died)
    are not fine, even with no incident open."""
    from grace_tui.registry import services as service_rows

    state = tmp_path / "state"
    registry = Registry.open(StatePaths(state).ensure().root)
    service_rows.upsert_service("web", mode="managed", state="running", pid=None, started_at=None)
    registry.close()
    status = run_cli("status", state_dir=state)
    assert status.returncode == 3
    assert "supervisor: none holds this state dir (states as last recorded); its services are not supervised" \
        in status.stdout

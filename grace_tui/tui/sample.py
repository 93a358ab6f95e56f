"""A fixed, realistic pane (services, incidents, tasks, proposals) at a given time.

Snapshot tests and the benchmark build the app from this with a frozen clock, so
every render is the same; nothing here is shown to a user as real data.
"""

from __future__ import annotations

from grace_tui.registry import TaskView
from grace_tui.registry.governance import ProposalView
from grace_tui.registry.incidents import IncidentView, TimelineEntry
from grace_tui.registry.services import ServiceView
from grace_tui.registry.learned import ActionStats
from grace_tui.tui.data import LearningData, Overview, PaneData, TaskData, learned_actions

FROZEN_NOW = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC


def _service(name: str, state: str, pid: int | None, up: float | None, restarts: int, cpu: float | None,
             rss: int | None, port: int | None, now: float, seed: int) -> ServiceView:
    cpu_hist = [float((seed * 7 + i * 13) % 40 + 5) for i in range(12)]
    rss_hist = [float(50_000_000 + ((seed + i) * 3_000_000) % 20_000_000) for i in range(12)]
    return ServiceView(name=name, mode="managed", state=state, pid=pid, started_at=now - up if up else None,
                       restarts=restarts, port=port, cpu_pct=cpu, rss_bytes=rss, num_fds=12, connect_ms=1.2,
                       message="", history={"cpu": cpu_hist, "rss": rss_hist}, silenced_until=None,
                       updated_at=now)


def _incident(id: str, kind: str, severity: str, state: str, service: str | None, summary: str, age: float,
              now: float, *, acked_by: str | None = None, mttr: float | None = None,
              attempts: int = 0, detail: dict | None = None) -> IncidentView:
    detected = now - age
    ended = detected + mttr if mttr is not None else None
    return IncidentView(id=id, kind=kind, service=service, check=f"{kind}:{service or 'host'}", severity=severity,
                        state=state, summary=summary,
                        detail=detail if detail is not None else {"port": 8080} if service == "web" else {},
                        detected_at=detected, updated_at=ended or detected, recovered_at=ended, ended_at=ended,
                        acked_at=detected + 30 if acked_by else None, acked_by=acked_by,
                        ack_reason="noise" if acked_by else None, mttr_s=mttr,
                        mtta_s=30.0 if acked_by else None, attempts=attempts, task_id=None)


def _task(id: str, subsystem: str, title: str, status: str, progress: float, message: str, started_ago: float,
          now: float, duration: float | None = None, error: str | None = None) -> TaskView:
    started = now - started_ago
    completed = started + duration if duration is not None else None
    return TaskView(id=id, subsystem=subsystem, kind="job", title=title, status=status, progress=progress,
                    message=message, created_at=started, started_at=started, completed_at=completed,
                    updated_at=completed or now, duration_s=duration, result=None, error=error, host="web-01",
                    ref=None)


def sample_pane(now: float = FROZEN_NOW) -> tuple[PaneData, dict[str, list[TimelineEntry]]]:
    services = [
        _service("api", "running", 4121, 3 * 86400 + 7200, 0, 12.5, 182_000_000, 8000, now, 1),
        _service("nginx", "running", 902, 12 * 86400, 0, 1.5, 24_500_000, 443, now, 2),
        _service("postgres", "running", 1088, 12 * 86400, 0, 4.0, 512_000_000, 5432, now, 3),
        _service("web", "backoff", None, None, 3, None, None, 8080, now, 4),
        _service("worker", "running", 5530, 95, 1, 87.0, 96_000_000, None, now, 5),
    ]
    incidents = [
        _incident("01incweb0000a", "process_down", "critical", "remediating", "web",
                  "web exited with status 1 (3rd time in 5m)", 140, now, attempts=2),
        _incident("01incdisk000b", "forecast", "medium", "open", None,
                  "/var full in ~3 h 10 m", 3600 * 5, now, acked_by="alice",
                  detail={"metric": "disk:/var", "eta_s": 11_400.0, "eta_low_s": 7_800.0, "eta_high_s": 19_800.0,
                          "used": 41_500_000_000.0, "capacity": 50_000_000_000.0,
                          "slope_per_h": 2_680_000_000.0, "at": now - 60}),
        _incident("01incport000c", "port_in_use", "high", "resolved", "api",
                  "port 8000 held by a stray process", 3 * 3600, now, mttr=4.2, attempts=1),
        _incident("01inccpu0000d", "anomaly", "low", "resolved", "worker",
                  "anomaly: worker memory (RSS) 1.9 GiB, expected ~620 MiB", 6 * 3600, now, mttr=61.0,
                  detail={"metric": "svc:worker.rss_bytes", "value": 2_040_000_000.0, "expected": 650_000_000.0,
                          "expected_low": 520_000_000.0, "expected_high": 790_000_000.0, "score": 0.9987,
                          "at": now - 6 * 3600, "remediate": False}),
    ]
    active = [
        _task("01taskheal01", "self_healing", "CRITICAL: web exited with status 1", "active", 40.0,
              "restart attempt 2 of 3", 140, now),
        _task("01tasklearn1", "learning", "train cpu baseline (api)", "active", 62.0, "epoch 31/50", 900, now),
        _task("01tasklearn2", "learning", "forecast disk /var", "active", 15.0, "fitting Theil-Sen", 42, now),
        _task("01taskops001", "ops", "nightly backup", "active", 78.5, "copying /var/lib/postgresql", 1500, now),
        _task("01taskops002", "ops", "logrotate", "pending", 0.0, "", 0, now),
    ]
    recent = [
        _task("01taskdone01", "self_healing", "HIGH: port 8000 held by a stray process", "completed", 100.0,
              "resolved", 3 * 3600, now, duration=4.2),
        _task("01taskdone02", "learning", "retrain anomaly model (worker)", "completed", 100.0, "done",
              2 * 3600, now, duration=312.0),
        _task("01taskdone03", "ops", "certbot renew", "failed", 60.0, "", 4 * 3600, now, duration=18.0,
              error="acme: rate limited"),
        _task("01taskdone04", "governance", "apply config v12", "completed", 100.0, "applied", 5 * 3600, now,
              duration=0.4),
    ]
    learning_jobs = [t for t in active + recent if t.subsystem == "learning"]
    proposals = [
        ProposalView(id=7, created_at=now - 600, author="learning", kind="threshold",
                     reason="api cpu alarms every weekday at 09:00 are the daily batch",
                     changes=[{"path": "services.api.cpu_pct", "old": 80, "new": 92}], status="pending",
                     decided_at=None, decided_by=None, version=None),
    ]
    overview = Overview(host="web-01", boot_time=now - 41 * 86400 - 3 * 3600, open_count=2, acked_count=1,
                        resolved_today=2, mttr_today_s=32.6)
    learned = learned_actions([
        ActionStats("api", "port_in_use", "free_port", 6, 6, 3.9),
        ActionStats("api", "port_in_use", "restart", 3, 1, 14.0),
        ActionStats("web", "process_down", "restart", 11, 9, 2.1),
        ActionStats("worker", "unhealthy", "restart", 2, 0, None),
    ])
    data = PaneData(overview=overview, services=services, incidents=incidents, tasks=TaskData(active, recent),
                    learning=LearningData(learning_jobs, proposals), learned=learned)
    t0 = now - 140
    timelines = {
        "01incweb0000a": [
            TimelineEntry(t0, "detected", "web exited with status 1 (3rd time in 5m)", {}),
            TimelineEntry(t0 + 0.2, "remediation", "restart web (attempt 1)",
                          {"argv": ["/usr/bin/web", "--port", "8080"], "exit_code": 1, "duration_s": 1.4,
                           "output": "listening on :8080\nerror: config /etc/web.toml line 3: bad value"}),
            TimelineEntry(t0 + 2.0, "verification", "port 8080 not accepting connections", {}),
            TimelineEntry(t0 + 32.0, "remediation", "restart web (attempt 2)",
                          {"argv": ["/usr/bin/web", "--port", "8080"], "exit_code": 1, "duration_s": 1.3,
                           "output": "error: config /etc/web.toml line 3: bad value"}),
            TimelineEntry(t0 + 34.0, "state", "backoff 60s before attempt 3", {"state": "remediating"}),
        ],
    }
    return data, timelines


SAMPLE_LOGS = {"api": [
    "2026-09-21 14:10:02 INFO  listening on 127.0.0.1:8000",
    "2026-09-21 14:12:40 WARN  slow query: SELECT * FROM orders (812 ms)",
    "2026-09-21 14:13:05 ERROR upstream payments: connection refused, retrying in 2 s",
    "2026-09-21 14:13:07 INFO  upstream payments: connected",
]}


def demo_app(theme: str = "dark", now: float = FROZEN_NOW):  # pragma: no cover - a developer's preview
    """The pane on the sample data with a frozen clock and a recorder for actions."""
    from grace_tui.tui.app import GraceApp
    from grace_tui.tui.data import FixedSource
    from grace_tui.tui.themes import load_themes

    data, timelines = sample_pane(now)
    return GraceApp(FixedSource(data, timelines, SAMPLE_LOGS), RecordingActions(), clock=lambda: now,
                    themes=load_themes(), theme=theme, mode="demo", tick_s=0)


class RecordingActions:
    """Actions that only record what was asked (demo and tests without a supervisor)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []

    def _record(self, name: str, *args: object) -> str:
        self.calls.append((name, args))
        return f"{name} {args[0] if args else ''}: recorded"

    def acknowledge(self, incident_id: str, user: str | None = None, reason: str = "") -> str:
        return self._record("acknowledge", incident_id, user, reason)

    def retry(self, incident_id: str) -> str:
        return self._record("retry", incident_id)

    def silence(self, incident_id: str, seconds: float) -> str:
        return self._record("silence", incident_id, seconds)

    def approve(self, proposal_id: int, user: str | None = None) -> str:
        return self._record("approve", proposal_id, user)

    def reject(self, proposal_id: int, user: str | None = None) -> str:
        return self._record("reject", proposal_id, user)

    def cancel_task(self, task_id: str) -> str:
        return self._record("cancel_task", task_id)

    def run_job(self, name: str) -> str:
        return self._record("run_job", name)

    def reload_config(self) -> str:
        return self._record("reload_config")

    def start_service(self, name: str, user: str | None = None) -> str:
        return self._record("start_service", name, user)

    def stop_service(self, name: str, user: str | None = None) -> str:
        return self._record("stop_service", name, user)

    def restart_service(self, name: str, user: str | None = None) -> str:
        return self._record("restart_service", name, user)


if __name__ == "__main__":  # pragma: no cover
    import sys

    demo_app(sys.argv[1] if len(sys.argv) > 1 else "dark").run()

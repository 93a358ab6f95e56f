"""Prometheus text metrics: written atomically to STATE/grace_tui.prom (node_exporter's
textfile collector reads it), optionally served on 127.0.0.1:PORT."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from grace_tui.paths import write_private_atomic
from grace_tui.registry import incidents as store
from grace_tui.registry import services as service_rows
from grace_tui.reports.healing import summarize

if TYPE_CHECKING:
    from grace_tui.supervisor.core import Supervisor

log = logging.getLogger(__name__)


def _up(runner: Any) -> bool:
    return runner.state == "running" or service_rows.escalated_but_running(runner)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(sup: "Supervisor") -> str:
    data = summarize(store.healing_columns())
    out: list[str] = []

    def metric(name: str, kind: str, help_: str, samples: list[tuple[str, float | None]]) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            if value is not None:
                out.append(f"{name}{labels} {value:g}" if isinstance(value, int) else f"{name}{labels} {value:.6g}")

    runners = list(sup.runners.values())
    metric("grace_tui_service_up", "gauge", "1 when the service is running",
           [(f'{{service="{_label(r.name)}"}}', 1 if _up(r) else 0) for r in runners])
    metric("grace_tui_service_restarts_total", "counter", "restarts issued by grace-tui since it started",
           [(f'{{service="{_label(r.name)}"}}', r.restarts) for r in runners])
    metric("grace_tui_incidents_total", "counter", "incidents by kind",
           [(f'{{kind="{_label(k)}"}}', v) for k, v in sorted(data["by_kind"].items())])
    metric("grace_tui_incidents_state", "gauge", "incidents by current state",
           [(f'{{state="{_label(k)}"}}', v) for k, v in sorted(data["by_state"].items())])
    metric("grace_tui_incidents_resolved_total", "counter", "incidents resolved with verified recovery",
           [("", data["resolved"])])
    metric("grace_tui_remediation_success_ratio", "gauge", "resolved / ended incidents",
           [("", data["success_rate"])])
    mttr = data["mttr_s"]
    metric("grace_tui_mttr_seconds", "summary", "detection to verified recovery",
           [('{quantile="0.5"}', mttr["median"]), ('{quantile="0.9"}', mttr["p90"]),
            ("_count", mttr["count"]), ("_sum", (mttr["average"] or 0) * mttr["count"])])
    metric("grace_tui_mtta_seconds_average", "gauge", "detection to acknowledgement, average",
           [("", data["mtta_s"]["average"])])
    return "\n".join(out) + "\n"


class MetricsExporter:
    def __init__(self, supervisor: "Supervisor"):
        self.sup = supervisor
        self.dirty = True
        self._last = ""
        self._server: Any = None  # http.server.ThreadingHTTPServer, imported only when serving
        self._port: int | None = None

    def write(self, force: bool = False) -> None:
        """Re-render when an incident or a service state changed (rendering queries the registry)."""
        if not (self.dirty or force):
            return
        text = render(self.sup)
        self.dirty = False
        if text != self._last:
            write_private_atomic(self.sup.paths.metrics_prom, text)
            self._last = text

    def start(self) -> None:
        settings = self.sup.config.supervisor
        if not settings.metrics_port:
            return
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                body = (exporter._last or "").encode()
                self.send_response(200 if self.path in ("/", "/metrics") else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        try:
            self._server = ThreadingHTTPServer((settings.metrics_bind, settings.metrics_port), Handler)
        except OSError as exc:
            log.error("cannot serve metrics on %s:%s: %s", settings.metrics_bind, settings.metrics_port, exc)
            return
        self._port = settings.metrics_port
        threading.Thread(target=self._server.serve_forever, name="grace-metrics", daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reconfigure(self) -> None:
        if self.sup.config.supervisor.metrics_port != self._port:
            self.stop()
            self._port = None
            self.start()

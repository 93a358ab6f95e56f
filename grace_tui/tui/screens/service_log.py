"""`l` on a managed service: the last lines of its output, kept up to date (as `tail -f`)."""

from __future__ import annotations

from typing import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Log, Static

from grace_tui.text import inert_lines, one_line

LOG_LINES = 500


class ServiceLogScreen(Screen[None]):
    BINDINGS = [Binding("escape", "close", "Back")]

    def __init__(self, service: str, load: Callable[[int], list[str]], every_s: float):
        super().__init__()
        self.service = service
        self.load = load  # the Source's service_log, run on a worker thread
        self.every_s = every_s  # 0: read once (snapshot tests)
        self._shown: list[str] | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"{one_line(self.service)}: logs/{one_line(self.service)}.log, last {LOG_LINES} lines",
                     id="log-title", markup=False)
        yield Log(max_lines=LOG_LINES, id="log-lines")
        yield Footer()

    def on_mount(self) -> None:
        self.read_log()
        if self.every_s:
            self.set_interval(self.every_s, self.read_log)

    @work(thread=True, group="service-log", exclusive=True)
    def read_log(self) -> None:
        try:
            lines = self.load(LOG_LINES)
        except (LookupError, OSError) as exc:
            self.app.call_from_thread(self._show_error, str(exc))
            return
        self.app.call_from_thread(self._show, lines)

    def _show(self, lines: list[str]) -> None:
        if lines == self._shown:
            return
        self._shown = lines
        log = self.query_one(Log)
        log.clear()
        log.write_lines(inert_lines("\n".join(lines)) or ["(no output yet)"])

    def _show_error(self, error: str) -> None:
        self.query_one("#log-title", Static).update(one_line(error))

    def action_close(self) -> None:
        self.dismiss(None)

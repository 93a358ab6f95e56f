"""The single pane: header, five panels, keys. A view only: data comes from a
`Source` through the loader thread, user actions go to an `Actions` object
(the Engine when embedded, QueuedActions when attached to a daemon)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any, Callable, Iterable

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Tab, Tabs

from grace_tui.config.model import PANE_KEYS
from grace_tui.engine import Actions
from grace_tui.events import Event, EventBus
from grace_tui.text import one_line
from grace_tui.tui.data import SYSTEM_CLOCK, TOPICS, Clock, Source
from grace_tui.tui.hangup import stdin_is_a_terminal
from grace_tui.tui.panels.base import Palette, Panel
from grace_tui.tui.panels.header import HeaderBar
from grace_tui.tui.panels.history import HistoryPanel
from grace_tui.tui.panels.incidents import IncidentsPanel
from grace_tui.tui.panels.learned import LearnedPanel
from grace_tui.tui.panels.learning import LearningPanel, learning_task_id, proposal_id
from grace_tui.tui.panels.services import ServicesPanel
from grace_tui.tui.panels.tasks import TasksPanel
from grace_tui.tui.pump import DataPump
from grace_tui.tui.screens.dialogs import AckDialog, ConfirmDialog, SilenceDialog
from grace_tui.tui.screens.help import HelpScreen, help_text
from grace_tui.tui.screens.incident_detail import IncidentDetailScreen
from grace_tui.tui.screens.proposal import ProposalScreen
from grace_tui.tui.screens.service_log import ServiceLogScreen
from grace_tui.tui.themes import PANE_VARIABLES, ThemeSet, remember_theme
from grace_tui.users import current_user

KEY_NAMES = {"question_mark": "?", "slash": "/"}  # how the help and palette print a key

PANELS: tuple[tuple[str, type[Panel]], ...] = (
    ("services", ServicesPanel),
    ("incidents", IncidentsPanel),
    ("tasks", TasksPanel),
    ("history", HistoryPanel),
    ("learning", LearningPanel),
    ("learned", LearnedPanel),
)
# Which loaded part each panel shows.
PANEL_PART = {"services": "services", "incidents": "incidents", "tasks": "tasks", "history": "tasks",
              "learning": "learning", "learned": "learned"}
TERMINAL_CHECK_S = 5.0  # over SSH: notice a vanished terminal and leave
SUPERVISOR_CHECK_S = 2.0  # attached: notice a daemon that stopped or died (a lock test, no DB)


class DataLoaded(Message):
    """Fresh parts of the pane from the loader thread."""

    def __init__(self, parts: dict[str, Any]):
        super().__init__()
        self.parts = parts


class LoadFailed(Message):
    def __init__(self, error: str):
        super().__init__()
        self.error = error

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LoadFailed)  # one notice for a burst of failures


class ActionDone(Message):
    def __init__(self, text: str, ok: bool):
        super().__init__()
        self.text = text
        self.ok = ok


class TimelineLoaded(Message):
    def __init__(self, incident: Any, entries: list[Any]):
        super().__init__()
        self.incident = incident
        self.entries = entries


class GraceApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "grace-tui"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (160, "-wide")]  # below 160 the panels do not fit side by side
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        Binding("enter", "open_incident", "Detail", id="detail"),
        Binding("a", "acknowledge", "Ack", id="acknowledge"),
        Binding("r", "retry", "Retry", id="retry"),
        Binding("s", "silence", "Silence", id="silence"),
        Binding("y", "approve", "Approve", id="approve"),
        Binding("n", "reject", "Reject", id="reject"),
        Binding("c", "cancel_job", "Cancel job", id="cancel-job"),
        Binding("s", "start_service", "Start", id="start-service"),
        Binding("x", "stop_service", "Stop", id="stop-service"),
        Binding("r", "restart_service", "Restart", id="restart-service"),
        Binding("l", "open_log", "Log", id="service-log"),
        Binding("t", "next_theme", "Theme", id="theme"),
        Binding("R", "reload_config", "Reload config", show=False, id="reload-config"),
        Binding("tab", "cycle_panel(1)", "Next panel", show=False, priority=True, id="next-panel"),
        Binding("shift+tab", "cycle_panel(-1)", "Previous panel", show=False, priority=True, id="prev-panel"),
        *(Binding(str(n), f"show_panel('{name}')", name.title(), show=False, id=f"panel-{n}")
          for n, (name, _) in enumerate(PANELS, start=1)),
    ]

    def __init__(
        self,
        source: Source,
        actions: Actions,
        *,
        clock: Clock = SYSTEM_CLOCK,
        mode: str = "embedded",
        events: EventBus | None = None,
        themes: ThemeSet | None = None,
        theme: str = "dark",
        state_dir: Path | None = None,
        user: str | None = None,
        close_db: Callable[[], None] | None = None,
        notices: Iterable[str] = (),
        watch_terminal: bool = False,
        tick_s: float = 1.0,
        keys: dict[str, str] | None = None,
        supervisor_lock: Path | None = None,
    ):
        super().__init__()
        self.keys = {**PANE_KEYS, **(keys or {})}  # binding id -> key(s), after `[tui] keys`
        if keys:
            self.set_keymap(keys)
        self.source = source
        self.actions = actions
        self.clock = clock
        self.mode = mode
        self.events = events
        self.theme_set = themes or ThemeSet()
        self.state_dir = state_dir
        self.user = user or current_user()
        self.close_db = close_db
        self.notices = list(notices)
        self.terminal_lost = False  # set when the terminal went away (SIGHUP, stdin gone), not by `q`
        self._keys_shown_for: tuple[Any, ...] | None = None  # the selected service the footer was drawn for
        self.watch_terminal = watch_terminal
        self.supervisor_lock = supervisor_lock  # attached: the daemon's lock, watched
        self.supervisor_pid: int | None = None
        self.tick_s = tick_s
        self.palette: Palette = dict(PANE_VARIABLES)
        self.loads = 0  # parts applied so far (tests and the bench wait on it)
        self.ticks = 0
        self._unsubscribe: Callable[[], None] | None = None
        self._current = "services"
        for t in self.theme_set.themes.values():
            self.register_theme(t)
        self._initial_theme = theme
        # Widgets kept by reference: queries search the screen on top, which may be a dialog.
        self.header = HeaderBar(mode, id="header")
        self.tabs = Tabs(*(Tab(f"{n} {cls.TITLE}", id=f"tab-{name}") for n, (name, cls) in enumerate(PANELS, 1)),
                         id="panel-tabs")
        self.panels: dict[str, Panel] = {name: cls(id=name) for name, cls in PANELS}
        self.filter_box = Input(placeholder="filter this panel (escape clears)", id="filter")
        self.pump = DataPump(source, self._deliver, clock, poll=mode != "embedded",
                             on_error=lambda e: self.post_message(LoadFailed(e)), close_db=close_db)

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield self.header
        yield self.tabs
        with Container(id="grid"):
            yield from self.panels.values()
        yield self.filter_box
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self._initial_theme in self.available_themes:
            self.theme = self._initial_theme
        self._apply_palette()
        self.filter_box.display = False
        self._select_panel("services", focus=True)
        if self.events is not None:
            self._unsubscribe = self.events.subscribe(self._on_engine_event)
        self.pump.start()
        if self.tick_s:
            self.set_interval(self.tick_s, self._tick)
        for notice in self.notices:
            self.notify(one_line(notice), severity="warning", timeout=8, markup=False)
        if self.watch_terminal:
            self._watch_terminal()
        if self.supervisor_lock is not None:
            self._check_supervisor()
            self.set_interval(SUPERVISOR_CHECK_S, self._check_supervisor)

    def _watch_terminal(self) -> None:
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._terminal_gone)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
        self.set_interval(TERMINAL_CHECK_S, self._check_terminal)

    def _check_supervisor(self) -> None:
        """Attached: the daemon that stopped (or died) left the services unsupervised, and the pane
        would go on showing them `running`; the header says so at once, and so does a notice."""
        from grace_tui.lockfile import holder_pid

        assert self.supervisor_lock is not None
        pid, was, known = holder_pid(self.supervisor_lock), self.supervisor_pid, self.header.supervised is not None
        if known and pid == was:
            return
        self.supervisor_pid = pid
        self.header.set_supervised(pid is not None, self.clock(), self.palette)
        if pid is None:
            gone = f"the supervisor (PID {was}) has stopped" if was else "no supervisor holds this state dir"
            self.notify(f"{gone}: nothing supervises these services now; `grace-tui daemon` (or "
                        "`systemctl start grace-tui`) takes them over", severity="error", timeout=30, markup=False)
        elif known:
            self.notify(f"supervisor PID {pid} holds this state dir again: attached to it", timeout=6, markup=False)
            self.pump.request(set(TOPICS))  # what it changed at start

    def _check_terminal(self) -> None:
        if not stdin_is_a_terminal():
            self._terminal_gone()

    def _terminal_gone(self) -> None:
        """The SSH session dropped: exit, and let the embedded engine know it was not a choice."""
        self.terminal_lost = True
        self.exit(0)

    async def on_unmount(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        await asyncio.to_thread(self.pump.stop)

    # ------------------------------------------------------------------ data
    def _on_engine_event(self, event: Event) -> None:
        """Runs on an engine thread: only ask the loader, never touch widgets."""
        self.pump.request(event.topic)

    def _deliver(self, parts: dict[str, Any]) -> None:
        self.post_message(DataLoaded(parts))

    def on_data_loaded(self, message: DataLoaded) -> None:
        if not self.screen_stack:  # a load that arrives while the app shuts down
            return
        now = self.clock()
        parts = message.parts
        with self.batch_update():
            if "overview" in parts:
                self.header.show(parts["overview"], now, self.palette)
            for name, part in PANEL_PART.items():
                if part in parts:
                    self.panel(name).show(parts[part], now, self.palette)
        if "history_page" in parts:
            self.panel("history").add_page(parts["history_page"], now, self.palette)  # type: ignore[attr-defined]
        self.loads += 1
        if "incidents" in parts:
            self.refresh_keys()  # e.g. `a` goes once the selected incident is acknowledged
            if isinstance(self.screen, IncidentDetailScreen):
                self._load_timeline(self.screen.incident_id)
        elif "services" in parts and self._service_keys() != self._keys_shown_for:
            self.refresh_keys()  # e.g. `s` goes once the selected service has started

    @on(HistoryPanel.PageWanted)
    def _history_page_wanted(self, message: HistoryPanel.PageWanted) -> None:
        self.pump.request_history(message.search, message.before_id)

    def on_load_failed(self, message: LoadFailed) -> None:
        self.notify(one_line(message.error), severity="error", timeout=6, markup=False)

    def _tick(self) -> None:
        """Ages and elapsed times move on; redraw from cached data, no DB."""
        self.ticks += 1
        now = self.clock()
        self.header.redraw(now, self.palette)
        for name, _ in PANELS:
            panel = self.panel(name)
            if panel.display:  # a hidden tab catches up when it is shown
                panel.redraw(now, self.palette)

    def panel(self, name: str) -> Panel:
        return self.panels[name]

    # ------------------------------------------------------------------ panels and focus
    def _select_panel(self, name: str, focus: bool) -> None:
        self._current = name
        for panel_name, _ in PANELS:
            self.panel(panel_name).set_class(panel_name == name, "-current")
        self.panel(name).redraw(self.clock(), self.palette)
        tabs = self.tabs
        if tabs.active != f"tab-{name}":
            tabs.active = f"tab-{name}"
        if focus:
            self.panel(name).table.focus()

    def action_cycle_panel(self, step: int) -> None:
        names = [name for name, _ in PANELS]
        self._select_panel(names[(names.index(self._current) + step) % len(names)], focus=True)

    def action_show_panel(self, name: str) -> None:
        self._select_panel(name, focus=True)

    @on(Tabs.TabActivated, "#panel-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        name = (event.tab.id or "").removeprefix("tab-")
        if name and name != self._current:
            self._select_panel(name, focus=True)

    def on_descendant_focus(self, event: Any) -> None:
        for ancestor in event.widget.ancestors_with_self:
            if isinstance(ancestor, Panel) and ancestor.id:  # clicked or tabbed into a panel
                if ancestor.id != self._current:
                    self._select_panel(ancestor.id, focus=False)
                self.refresh_keys()
                return

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_keys()

    def refresh_keys(self) -> None:
        """The footer's keys depend on the selected row. Rows can still move while the app
        shuts down, after its screens are gone: then there is no footer to refresh."""
        if self._screen_stack:
            self._keys_shown_for = self._service_keys()
            self.refresh_bindings()

    def _service_keys(self) -> tuple[Any, ...] | None:
        """What the service keys depend on. Every check round and sample reloads the services:
        redrawing the footer for each (a recompose) cost the idle pane a third more CPU."""
        service = self.selected_service() if self._screen_stack else None
        return (service.name, service.mode, bool(service.pid), service.state) if service else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self._current == "incidents":
            self.action_open_incident()
        elif self._current == "learning":
            self.action_open_proposal()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Incident keys show only on an incident, proposal keys only on a proposal."""
        if not self.screen_stack:  # shutting down
            return False
        if action == "cycle_panel":  # tab moves between panels on the main screen only
            return self.screen is self.screen_stack[0] and not self.filter_box.has_focus
        if action == "filter":  # filters a panel: over a detail or log screen it opened a box unseen
            return self.screen is self.screen_stack[0]
        if action == "acknowledge":
            view = self._incident_view(self.selected_incident())
            return self.selected_incident() is not None and not (view and view.acknowledged)
        if action == "retry":  # a failed, escalated or open incident; a resolved one has nothing to retry
            view = self._incident_view(self.selected_incident())
            return self.selected_incident() is not None and not (view and view.state == "resolved")
        if action == "silence":
            return self.selected_incident() is not None
        if action == "open_incident":
            return not isinstance(self.screen, IncidentDetailScreen) and self.selected_incident() is not None
        if action == "open_proposal":
            return not isinstance(self.screen, ProposalScreen) and self.selected_proposal() is not None
        if action in ("approve", "reject"):
            return self.selected_proposal() is not None
        if action == "cancel_job":
            return self.selected_learning_job() is not None
        if action == "start_service":  # a process left running (escalated) is re-armed by a restart
            service = self.selected_service()
            return service is not None and not service.pid
        if action == "open_log":  # a watched service writes its own logs, wherever it does
            service = self.selected_service()
            return service is not None and service.mode == "managed"
        if action == "stop_service":  # in backoff between restarts too: a stop ends the loop
            service = self.selected_service()
            return service is not None and (bool(service.pid) or service.state == "backoff")
        if action == "restart_service":
            service = self.selected_service()
            return service is not None and bool(service.pid)
        return True

    def selected_incident(self) -> str | None:
        if isinstance(self.screen, IncidentDetailScreen):
            return self.screen.incident_id
        if self._current != "incidents":
            return None
        return self.panel("incidents").selected_key()

    def selected_proposal(self) -> int | None:
        if isinstance(self.screen, ProposalScreen):
            return self.screen.proposal.id
        if self._current != "learning":
            return None
        return proposal_id(self.panel("learning").selected_key())

    def selected_service(self) -> Any:
        """The supervised service under the cursor (not the host's row), on the main screen."""
        if self._current != "services" or self.screen is not self.screen_stack[0]:
            return None
        name = self.panel("services").selected_key()
        return next((s for s in self.panel("services").data or [] if s.name == name and s.mode != "host"), None)

    def selected_learning_job(self) -> str | None:
        """The running learning job under the cursor (only those can be cancelled)."""
        if self._current != "learning":
            return None
        task_id = learning_task_id(self.panel("learning").selected_key())
        data = self.panel("learning").data
        jobs = {t.id: t for t in data.jobs} if data else {}
        return task_id if task_id in jobs and jobs[task_id].status in ("pending", "active") else None

    def _incident_view(self, incident_id: str | None) -> Any:
        for incident in self.panel("incidents").data or []:
            if incident.id == incident_id:
                return incident
        return None

    def _incident_summary(self, incident_id: str) -> str:
        i = self._incident_view(incident_id)
        if not i:
            return incident_id
        where = i.service or "host"
        said = i.summary if i.summary.startswith(where) else f"{where}: {i.summary}"  # most name it already
        return f"{i.severity} {i.kind} · {said}"

    # ------------------------------------------------------------------ incident actions
    def action_open_incident(self) -> None:
        incident_id = self.selected_incident()
        if incident_id and not isinstance(self.screen, IncidentDetailScreen):
            self.push_screen(IncidentDetailScreen(incident_id))
            self._load_timeline(incident_id)

    @work(thread=True, group="timeline", exclusive=True)
    def _load_timeline(self, incident_id: str) -> None:
        try:
            incident, entries = self.source.timeline(incident_id)
        except Exception as exc:
            self.post_message(ActionDone(f"cannot load incident {incident_id}: {exc}", False))
            return
        finally:
            self._close_thread_db()
        self.post_message(TimelineLoaded(incident, entries))

    def on_timeline_loaded(self, message: TimelineLoaded) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, IncidentDetailScreen) and screen.incident_id == message.incident.id:
                screen.show(message.incident, message.entries, self.palette)

    def action_acknowledge(self) -> None:
        incident_id = self.selected_incident()
        if not incident_id:
            return

        def done(reason: str | None) -> None:
            if reason is not None:
                self.perform(f"acknowledge {incident_id}", self.actions.acknowledge, incident_id, self.user,
                                reason)

        self.push_screen(AckDialog(self._incident_summary(incident_id)), done)

    def action_retry(self) -> None:
        incident_id = self.selected_incident()
        if incident_id:
            self.perform(f"retry {incident_id}", self.actions.retry, incident_id)

    def action_silence(self) -> None:
        incident_id = self.selected_incident()
        if not incident_id:
            return

        def done(seconds: int | None) -> None:
            if seconds:
                self.perform(f"silence {incident_id}", self.actions.silence, incident_id, float(seconds))

        self.push_screen(SilenceDialog(self._incident_summary(incident_id)), done)

    def action_open_proposal(self) -> None:
        pid = self.selected_proposal()
        data = self.panel("learning").data
        proposal = next((p for p in data.proposals if p.id == pid), None) if data else None
        if proposal is not None and not isinstance(self.screen, ProposalScreen):
            self.push_screen(ProposalScreen(proposal))

    def action_approve(self) -> None:
        pid = self.selected_proposal()
        if pid is not None:
            self._close_proposal()
            self.perform(f"approve proposal {pid}", self.actions.approve, pid, self.user)

    def action_reject(self) -> None:
        pid = self.selected_proposal()
        if pid is not None:
            self._close_proposal()
            self.perform(f"reject proposal {pid}", self.actions.reject, pid, self.user)

    def _close_proposal(self) -> None:
        if isinstance(self.screen, ProposalScreen):
            self.screen.dismiss(None)

    def action_cancel_job(self) -> None:
        task_id = self.selected_learning_job()
        if task_id:
            self.perform(f"cancel {task_id}", self.actions.cancel_task, task_id)

    # ------------------------------------------------------------------ service actions
    def action_start_service(self) -> None:
        service = self.selected_service()
        if service is not None:
            self.perform(f"start {service.name}", self.actions.start_service, service.name, self.user)

    def action_stop_service(self) -> None:
        self._confirm_then("Stop", self.actions.stop_service)

    def action_restart_service(self) -> None:
        self._confirm_then("Restart", self.actions.restart_service)

    def action_open_log(self) -> None:
        service = self.selected_service()
        if service is not None:
            name = service.name
            self.push_screen(ServiceLogScreen(name, lambda lines: self._read_log(name, lines), self.tick_s))

    def _read_log(self, name: str, lines: int) -> list[str]:
        try:
            return self.source.service_log(name, lines)
        finally:
            self._close_thread_db()

    def _confirm_then(self, verb: str, method: Callable[[str, str], str]) -> None:
        service = self.selected_service()
        if service is None:
            return
        name = service.name

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.perform(f"{verb.lower()} {name}", method, name, self.user)

        what = f"PID {service.pid}" if service.pid else service.state
        self.push_screen(ConfirmDialog(f"{verb} {name} ({what})?", verb), done)

    def action_reload_config(self) -> None:
        self.perform("reload config", self.actions.reload_config)

    @work(thread=True, group="actions")
    def perform(self, label: str, method: Callable[..., Any], *args: Any) -> None:
        """Actions may wait on the daemon (attached) or run a command: never on the UI thread."""
        try:
            result = method(*args)
            self.post_message(ActionDone(str(result or f"{label}: done"), True))
        except Exception as exc:  # reported, never fatal: e.g. no supervisor, already acknowledged
            self.post_message(ActionDone(f"{label}: {exc or type(exc).__name__}", False))
        finally:
            self._close_thread_db()

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(one_line(message.text), severity="information" if message.ok else "error",
                    timeout=4 if message.ok else 8, markup=False)
        if self.mode == "embedded":
            self.pump.request({"incident", "service", "proposal"})

    def _close_thread_db(self) -> None:
        if self.close_db:
            self.close_db()

    # ------------------------------------------------------------------ filter, help, theme
    def action_filter(self) -> None:
        box = self.filter_box
        box.value = self.panel(self._current).filter_text
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.panel(self._current).set_filter(event.value, self.clock(), self.palette)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._close_filter(keep=True)

    def on_key(self, event: Any) -> None:
        box = self.filter_box
        if event.key == "escape" and box.has_focus:
            event.stop()
            self._close_filter(keep=False)

    def _close_filter(self, keep: bool) -> None:
        box = self.filter_box
        if keep:
            self.panel(self._current).filter_done()
        else:
            self.panel(self._current).set_filter("", self.clock(), self.palette)
        box.display = False
        self.panel(self._current).table.focus()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(help_text(self.key_shown)))

    def action_next_theme(self) -> None:
        names = self.theme_set.names
        if not names:
            return
        index = names.index(self.theme) + 1 if self.theme in names else 0
        self.theme = names[index % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2, markup=False)

    def watch_theme(self, theme: str) -> None:
        self._apply_palette()
        remember_theme(self.state_dir, theme)

    def _apply_palette(self) -> None:
        """Cells are Rich text with concrete colours: restyle them from the theme's variables."""
        variables = self.current_theme.variables if self.current_theme else {}
        self.palette = {**PANE_VARIABLES, **{k: v for k, v in variables.items() if k in PANE_VARIABLES}}
        if not self.is_mounted:
            return
        now = self.clock()
        header = self.header
        header.invalidate()
        header.redraw(now, self.palette)
        for name, _ in PANELS:
            panel = self.panel(name)
            panel.invalidate()
            panel.redraw(now, self.palette)

    def key_shown(self, action: str) -> str:
        """The key(s) of a binding id as a person reads them: "?", "ctrl+r, f5"."""
        return ", ".join(KEY_NAMES.get(key, key) for key in self.keys[action].split(","))

    # ------------------------------------------------------------------ command palette
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        key = self.key_shown
        for title, help, action, callback in (
            ("Acknowledge incident", "Acknowledge the selected incident", "acknowledge", self.action_acknowledge),
            ("Retry remediation", "Retry the selected incident's remediation", "retry", self.action_retry),
            ("Silence check", "Silence the selected incident's check", "silence", self.action_silence),
            ("Incident detail", "Timeline and attempts of the selected incident", "detail", self.action_open_incident),
            ("Proposal detail", "Every change and the reason of the selected proposal", "detail",
             self.action_open_proposal),
            ("Approve proposal", "Approve the selected config proposal", "approve", self.action_approve),
            ("Reject proposal", "Reject the selected config proposal", "reject", self.action_reject),
            ("Cancel learning job", "Cancel the selected running learning job", "cancel-job", self.action_cancel_job),
            ("Start service", "Start the selected service", "start-service", self.action_start_service),
            ("Stop service", "Stop the selected service (asks first)", "stop-service", self.action_stop_service),
            ("Restart service", "Restart the selected service (asks first)", "restart-service",
             self.action_restart_service),
            ("Service log", "The selected managed service's output, live", "service-log", self.action_open_log),
            ("Reload config", "Read the config file now", "reload-config", self.action_reload_config),
            ("Filter panel", "Filter the rows of the current panel", "filter", self.action_filter),
            ("Next theme", "Cycle dark, light, high-contrast, monochrome...", "theme", self.action_next_theme),
            ("Help", "Every key", "help", self.action_help),
        ):
            yield SystemCommand(title, f"{help} ({key(action)})", callback)
        for n, (name, cls) in enumerate(PANELS, 1):
            yield SystemCommand(f"Show {cls.TITLE}", f"Go to the {cls.TITLE} panel ({key(f'panel-{n}')})",
                                lambda name=name: self.action_show_panel(name))


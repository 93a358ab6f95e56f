"""Pilot tests of the pane over a real registry: keys in, registry checked after."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Callable

import pytest
from textual.geometry import Region

from grace_tui.engine import Engine
from grace_tui.paths import StatePaths
from grace_tui.registry import Registry
from grace_tui.registry import incidents as incident_store
from grace_tui.registry.services import upsert_service
from grace_tui.tui.app import GraceApp
from grace_tui.tui.data import RegistrySource
from grace_tui.tui.sample import RecordingActions
from grace_tui.tui.screens.dialogs import AckDialog, SilenceDialog
from grace_tui.tui.screens.incident_detail import IncidentDetailScreen
from grace_tui.tui.themes import load_themes

DEADLINE_S = 20.0


async def wait_until(pilot, condition: Callable[[], object], what: str) -> None:
    """Poll a condition while the app runs; fail after a generous deadline, never on speed."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


@pytest.fixture
def engine(tmp_path):
    paths = StatePaths(tmp_path / "state").ensure()
    registry = Registry.open(paths.root)
    config = tmp_path / "config.toml"  # no host checks: only the incidents a test opens
    config.write_text("[host]\nenabled = false\n")
    engine = Engine(paths, registry, config)
    yield engine
    registry.close()


def make_app(engine: Engine, actions=None, **kwargs) -> GraceApp:
    kwargs.setdefault("events", engine.events)
    return GraceApp(RegistrySource(engine.registry, host="test-host"), actions or engine,
                    themes=load_themes(), theme="dark", state_dir=engine.paths.root, user="tester",
                    close_db=engine.registry.database.close, tick_s=0, **kwargs)


def incident_rows(app: GraceApp) -> int:
    return app.panel("incidents").table.row_count


def test_header_counts_only_incidents_resolved_since_local_midnight(engine):
    from grace_tui.tui.data import local_midnight

    now = time.time()
    midnight = local_midnight(now)
    log = engine.incidents
    for detected, healed in ((midnight + 1, 0.5), (midnight + 2, 1.5), (midnight - 7200, 9.0)):  # 1 of 3 yesterday
        incident = log.open("process_down", "high", "web: process exited", service="web", detected_at=detected)
        log.resolve(incident.id, at=detected + healed)
    log.open("process_down", "high", "api: process exited", service="api", detected_at=midnight + 3)  # still open
    overview = RegistrySource(engine.registry, host="test-host").load({"incident"}, now)["overview"]
    assert overview.resolved_today == 2 and overview.mttr_today_s == pytest.approx(1.0)
    assert overview.open_count == 1


def test_header_says_how_many_services_were_left_down(engine):
    """A failed remediation ends its incident, so `0 open` alone would hide a service still down."""
    from grace_tui.tui.panels.header import header_text

    for name, state in (("web", "failed"), ("api", "running"), ("db", "escalated"), ("cron", "stopped")):
        upsert_service(name, mode="managed", state=state)
    upsert_service("leaky", mode="managed", state="escalated", pid=4242)  # left running as it escalated: up
    overview = RegistrySource(engine.registry, host="test-host").load({"service"}, time.time())["overview"]
    assert overview.down_count == 2
    assert "0 open  0 acked  2 down  |" in header_text(overview, "embedded", time.time(), {}).plain


def test_a_row_that_changes_between_the_panes_two_reads_is_shown_once(engine, monkeypatch):
    """Open incidents and ended ones, active tasks and recent completions, are two reads each. An
    incident resolved or a task completed in between was in both: two rows with one key, and the
    table raised DuplicateKey (seen under load in the live pane test)."""
    from grace_tui.registry import incidents as incident_store

    incident = engine.incidents.open("process_down", "high", "web: process exited", service="web")
    task = engine.registry.start_task("nightly backup", "ops")
    read_ended, read_recent = incident_store.list_incidents, engine.registry.recent_completions

    def resolved_meanwhile(limit):
        engine.incidents.resolve(incident.id)
        return read_ended(limit)

    def completed_meanwhile(limit):
        engine.registry.complete(task)
        return read_recent(limit)

    monkeypatch.setattr(incident_store, "list_incidents", resolved_meanwhile)
    monkeypatch.setattr(engine.registry, "recent_completions", completed_meanwhile)
    loaded = RegistrySource(engine.registry, host="test-host").load({"incident", "task"}, time.time())
    assert [(i.id, i.state) for i in loaded["incidents"]] == [(incident.id, "resolved")]
    assert loaded["tasks"].active == [] and task in [t.id for t in loaded["tasks"].recent]


def test_acknowledge_with_reason_is_recorded(engine):
    incident = engine.incidents.open("process_down", "critical", "web exited with status 1", service="web")

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: incident_rows(app) == 1, "the incident row")
            await pilot.press("2", "a")
            await wait_until(pilot, lambda: isinstance(app.screen, AckDialog), "the acknowledge dialog")
            await pilot.press(*"false alarm", "enter")
            await wait_until(pilot, lambda: incident_store.get_incident(incident.id).acknowledged, "the ack")
            # the pane shows it too, driven by the incident event
            await wait_until(pilot, lambda: "tester" in str(app.panel("incidents").table.get_row(incident.id)),
                             "the ack in the pane")
            assert app.check_action("acknowledge", ()) is False  # `a` leaves the footer once done
            assert app.check_action("retry", ()) is True

    asyncio.run(scenario())
    acked = incident_store.get_incident(incident.id)
    assert acked.acked_by == "tester"
    assert acked.ack_reason == "false alarm"
    assert acked.mtta_s is not None and acked.mtta_s >= 0
    assert [e.type for e in incident_store.timeline(incident.id)][-1] == "ack"


def test_acknowledge_as_noise_button(engine):
    incident = engine.incidents.open("anomaly", "low", "cpu spike", service="api")

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: incident_rows(app) == 1, "the incident row")
            await pilot.press("2", "a")
            await wait_until(pilot, lambda: isinstance(app.screen, AckDialog), "the acknowledge dialog")
            await pilot.click("#noise")
            await wait_until(pilot, lambda: incident_store.get_incident(incident.id).acknowledged, "the ack")

    asyncio.run(scenario())
    assert incident_store.get_incident(incident.id).ack_reason == "noise"


def test_escape_cancels_acknowledge(engine):
    incident = engine.incidents.open("anomaly", "low", "cpu spike", service="api")

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: incident_rows(app) == 1, "the incident row")
            await pilot.press("2", "a")
            await wait_until(pilot, lambda: isinstance(app.screen, AckDialog), "the acknowledge dialog")
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, AckDialog), "the dialog to close")
            await app.workers.wait_for_complete()

    asyncio.run(scenario())
    assert not incident_store.get_incident(incident.id).acknowledged


def test_retry_is_not_offered_on_a_resolved_incident(engine):
    incident = engine.incidents.open("process_down", "high", "web exited with status 1", service="web")

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: incident_rows(app) == 1, "the incident row")
            await pilot.press("2")
            assert app.check_action("retry", ()) is True
            engine.incidents.resolve(incident.id)
            await wait_until(pilot, lambda: "resolved" in str(app.panel("incidents").table.get_row(incident.id)),
                             "the resolution in the pane")
            assert app.check_action("retry", ()) is False  # nothing left to retry
            assert app.check_action("silence", ()) is True  # a flapping check may still want quiet

    asyncio.run(scenario())


def test_retry_and_silence_call_the_actions(engine):
    """No supervisor in this branch's engine: a recorder stands in for it and we check what was asked."""
    incident = engine.incidents.open("port_in_use", "high", "port 8080 held", service="web")
    recorder = RecordingActions()

    async def scenario():
        app = make_app(engine, actions=recorder)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: incident_rows(app) == 1, "the incident row")
            await pilot.press("2", "r")
            await wait_until(pilot, lambda: ("retry", (incident.id,)) in recorder.calls, "the retry")
            await pilot.press("s")
            await wait_until(pilot, lambda: isinstance(app.screen, SilenceDialog), "the silence dialog")
            await pilot.press("down", "enter")  # the second choice: 1h
            await wait_until(pilot, lambda: any(c[0] == "silence" for c in recorder.calls), "the silence")

    asyncio.run(scenario())
    assert recorder.calls == [("retry", (incident.id,)), ("silence", (incident.id, 3600.0))]


def test_action_errors_are_shown_not_fatal(engine):
    """The engine without a supervisor cannot retry: the pane says so and keeps running."""
    engine.incidents.open("port_in_use", "high", "port 8080 held", service="web")

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: incident_rows(app) == 1, "the incident row")
            await pilot.press("2", "r")
            await wait_until(pilot, lambda: any("retry" in str(n.message) for n in app._notifications),
                             "an error notification")
            assert app.is_running

    if engine.supervisor is not None:
        pytest.skip("a supervisor is present: retry works")
    asyncio.run(scenario())


def test_filter_narrows_the_current_panel_and_escape_restores(engine):
    for name in ("web", "api", "worker"):
        upsert_service(name, mode="managed", state="running", pid=100, started_at=time.time())
    engine.events.publish("service", "all")

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.panel("services").table
            await wait_until(pilot, lambda: table.row_count == 3, "three services")
            await pilot.press("1", "slash", *"wor")
            await wait_until(pilot, lambda: table.row_count == 1, "the filter")
            assert [r.key.value for r in table.ordered_rows] == ["worker"]
            assert "/wor" in str(app.panel("services").border_title)
            await pilot.press("enter")  # keep the filter, back to the table
            assert table.has_focus and table.row_count == 1
            await pilot.press("slash", "escape")
            await wait_until(pilot, lambda: table.row_count == 3, "the filter to clear")

    asyncio.run(scenario())


def test_live_update_by_event_and_detail_screen(engine):
    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_until(pilot, lambda: app.loads > 0, "the first load")
            incident = engine.incidents.open("process_down", "critical", "db exited", service="db")
            await wait_until(pilot, lambda: incident_rows(app) == 1, "the new incident (event driven)")
            engine.incidents.note(incident.id, "remediation", "restart db (attempt 1)",
                                  {"argv": ["/usr/bin/db", "--serve"], "exit_code": 0, "duration_s": 0.5,
                                   "output": "ready to accept connections"})
            await pilot.press("2", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, IncidentDetailScreen), "the detail screen")
            timeline = app.screen.query_one("#detail-timeline")
            await wait_until(pilot, lambda: "ready to accept connections" in str(timeline.render()),
                             "the attempt's output")
            assert "/usr/bin/db --serve" in str(timeline.render())
            engine.incidents.resolve(incident.id)  # the open detail follows the change
            facts = app.screen.query_one("#detail-facts")
            await wait_until(pilot, lambda: "resolved" in str(facts.render()), "the resolution")
            assert "→ resolved: recovered" in str(timeline.render())
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, IncidentDetailScreen), "back")
            row = app.panel("incidents").table.get_row(incident.id)
            assert "resolved" in str(row)
            tasks = app.panel("history").table  # the mirrored self_healing task completed
            await wait_until(pilot, lambda: tasks.row_count == 1, "the completed healing task")

    asyncio.run(scenario())


def test_attached_mode_polls_and_queues_actions(engine):
    """Attached: no events, the pane polls change marks; the ack goes through the command queue
    and the engine (standing in for the daemon) carries it out."""
    from grace_tui.engine import QueuedActions

    incident = engine.incidents.open("process_down", "high", "api exited", service="api")
    engine.start()
    try:
        async def scenario():
            app = make_app(engine, actions=QueuedActions(timeout_s=10), events=None, mode="attached")
            async with app.run_test(size=(120, 40)) as pilot:
                await wait_until(pilot, lambda: incident_rows(app) == 1, "the incident row")
                upsert_service("api", mode="managed", state="running", pid=4242, started_at=time.time())
                await wait_until(pilot, lambda: app.panel("services").table.row_count == 1,
                                 "the service, noticed by polling")
                await pilot.press("2", "a")
                await wait_until(pilot, lambda: isinstance(app.screen, AckDialog), "the acknowledge dialog")
                await pilot.press("enter")
                await wait_until(pilot, lambda: "tester" in str(app.panel("incidents").table.get_row(incident.id)),
                                 "the ack, carried out by the daemon and polled back")

        asyncio.run(scenario())
    finally:
        engine.stop()
    assert incident_store.get_incident(incident.id).acked_by == "tester"


def test_reload_key_applies_the_config_file_now_or_shows_why_not(engine):
    """`R` from an attached pane: the daemon (the engine, its file watcher off) reloads at once; a
    bad file is an error notification naming FILE:LINE, and the last good config keeps running."""
    from grace_tui.engine import QueuedActions

    engine.start(watch_config=False)
    try:
        async def scenario():
            app = make_app(engine, actions=QueuedActions(timeout_s=10), events=None, mode="attached")
            async with app.run_test(size=(120, 40)) as pilot:
                engine.config_path.write_text("[host\n")
                await pilot.press("R")
                await wait_until(pilot, lambda: any("config.toml:1" in str(n.message) and n.severity == "error"
                                                    for n in app._notifications), "the rejection")
                assert engine.config.host.enabled is False  # the last good config
                engine.config_path.write_text("[host]\nenabled = true\n")
                await pilot.press("R")
                await wait_until(pilot, lambda: any(str(n.message).endswith("config.toml: applied")
                                                    for n in app._notifications), "the reload")
                assert engine.config.host.enabled is True

        asyncio.run(scenario())
    finally:
        engine.stop()


def test_approve_and_reject_proposals(engine):
    from grace_tui.registry import governance

    first = governance.create_proposal("threshold", [{"path": "services.api.cpu_pct", "old": 80, "new": 90}],
                                       "daily batch")
    recorder = RecordingActions()

    async def scenario():
        app = make_app(engine, actions=recorder)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.panel("learning").table
            await wait_until(pilot, lambda: table.row_count == 1, "the proposal")
            await pilot.press("5", "y")
            await wait_until(pilot, lambda: recorder.calls, "the approval")
            await pilot.press("n")
            await wait_until(pilot, lambda: len(recorder.calls) == 2, "the rejection")

    asyncio.run(scenario())
    assert recorder.calls == [("approve", (first.id, "tester")), ("reject", (first.id, "tester"))]


def test_cancel_a_running_learning_job(engine):
    job = engine.registry.start_task("train cpu baseline", "learning", "ml_training")
    done = engine.registry.start_task("forecast disk", "learning", "ml_training")
    engine.registry.complete(done)
    recorder = RecordingActions()

    async def scenario():
        app = make_app(engine, actions=recorder)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.panel("learning").table
            await wait_until(pilot, lambda: table.row_count == 2, "the two learning jobs")
            await pilot.press("5")
            assert app.selected_learning_job() == job  # the running one comes first
            await pilot.press("down")
            assert app.check_action("cancel_job", ()) is False  # a finished job cannot be cancelled
            await pilot.press("up", "c")
            await wait_until(pilot, lambda: recorder.calls, "the cancel")

    asyncio.run(scenario())
    assert recorder.calls == [("cancel_task", (job,))]


def test_theme_key_cycles_and_is_remembered(engine):
    from grace_tui.tui.themes import remembered_theme

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("t")
            assert app.theme == "light"
            await pilot.press("t", "t", "t")
            assert app.theme == "dark"
            await pilot.press("t")

    asyncio.run(scenario())
    assert remembered_theme(engine.paths.root) == "light"


def test_narrow_terminal_shows_one_panel_with_tabs(engine):
    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: app.loads > 0, "the first load")
            assert app.screen.has_class("-narrow")
            visible = [p.id for p in app.query(".panel") if p.display]
            assert visible == ["services"]
            await pilot.press("3")
            visible = [p.id for p in app.query(".panel") if p.display]
            assert visible == ["tasks"]
            await pilot.press("tab")  # next panel in the focus chain
            assert app._current != "tasks"

    asyncio.run(scenario())


def test_clock_ticks_under_dialogs_and_detail():
    """The 1 s clock redraws ages while a dialog or the detail is on top (regression: it crashed)."""
    from grace_tui.tui.sample import demo_app

    app = demo_app()
    app.tick_s = 0.05

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: app.loads > 0, "the first load")
            for keys in (("question_mark",), ("escape", "2", "enter"), ("escape", "a")):
                await pilot.press(*keys)
                target = app.ticks + 3
                await wait_until(pilot, lambda target=target: app.ticks >= target, f"ticks after {keys}")
                assert app.is_running

    asyncio.run(scenario())


def test_rebound_keys_from_the_config_drive_the_pane_and_its_help(engine, tmp_path):
    """`[tui] keys` in the config: the new key acts, the old one no longer does, help and palette say so."""
    from grace_tui.config import load_config
    from grace_tui.tui.screens.help import HelpScreen

    config = tmp_path / "keys.toml"
    config.write_text('[tui]\nkeys = { acknowledge = "A", panel-2 = "f2", help = "f1" }\n')
    keys = load_config(config).tui.keys
    incident = engine.incidents.open("process_down", "critical", "web exited with status 1", service="web")

    async def scenario():
        app = make_app(engine, keys=keys)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: incident_rows(app) == 1, "the incident row")
            await pilot.press("f2", "a")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, AckDialog)  # `a` is no longer acknowledge
            await pilot.press("A")
            await wait_until(pilot, lambda: isinstance(app.screen, AckDialog), "the acknowledge dialog on A")
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, AckDialog), "the dialog to close")
            await pilot.press("f1")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help on f1")
            assert "  A               acknowledge" in app.screen.text
            assert "  f1              this help" in app.screen.text
            descriptions = {c.title: c.help for c in app.get_system_commands(app.screen)}
            assert descriptions["Acknowledge incident"] == "Acknowledge the selected incident (A)"
            assert descriptions["Retry remediation"] == "Retry the selected incident's remediation (r)"

    asyncio.run(scenario())
    assert not incident_store.get_incident(incident.id).acknowledged  # escape: nothing recorded


def test_every_rebindable_action_is_a_binding_of_the_pane():
    from grace_tui.config.model import PANE_KEYS

    bindings = {b.id: b.key for b in GraceApp.BINDINGS}
    assert bindings == PANE_KEYS


# A backup script's title and message, a command's coloured output, a path in brackets: text the pane
# did not write. Raw, the ESC sequences cleared the screen and set the window title; "[/opt/web]" was
# parsed as markup (a closing tag with nothing to close) and took the dialog down.
HOSTILE_TITLE = "backup\x1b[2J\x1b]0;pwned\x07 of /var\nsecond line\tend\x9b31m"
HOSTILE_OUTPUT = "\x1b[31mfailed\x1b[0m: disk\r\nnext\x07 line"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def drawn_lines(widget) -> list[str]:
    """What the widget sends to the terminal, line by line."""
    return [strip.text for strip in widget.render_lines(Region(0, 0, *widget.outer_size))]


def drawn(widget) -> str:
    return "\n".join(drawn_lines(widget))


def has_controls(*widgets) -> bool:
    return any(CONTROL.search(line) for widget in widgets for line in drawn_lines(widget))


def test_text_from_outside_is_drawn_inert(engine):
    task = engine.registry.start_task(HOSTILE_TITLE, "ops")
    engine.registry.progress(task, 30, "copying\r\x1b[31mred\x1b[0m")
    incident = engine.incidents.open("process_down", "high", "web exited: see [/opt/web] :fire: \x1b[2J",
                                     service="web")
    engine.incidents.note(incident.id, "remediation", "restart web (attempt 1)",
                          {"argv": ["/opt/web/run", "\x1b[2J"], "exit_code": 1, "output": HOSTILE_OUTPUT})

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(140, 40)) as pilot:  # one panel at a time, the full width
            tasks = app.panel("tasks").table
            await wait_until(pilot, lambda: task in tasks.rows and incident_rows(app) == 1, "the rows")
            await pilot.press("3")
            await pilot.pause()
            shown = drawn(tasks)
            assert "backup\\x1b[2J\\x1b]0;pwned\\x07 of /var second line end" in shown
            assert not has_controls(tasks)
            await pilot.press("2")
            await pilot.pause()
            assert "see [/opt/web] :fire:" in drawn(app.panel("incidents").table)
            assert not has_controls(app.panel("incidents").table)
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, IncidentDetailScreen), "the detail screen")
            timeline = app.screen.query_one("#detail-timeline")
            await wait_until(pilot, lambda: "| failed: disk" in drawn(timeline), "the attempt's output")
            assert "| next\\x07 line" in drawn(timeline)
            assert not has_controls(timeline, app.screen.query_one("#detail-facts"))
            await pilot.press("escape", "a")
            await wait_until(pilot, lambda: isinstance(app.screen, AckDialog), "the acknowledge dialog")
            await pilot.pause()
            assert "[/opt/web]" in drawn(app.screen.query_one(".dialog-title"))
            assert app.is_running

    asyncio.run(scenario())


def test_notifications_show_error_text_as_written(engine):
    """An engine error naming "[/etc/app]" is text, not markup: shown whole, and the pane keeps running."""

    class Failing(RecordingActions):
        def reload_config(self) -> str:
            raise ValueError("config.toml:3: services.web.cwd: no such directory [/etc/app]")

    async def scenario():
        app = make_app(engine, actions=Failing())
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await wait_until(pilot, lambda: app.loads > 0, "the first load")
            await pilot.press("R")
            await wait_until(pilot, lambda: app.screen.query("Toast"), "the error notification")
            toast = app.screen.query_one("Toast")
            await wait_until(pilot, lambda: "[/etc/app]" in drawn(toast), "the whole message")
            assert "no such directory [/etc/app]" in " ".join(drawn(toast).replace("▌", "").split())
            assert app.is_running

    asyncio.run(scenario())


def test_incident_detail_shows_the_exited_processs_last_lines_as_lines(engine):
    from grace_tui.tui.incident_text import facts_text, timeline_text

    opened = engine.incidents.open("process_down", "high", "app: process 42 exited with code 3", service="app",
                                   detail={"exit_code": 3, "last_output": "starting\nfatal: \x1b[31mno config\x1b[0m"})
    incident = incident_store.get_incident(opened.id)
    timeline = timeline_text(incident_store.timeline(opened.id), incident.detected_at, {}).plain
    assert "app: process 42 exited with code 3\n      | starting\n      | fatal: no config\n" in timeline
    facts = facts_text(incident, {}).plain
    assert "last_output" not in facts and '"exit_code": 3' in facts


def test_l_shows_a_managed_services_output_and_follows_it(engine):
    from textual.widgets import Log

    from grace_tui.tui.screens.service_log import ServiceLogScreen

    upsert_service("api", mode="managed", state="running", pid=4242, started_at=time.time())
    upsert_service("nginx", mode="watched", state="running", pid=4343, started_at=time.time())
    log = engine.paths.root / "logs" / "api.log"
    log.parent.mkdir(mode=0o700)
    log.write_text("listening on 8000\nred \x1b[31malert\x1b[0m\n")

    async def scenario():
        app = GraceApp(RegistrySource(engine.registry, host="test-host", state_dir=engine.paths.root), engine,
                       events=engine.events, themes=load_themes(), theme="dark", state_dir=engine.paths.root,
                       close_db=engine.registry.database.close, tick_s=0.05)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.panel("services").table.row_count == 2, "the services")
            await pilot.press("1", "down", "l")  # nginx: watched, it keeps its own logs
            assert not isinstance(app.screen, ServiceLogScreen)
            await pilot.press("up", "l")
            await wait_until(pilot, lambda: isinstance(app.screen, ServiceLogScreen), "the log screen")
            await wait_until(pilot, lambda: app.screen.query_one(Log).lines == ["listening on 8000", "red alert"],
                             "the log's lines")
            with open(log, "a") as f:
                f.write("GET / 200\n")
            await wait_until(pilot, lambda: app.screen.query_one(Log).lines[-1:] == ["GET / 200"], "the new line")
            await pilot.press("escape")
            assert not isinstance(app.screen, ServiceLogScreen)

    asyncio.run(scenario())


def test_filter_key_does_nothing_over_another_screen(engine):
    """`/` over a service's log opened the main screen's filter box unseen, and the footer offered it."""
    from grace_tui.tui.screens.service_log import ServiceLogScreen

    upsert_service("api", mode="managed", state="running", pid=4242, started_at=time.time())

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.panel("services").table.row_count == 1, "the service")
            await pilot.press("1", "l")
            await wait_until(pilot, lambda: isinstance(app.screen, ServiceLogScreen), "the log screen")
            await pilot.press("slash")
            assert not app.filter_box.display and isinstance(app.screen, ServiceLogScreen)
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, ServiceLogScreen), "the pane again")

    asyncio.run(scenario())


def test_a_service_in_backoff_can_be_stopped_from_the_pane(engine):
    """Between two restarts of a crash loop it has no PID; `x` must still be there to end the loop."""
    from grace_tui.tui.screens.dialogs import ConfirmDialog

    upsert_service("app", mode="managed", state="backoff", pid=None, message="restarting in 4.00s")
    recorder = RecordingActions()

    async def scenario():
        app = make_app(engine, actions=recorder)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.panel("services").table.row_count == 1, "the service")
            await pilot.press("1", "r")  # nothing to restart: no process
            assert not isinstance(app.screen, ConfirmDialog)
            await pilot.press("x")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the stop question")
            assert app.screen.question == "Stop app (backoff)?"
            await pilot.press("enter")
            await wait_until(pilot, lambda: recorder.calls, "the stop")

    asyncio.run(scenario())
    assert recorder.calls == [("stop_service", ("app", "tester"))]


def test_the_footer_follows_the_selected_service_and_is_not_redrawn_for_nothing(engine):
    """Each check round and sample reloads the services; redrawing the footer (a recompose) each
    time cost the idle pane a third more CPU. It must still change when the service does."""
    from textual.widgets._footer import FooterKey

    upsert_service("api", mode="managed", state="running", pid=4242, started_at=time.time())

    def footer(app) -> set[str]:
        return {key.description for key in app.screen.query(FooterKey)}

    async def scenario():
        app = make_app(engine)
        redraws = []
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: {"Stop", "Restart"} <= footer(app), "the running service's keys")
            real_refresh = app.refresh_bindings
            app.refresh_bindings = lambda: (redraws.append(1), real_refresh())
            loads = app.loads
            upsert_service("api", mode="managed", state="running", pid=4242, cpu_pct=3.0)  # a sample: same keys
            engine.events.publish("service", "samples", ["api"])
            await wait_until(pilot, lambda: app.loads > loads, "the reload")
            assert redraws == []
            upsert_service("api", mode="managed", state="stopped", pid=None)
            engine.events.publish("service", "api", "stopped")
            await wait_until(pilot, lambda: "Start" in footer(app) and "Stop" not in footer(app), "the keys of a stop")

    asyncio.run(scenario())

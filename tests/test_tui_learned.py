"""Pilot tests over a real registry: what was learned, fitted columns, anomaly and forecast
incidents in words, and task history searched and paged in the registry."""

from __future__ import annotations

import asyncio
import time

from grace_tui.registry import learned
from grace_tui.registry.services import upsert_service
from grace_tui.tui.data import HISTORY_PAGE, RECENT_LIMIT
from grace_tui.tui.panels.base import fit_widths, plain
from grace_tui.tui.sample import RecordingActions
from grace_tui.tui.screens.incident_detail import IncidentDetailScreen
from grace_tui.tui.screens.proposal import ProposalScreen
from tests.test_tui import engine, make_app, wait_until  # noqa: F401  (engine is a fixture)


def row_text(table, key: str) -> str:
    return " ".join(plain(c) for c in table.get_row(key))


def test_learned_panel_shows_real_outcomes_and_the_preferred_action(engine):
    for ok, ttr in ((True, 2.0), (True, 4.0), (False, None)):
        learned.record_outcome("web", "process_down", "restart", ok, ttr)
    learned.record_outcome("web", "process_down", "run:flush", False, None)

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(160, 48)) as pilot:
            table = app.panel("learned").table
            await wait_until(pilot, lambda: table.row_count == 2, "two learned actions")
            restart = row_text(table, "web/process_down/restart")
            assert "3" in restart.split() and "67%" in restart and "3.0s" in restart and "prefers" in restart
            assert "prefers" not in row_text(table, "web/process_down/run:flush")
            # a new outcome is recorded before its incident changes: the incident event reloads it
            for _ in range(4):
                learned.record_outcome("web", "process_down", "run:flush", True, 0.5)
            engine.incidents.open("process_down", "high", "web exited", service="web")
            await wait_until(pilot, lambda: "prefers" in row_text(table, "web/process_down/run:flush"),
                             "the preference to move to the faster, now reliable action")
            assert "prefers" not in row_text(table, "web/process_down/restart")

    asyncio.run(scenario())


def test_proposal_detail_shows_every_change_and_the_reason(engine):
    from grace_tui.registry import governance

    proposal = governance.create_proposal(
        "threshold", [{"path": "services.api.cpu_pct", "old": 80, "new": 92},
                      {"path": "services.api.threshold_samples", "old": 3, "new": 5}],
        "api cpu alarms every weekday at 09:00 are the daily batch")
    recorder = RecordingActions()

    async def scenario():
        app = make_app(engine, actions=recorder)
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.panel("learning").table
            await wait_until(pilot, lambda: table.row_count == 1, "the proposal")
            await pilot.press("5", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ProposalScreen), "the proposal screen")
            text = str(app.screen.query_one("#proposal-text").render())
            assert "services.api.cpu_pct: 80 → 92" in text
            assert "services.api.threshold_samples: 3 → 5" in text
            assert "daily batch" in text
            await pilot.press("y")
            await wait_until(pilot, lambda: recorder.calls, "the approval")
            await wait_until(pilot, lambda: not isinstance(app.screen, ProposalScreen), "the screen to close")

    asyncio.run(scenario())
    assert recorder.calls == [("approve", (proposal.id, "tester"))]


def test_fit_widths_gives_the_rest_to_the_flexible_columns():
    assert fit_widths([5, 10, 40], [2], 40) == [5, 10, 25]
    assert fit_widths([5, 10, 20], [2], 60) == [5, 10, 20]  # needs less than it could have
    assert fit_widths([5, 30, 40], [1, 2], 45) == [5, 20, 20]  # shared evenly
    assert fit_widths([5, 6, 40], [1, 2], 45) == [5, 6, 34]  # the short one leaves its share
    assert fit_widths([50, 40], [1], 45) == [50, 8]  # never below the minimum


def test_columns_fit_their_widest_cell_and_the_summary_takes_the_rest(engine):
    upsert_service("web", mode="managed", state="running", pid=4242, started_at=time.time(),
                   rss_bytes=21_900_000, cpu_pct=3.0, port=8765)
    incident = engine.incidents.open("process_down", "high", "web: process 4241 was killed by SIGKILL " * 3,
                                     service="web")
    engine.incidents.acknowledge(incident.id, "root", "")

    async def scenario():
        app = make_app(engine)
        for size in ((160, 48), (200, 50), (80, 24)):
            async with app.run_test(size=size) as pilot:
                await pilot.press("2")
                incidents = app.panel("incidents").table
                await wait_until(pilot, lambda: incidents.row_count == 1, "the incident")
                await wait_until(pilot, lambda: row_text(incidents, incident.id).endswith("…"),
                                 "the summary clipped to the panel")
                await pilot.pause()
                for panel in ("incidents", "services"):
                    await pilot.press("1" if panel == "services" else "2")
                    await pilot.pause()
                    table = app.panel(panel).table
                    total = sum(c.get_render_width(table) for c in table.columns.values())
                    assert total <= table.size.width, (size, panel, total, table.size.width)
                    for column in table.columns.values():
                        widest = max(len(plain(c)) for c in table.get_column(column.key))
                        assert column.get_render_width(table) - 2 * table.cell_padding >= widest
                assert "root" in row_text(incidents, incident.id).split()
                assert "20.9M" in row_text(app.panel("services").table, "web")
            app = make_app(engine)

    asyncio.run(scenario())


def test_anomaly_and_forecast_incidents_read_as_words(engine):
    anomaly = engine.incidents.open(
        "anomaly", "low", "anomaly: web memory (RSS) 1.9 GiB", service="web", check="svc:web.rss_bytes",
        detail={"metric": "svc:web.rss_bytes", "value": 2_040_000_000.0, "expected": 650_000_000.0,
                "expected_low": 520_000_000.0, "expected_high": 790_000_000.0, "score": 0.9987})
    forecast = engine.incidents.open(
        "forecast", "medium", "/var full in ~3 h 10 m", check="disk:/var",
        detail={"metric": "disk:/var", "eta_s": 11_400.0, "eta_low_s": 7_800.0, "eta_high_s": None,
                "used": 41_500_000_000.0, "capacity": 50_000_000_000.0, "slope_per_h": 2_680_000_000.0})

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(200, 50)) as pilot:
            table = app.panel("incidents").table
            await wait_until(pilot, lambda: table.row_count == 2, "both incidents")
            assert "web memory (RSS) 1.9G, expected 496M–753M" in row_text(table, anomaly.id)
            assert "/var full in ~3 h 10 m (band ~2 h 10 m to never)" in row_text(table, forecast.id)
            await pilot.press("2")
            table.move_cursor(row=table.get_row_index(forecast.id))
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, IncidentDetailScreen), "the detail")
            facts = app.screen.query_one("#detail-facts")
            await wait_until(pilot, lambda: "full in" in str(facts.render()), "the forecast facts")
            text = str(facts.render())
            assert "~3 h 10 m" in text and "~2 h 10 m to never" in text and "38.6G of 46.6G (83%)" in text
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, IncidentDetailScreen), "back")
            table.move_cursor(row=table.get_row_index(anomaly.id))
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, IncidentDetailScreen), "the detail")
            facts = app.screen.query_one("#detail-facts")
            await wait_until(pilot, lambda: "expected" in str(facts.render()), "the anomaly facts")
            text = str(facts.render())
            assert "1.9G" in text and "~620M (496M–753M)" in text and "1.00" in text

    asyncio.run(scenario())


def fill_history(engine, count: int) -> list[str]:
    ids = []
    with engine.registry.database.atomic():
        for n in range(count):
            task_id = engine.registry.start_task(f"backup run {n:04d}", "ops", "job")
            engine.registry.complete(task_id)
            ids.append(task_id)
    return ids


def test_completed_panel_pages_older_history_and_searches_the_registry(engine):
    count = RECENT_LIMIT + HISTORY_PAGE + 30
    ids = fill_history(engine, count)

    async def scenario():
        app = make_app(engine)
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.panel("history")
            table = panel.table
            await pilot.press("4")
            await wait_until(pilot, lambda: table.row_count == RECENT_LIMIT, "the recent completions")
            await pilot.press("ctrl+end")  # the cursor on the last row asks for the next older page
            await wait_until(pilot, lambda: table.row_count == RECENT_LIMIT + HISTORY_PAGE, "an older page")
            await pilot.press("ctrl+end")
            await wait_until(pilot, lambda: table.row_count == count, "the oldest page")
            await wait_until(pilot, lambda: not panel.more, "the end of history")
            keys = [r.key.value for r in table.ordered_rows]
            assert sorted(keys) == sorted(ids)  # each once; the older pages newest first
            assert keys[RECENT_LIMIT:] == list(reversed(ids))[RECENT_LIMIT:]
            # the oldest task matches the search: it comes from the registry, not the loaded rows
            await pilot.press("slash", *"run 0003")
            await wait_until(pilot, lambda: [r.key.value for r in table.ordered_rows] == [ids[3]],
                             "the registry search")
            await pilot.press("escape")
            await wait_until(pilot, lambda: table.row_count == RECENT_LIMIT, "browsing again")

    asyncio.run(scenario())

"""Snapshots of the pane on fixed data with a frozen clock (pytest-textual-snapshot).

Regenerate after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`
and review the SVGs like code.
"""

from __future__ import annotations

import time

import pytest

from grace_tui.tui.sample import demo_app

WIDE = (160, 48)
NARROW = (80, 24)


@pytest.fixture(autouse=True)
def fixed_environment(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")  # the detail screen prints local times
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def app_with(theme: str = "dark"):
    app = demo_app(theme)
    app.animation_level = "none"
    return app


async def loaded(pilot) -> None:
    """Wait for the loader thread's first delivery (never a fixed sleep)."""
    deadline = time.monotonic() + 20
    while pilot.app.loads == 0 and time.monotonic() < deadline:
        await pilot.pause(0.02)
    await pilot.app.workers.wait_for_complete()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def test_main_pane_wide(snap_compare):
    assert snap_compare(app_with(), terminal_size=WIDE, run_before=loaded)


def test_main_pane_80x24(snap_compare):
    assert snap_compare(app_with(), terminal_size=NARROW, run_before=loaded)


def test_incidents_tab_80x24(snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("2")
        await pilot.pause()

    assert snap_compare(app_with(), terminal_size=NARROW, run_before=run_before)


def test_incident_detail(snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("2", "enter")
        await loaded(pilot)

    assert snap_compare(app_with(), terminal_size=WIDE, run_before=run_before)


def test_service_log(snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("1", "l")
        await loaded(pilot)

    assert snap_compare(app_with(), terminal_size=NARROW, run_before=run_before)


def test_help(snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app_with(), terminal_size=NARROW, run_before=run_before)


def test_filtered_view(snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("3", "slash", *"learn", "enter")
        await pilot.pause()

    assert snap_compare(app_with(), terminal_size=WIDE, run_before=run_before)


def test_acknowledge_dialog(snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("2", "a")
        await pilot.pause()
        pilot.app.screen.query_one("Input").cursor_blink = False

    assert snap_compare(app_with(), terminal_size=NARROW, run_before=run_before)


@pytest.mark.parametrize("theme", ["dark", "light", "high-contrast", "monochrome"])
def test_each_shipped_theme(snap_compare, theme):
    assert snap_compare(app_with(theme), terminal_size=WIDE, run_before=loaded)


def test_learned_tab_80x24(snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("6")
        await pilot.pause()

    assert snap_compare(app_with(), terminal_size=NARROW, run_before=run_before)


def test_proposal_detail_80x24(snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("5", "enter")
        await pilot.pause()

    assert snap_compare(app_with(), terminal_size=NARROW, run_before=run_before)


def test_forecast_incident_detail(snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("2", "down", "enter")
        await loaded(pilot)

    assert snap_compare(app_with(), terminal_size=WIDE, run_before=run_before)

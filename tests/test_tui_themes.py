"""Theme files, the remembered choice, NO_COLOR, and the pure formatting helpers."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from grace_tui.tui import format as fmt
from grace_tui.tui.sample import demo_app
from grace_tui.tui.themes import (
    SHIPPED_ORDER,
    choose_theme,
    load_themes,
    remember_theme,
    remembered_theme,
    shipped_theme_dir,
    user_theme_dir,
)


def test_shipped_themes_load_cleanly():
    themes = load_themes([shipped_theme_dir()])
    assert themes.errors == []
    assert themes.names == list(SHIPPED_ORDER)
    assert not themes.themes["light"].dark
    assert themes.themes["high-contrast"].background == "#000000"


def test_user_theme_dir_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert user_theme_dir() == tmp_path / "grace-tui" / "themes"


def test_user_themes_added_and_bad_files_reported_not_fatal(tmp_path):
    (tmp_path / "solar.toml").write_text('primary = "#b58900"\nbackground = "#002b36"\n')
    (tmp_path / "broken.toml").write_text('primary = "#123456"\nbackground = \n')
    (tmp_path / "badcolour.toml").write_text('primary = "not-a-colour"\n')
    (tmp_path / "typo.toml").write_text('primary = "#fff"\nbackgroud = "#000"\n')
    (tmp_path / "badvar.toml").write_text('primary = "#fff"\n[variables]\nsev-high = 3\n')
    themes = load_themes([shipped_theme_dir(), tmp_path])
    assert "solar" in themes.names and themes.names[:4] == list(SHIPPED_ORDER)
    errors = "\n".join(themes.errors)
    assert len(themes.errors) == 4, errors
    assert "broken.toml" in errors and "line 2" in errors
    assert "badcolour.toml: field 'primary': 'not-a-colour' is not a colour" in errors
    assert "typo.toml: unknown field 'backgroud'" in errors
    assert "badvar.toml: field 'variables.sev-high' must be a colour string" in errors
    assert themes.themes["solar"].variables["sev-critical"]  # pane colours filled in


def test_malformed_theme_is_a_notification_in_the_pane(tmp_path):
    (tmp_path / "broken.toml").write_text("primary = \n")
    themes = load_themes([shipped_theme_dir(), tmp_path])
    app = demo_app()
    app.theme_set = themes
    app.notices = [f"theme skipped: {e}" for e in themes.errors]

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert any("broken.toml" in str(n.message) for n in app._notifications)
            assert app.is_running

    asyncio.run(scenario())


def test_theme_choice(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    names = list(SHIPPED_ORDER)
    assert choose_theme(names, None, None) == ("dark", None)
    assert choose_theme(names, "light", "dark") == ("light", None)
    assert choose_theme(names, None, "high-contrast") == ("high-contrast", None)
    theme, warning = choose_theme(names, "nope", None)
    assert theme == "dark" and "unknown theme 'nope'" in warning
    monkeypatch.setenv("NO_COLOR", "1")
    assert choose_theme(names, None, "light") == ("monochrome", None)
    assert choose_theme(names, "light", None) == ("light", None)  # explicit beats NO_COLOR
    remember_theme(tmp_path, "light")
    assert remembered_theme(tmp_path) == "light"
    assert (tmp_path / "tui.json").stat().st_mode & 0o777 == 0o600
    (tmp_path / "tui.json").write_text("{not json")
    assert remembered_theme(tmp_path) is None


def test_unknown_theme_on_the_command_line_is_one_line_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grace_tui", "--state-dir", str(tmp_path / "s"), "--theme", "nope"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("grace-tui: --theme: unknown theme 'nope'")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_no_terminal_is_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grace_tui", "--state-dir", str(tmp_path / "s")],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "grace-tui: the TUI needs a terminal; for a service use `grace-tui daemon`"


@pytest.mark.parametrize("seconds,text", [(None, "-"), (0.25, "250ms"), (4.24, "4.2s"), (42, "42s"),
                                          (185, "3m05s"), (8040, "2h14m"), (273600, "3d04h")])
def test_duration(seconds, text):
    assert fmt.duration(seconds) == text


def test_bars_sparklines_sizes():
    assert fmt.bar(50, 10) == "━━━━━─────"
    assert fmt.bar(150, 4) == "━━━━" and fmt.bar(-3, 4) == "────"
    assert fmt.sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert fmt.sparkline([5, 5, 5]) == "▄▄▄" and fmt.sparkline([]) == ""
    assert len(fmt.sparkline(list(range(100)), 10)) == 10
    assert fmt.size(512) == "512B" and fmt.size(1536) == "1.5K" and fmt.size(200 * 1024**2) == "200M"
    assert fmt.clip("a  b\nc", 10) == "a b c" and fmt.clip("abcdefgh", 5) == "abcd…"
    assert fmt.coarse_age(59) == "59s" and fmt.coarse_age(61) == "1m" and fmt.coarse_age(3700) == "1h01m"

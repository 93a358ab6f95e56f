"""Theme files: TOML files of colours, shipped in grace_tui/themes and dropped by
users into $XDG_CONFIG_HOME/grace-tui/themes/. A bad file is reported, never fatal.

    name = "dark"            # optional, defaults to the file name
    dark = true
    primary = "#4ea1ff"      # any colour Textual parses: #rgb, #rrggbb, rgb(), names
    background = "#10141a"
    [variables]
    sev-critical = "#ff4d4f" # severity and state colours used by the panels
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from grace_tui.paths import config_dir, write_private_atomic

COLOUR_KEYS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background",
               "surface", "panel", "boost")
OTHER_KEYS = ("name", "dark", "luminosity_spread", "text_alpha", "variables")

# Colours the panels use; every theme gets these, a file may override them.
PANE_VARIABLES = {
    "sev-critical": "#ff4d4f",
    "sev-high": "#ff8c1a",
    "sev-medium": "#e6c300",
    "sev-low": "#5fb3ff",
    "sev-info": "#8a8f98",
    "state-good": "#3fb950",
    "state-warn": "#d29922",
    "state-bad": "#f85149",
    "state-idle": "#8a8f98",
}

SHIPPED_ORDER = ("dark", "light", "high-contrast", "monochrome")
DEFAULT_THEME = "dark"
NO_COLOR_THEME = "monochrome"


@dataclass
class ThemeSet:
    themes: dict[str, Theme] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        shipped = [n for n in SHIPPED_ORDER if n in self.themes]
        return shipped + sorted(n for n in self.themes if n not in SHIPPED_ORDER)


def shipped_theme_dir() -> Path:
    return Path(str(resources.files("grace_tui") / "themes"))


def user_theme_dir() -> Path:
    return config_dir() / "themes"


def load_themes(dirs: list[Path] | None = None) -> ThemeSet:
    """Every theme in `dirs` (shipped first, then the user's); later files win."""
    result = ThemeSet()
    for directory in dirs if dirs is not None else [shipped_theme_dir(), user_theme_dir()]:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = parse_theme_file(path)
            except ValueError as exc:
                result.errors.append(str(exc))
                continue
            result.themes[theme.name] = theme
    return result


def parse_theme_file(path: Path) -> Theme:
    """A Theme from one file; ValueError naming the file (and line or field) otherwise."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    return theme_from_dict(data, path.stem, str(path))


def theme_from_dict(data: dict[str, Any], default_name: str, where: str) -> Theme:
    unknown = sorted(set(data) - set(COLOUR_KEYS) - set(OTHER_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r}")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: field 'name' must be a non-empty string")
    if "primary" not in data:
        raise ValueError(f"{where}: missing field 'primary'")
    colours = {key: _colour(data[key], key, where) for key in COLOUR_KEYS if key in data}
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError(f"{where}: [variables] must be a table")
    checked = {str(k): _colour(v, f"variables.{k}", where) for k, v in variables.items()}
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ValueError(f"{where}: field 'dark' must be true or false")
    extra: dict[str, Any] = {}
    for key in ("luminosity_spread", "text_alpha"):
        if key in data:
            if not isinstance(data[key], (int, float)):
                raise ValueError(f"{where}: field {key!r} must be a number")
            extra[key] = float(data[key])
    return Theme(name=name.strip(), dark=dark, variables={**PANE_VARIABLES, **checked}, **colours, **extra)


def _colour(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: field {key!r} must be a colour string")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{where}: field {key!r}: {value!r} is not a colour") from None
    return value


# ---------------------------------------------------------------------- the remembered choice
def prefs_path(state_dir: Path) -> Path:
    return Path(state_dir) / "tui.json"


def remembered_theme(state_dir: Path | None) -> str | None:
    if state_dir is None:
        return None
    try:
        data = json.loads(prefs_path(state_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    theme = data.get("theme") if isinstance(data, dict) else None
    return theme if isinstance(theme, str) else None


def remember_theme(state_dir: Path | None, name: str) -> None:
    if state_dir is None:
        return
    try:
        write_private_atomic(prefs_path(state_dir), json.dumps({"theme": name}) + "\n")
    except OSError:
        pass  # a read-only state dir only loses the preference


def choose_theme(available: list[str], requested: str | None, remembered: str | None) -> tuple[str, str | None]:
    """The theme to start with, and a warning if the requested one does not exist."""
    if requested:
        if requested in available:
            return requested, None
        fallback = remembered if remembered in available else DEFAULT_THEME
        return fallback, f"unknown theme {requested!r}; available: {', '.join(available)}"
    if os.environ.get("NO_COLOR") is not None and NO_COLOR_THEME in available:
        return NO_COLOR_THEME, None
    if remembered in available:
        return remembered, None  # type: ignore[return-value]
    return DEFAULT_THEME, None

"""`?`: every key, what it does, and where the rest is (the command palette)."""

from __future__ import annotations

from typing import Callable

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from grace_tui.config.model import PANE_KEYS

HELP_TEMPLATE = """\
[b]grace-tui[/b]: services, incidents and every task on one screen.

[b]Move[/b]
  {move:<16}next / previous panel (or click it)
  {panels:<16}services, incidents, running, completed, learning,
                  learned (per action: tries, success, median TTR)
  up, down, pgup  move in a panel (the mouse wheel works too)
  ctrl+end        last row (in Completed: loads older tasks)

[b]On a service[/b]
  {start-service:<16}start it (re-arms a crash loop)
  {stop-service:<16}stop it (asks first; opens no incident)
  {restart-service:<16}restart it (asks first)
  {service-log:<16}its output, live (a managed service)

[b]On an incident[/b]
  {detail:<16}detail: timeline, each attempt's command and output
  {acknowledge:<16}acknowledge, with an optional reason (or "noise")
  {retry:<16}retry its remediation now
  {silence:<16}silence its check for 15m, 1h, 4h or 24h

[b]In the learning panel[/b]
  {detail:<16}a proposal in full: each change (old -> new), reason
  {decide:<16}approve, reject the selected config proposal
  {cancel-job:<16}cancel the selected running learning job

[b]Anywhere[/b]
  {filter:<16}filter the current panel (enter keeps, esc clears)
  {theme:<16}next theme (remembered in the state dir)
  {reload-config:<16}reload the config file now (a saved edit: within 10 s)
  ctrl+p          command palette: every action by name
  {help:<16}this help            {quit}  quit

Keys can be rebound in the config: [tui] keys = {{ acknowledge = "A" }}.
Themes: dark, light, high-contrast, monochrome, and any TOML file
in $XDG_CONFIG_HOME/grace-tui/themes/. NO_COLOR is honoured.
"""


def help_text(shown: Callable[[str], str]) -> str:
    """The help with each action's current key(s); `shown` turns a binding id into what to print."""
    keys = {action: shown(action) for action in PANE_KEYS}
    keys["move"] = f"{keys['next-panel']}, {keys['prev-panel']}"
    keys["panels"] = " ".join(keys[f"panel-{n}"] for n in range(1, 7))
    keys["decide"] = f"{keys['approve']}, {keys['reject']}"
    return HELP_TEMPLATE.format_map({k: escape(v) for k, v in keys.items()})


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss_help", "Close"),
        Binding("question_mark", "dismiss_help", "Close", show=False),
        Binding("q", "dismiss_help", "Close", show=False),
    ]

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(self.text, id="help-text")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)

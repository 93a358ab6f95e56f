"""`?`: every key, what it does, and where the rest is (the command palette)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT = """\
[b]grace-tui[/b]: services, incidents and every task on one screen.

[b]Move[/b]
  tab, shift+tab  next / previous panel (or click it)
  1 2 3 4 5 6     services, incidents, running, completed, learning,
                  learned (per action: tries, success, median TTR)
  up, down, pgup  move in a panel (the mouse wheel works too); ctrl+end:
                  last row (in Completed: loads older tasks)

[b]On an incident[/b]
  enter           detail: timeline, each attempt's command and output
  a               acknowledge, with an optional reason (or "noise")
  r               retry its remediation now
  s               silence its check for 15m, 1h, 4h or 24h

[b]In the learning panel[/b]
  enter           a proposal in full: each change (old -> new), reason
  y, n            approve, reject the selected config proposal
  c               cancel the selected running learning job

[b]Anywhere[/b]
  /               filter the current panel (enter keeps, esc clears)
  t               next theme (remembered in the state dir)
  ctrl+p          command palette: every action by name
  ?               this help            q  quit

Themes: dark, light, high-contrast, monochrome, and any TOML file
in $XDG_CONFIG_HOME/grace-tui/themes/. NO_COLOR is honoured.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss_help", "Close"),
        Binding("question_mark", "dismiss_help", "Close", show=False),
        Binding("q", "dismiss_help", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(HELP_TEXT, id="help-text")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)

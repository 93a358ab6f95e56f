"""Small modal questions: the reason for an acknowledgement, how long to silence, whether to
stop or restart a service."""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from grace_tui.text import one_line

ResultT = TypeVar("ResultT")

SILENCE_CHOICES = (("15m", 15 * 60), ("1h", 3600), ("4h", 4 * 3600), ("24h", 24 * 3600))


class _IncidentDialog(ModalScreen[ResultT]):
    """A question about one incident, named by its summary; escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, summary: str):
        super().__init__()
        self.summary = one_line(summary)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AckDialog(_IncidentDialog[str | None]):
    """Returns the reason ("" for none) or None when cancelled."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Acknowledge: {self.summary}", classes="dialog-title", markup=False)
            yield Input(placeholder="reason (optional), enter to acknowledge", id="reason")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Acknowledge", id="ack", variant="primary")
                yield Button("Noise", id="noise")
                yield Button("Cancel", id="cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ack":
            self.dismiss(self.query_one(Input).value.strip())
        elif event.button.id == "noise":
            self.dismiss("noise")
        else:
            self.dismiss(None)


class SilenceDialog(_IncidentDialog[int | None]):
    """Returns the number of seconds to silence for, or None when cancelled."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Silence the check of: {self.summary}", classes="dialog-title", markup=False)
            yield OptionList(*(Option(f"for {label}", id=str(seconds)) for label, seconds in SILENCE_CHOICES),
                             id="durations")
            yield Label("enter to choose, escape to cancel", classes="dialog-hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))


class ConfirmDialog(ModalScreen[bool | None]):
    """Stop or restart a running service? One key press must not take a service down by mistake:
    enter (or the button) confirms, escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, verb: str):
        super().__init__()
        self.question = one_line(question)
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.verb, id="confirm", variant="warning")
                yield Button("Cancel", id="cancel")
            yield Label("enter to confirm, escape to cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(True if event.button.id == "confirm" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)

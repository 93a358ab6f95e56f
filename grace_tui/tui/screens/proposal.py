"""Enter on a proposal: every change in full (old → new) and why, with y/n to decide."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from grace_tui.registry.governance import ProposalView
from grace_tui.text import inert_lines, one_line
from grace_tui.tui.panels.learning import change_text
from grace_tui.tui.incident_text import fmt_time


class ProposalScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("y", "app.approve", "Approve"),
        Binding("n", "app.reject", "Reject"),
    ]

    def __init__(self, proposal: ProposalView):
        super().__init__()
        self.proposal = proposal

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(proposal_text(self.proposal), id="proposal-text", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)


def proposal_text(p: ProposalView) -> Text:
    text = Text()
    text.append(f"Proposal #{p.id} ({p.kind})\n", style="bold")
    text.append(f"by {one_line(p.author)} at {fmt_time(p.created_at)}\n\n", style="dim")
    text.append("Changes\n", style="bold underline")
    for change in p.changes:
        text.append(f"{one_line(change_text(change))}\n")
    if not p.changes:
        text.append("(none)\n", style="dim")
    text.append("\nReason\n", style="bold underline")
    text.append("\n".join(inert_lines(p.reason)) + "\n" if p.reason else "-\n")
    text.append("\ny approve   n reject   esc back", style="dim")
    return text

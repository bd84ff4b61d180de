"""The end: what the flow reached (proven, reconciled, or pushed and why it was not followed), the URL
and, after the proof stage, what it checked (addresses, certificate, HTTPS status) per issuer. A
replay (the demo) says so in its headline and above its proof lines: nothing was checked."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical
from textual.widgets import Button, Footer, Label, Static

from wizard import events as ev
from wizard.flow.outcome import REPLAYED
from wizard.frontends.lines import proof_line
from wizard.frontends.tui.screens.base import WizardScreen
from wizard.frontends.tui.widgets.stagebar import StageBar

HEADLINE = {
    "reconciled": "✔ Done",
    "proven": "✔ Done",
    "pushed": "✔ Pushed, not followed",
    "committed": "✔ Committed, not pushed",
    "written": "✔ Written, not committed",
    "declined": "No changes were made",
    "nothing-to-do": "✔ Nothing to do",
    "removed": "✔ Removed",
}
REPLAYED_HEADLINE = "▷ Replayed: recorded events, nothing was checked"
REMOVE = "remove"  # the answer of the "Remove the smoke test" button


def message(done: ev.Done) -> str:
    """The Done's message; a replay's without the words its headline already says."""
    text = done.message or "Flux applied the change."
    if done.replayed and text.startswith(REPLAYED):
        text = text.removeprefix(REPLAYED)
        text = text[:1].upper() + text[1:]
    return text


class DoneScreen(WizardScreen):
    stage = "Reconcile"
    BINDINGS = [Binding("enter", "close", "Exit"), Binding("r", "remove", "Remove the smoke test")]

    def __init__(
        self, repo_name: str, done: ev.Done, proofs: list[ev.Proof] | None = None, *, offer_remove: bool = False
    ) -> None:
        super().__init__()
        self.repo_name = repo_name
        self.done = done
        self.proofs = proofs or []  # what the proof stage checked, staging then production
        # the guide deploys podinfo only for the test: offer to take it out again (run smoke-test --remove)
        self.offer_remove = offer_remove

    def compose(self) -> ComposeResult:
        d = self.done
        yield StageBar(self.stage, self.repo_name)
        with Center(), Vertical(id="done", classes="-replayed" if d.replayed else ""):
            yield Label(REPLAYED_HEADLINE if d.replayed else HEADLINE.get(d.outcome, "✔ Done"), id="headline")
            yield Static(message(d), id="message", markup=False)
            if d.url:
                yield Static("Open:", classes="muted")
                yield Static(d.url, id="url", markup=False)
            if self.proofs:
                replayed = any(p.replayed for p in self.proofs)
                yield Static("Recorded proof:" if replayed else "Checked:", classes="muted")
                for i, p in enumerate(self.proofs):
                    yield Static(proof_line(p), id=f"proof-{i}", classes="proof", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Exit (enter)", id="exit", variant="primary")
                if self.offer_remove:
                    yield Button("Remove the smoke test (r)", id="remove")
        yield Footer()

    def on_mount(self) -> None:
        for button in self.query("#exit").results(Button):  # absent when the app quits meanwhile
            button.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.offer_remove if action == "remove" else True

    def action_close(self) -> None:
        self.give(True)

    def action_remove(self) -> None:
        if self.offer_remove:
            self.give(REMOVE)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.give(REMOVE if event.button.id == "remove" else True)

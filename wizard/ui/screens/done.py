"""The end: what was set up and the URL to open."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.widgets import Button, Footer, Label, Static

from wizard.ui.screens.base import WizardScreen
from wizard.ui.widgets.stagebar import StageBar


class DoneScreen(WizardScreen):
    stage = "Reconcile"
    BINDINGS = [Binding("enter", "close", "Exit")]

    def __init__(self, repo_name: str, message: str, url: str) -> None:
        super().__init__()
        self.repo_name = repo_name
        self.message = message
        self.url = url

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        with Center():
            with Vertical(id="done"):
                yield Label("✔ Done", id="headline")
                yield Static(self.message or "Flux applied the change.", id="message", markup=False)
                if self.url:
                    yield Static("Open:", classes="muted")
                    yield Static(self.url, id="url", markup=False)
                yield Button("Exit (enter)", id="exit", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#exit", Button).focus()

    def action_close(self) -> None:
        self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(True)

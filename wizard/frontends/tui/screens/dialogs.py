"""Modal dialogs: confirm quit, show an error."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ConfirmQuit(ModalScreen[bool]):
    BINDINGS = [Binding("y", "answer(True)", "Quit"), Binding("n,escape", "answer(False)", "Stay")]

    def __init__(self, detail: str) -> None:
        super().__init__()
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Quit edge-wizard?", id="title")
            yield Static(self.detail, id="detail")
            with Horizontal(id="buttons"):
                yield Button("Quit (y)", id="yes", variant="error")
                yield Button("Stay (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class ErrorDialog(ModalScreen[None]):
    BINDINGS = [Binding("enter,escape", "close", "Close")]

    def __init__(self, title: str, message: str, details: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.details = details

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="title")
            with VerticalScroll(id="body"):
                yield Static(self.message, id="message", markup=False)
                if self.details:
                    yield Static(self.details, id="details", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Close (enter)", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class LeaveOutDialog(ModalScreen[bool]):
    """Some chosen steps are blocked: leave them out and go on, or go back to the steps."""

    BINDINGS = [Binding("y", "answer(True)", "Leave them out"), Binding("n,escape", "answer(False)", "Back")]

    def __init__(self, blocked: list[tuple[str, str]]) -> None:
        super().__init__()
        self.blocked = blocked

    def compose(self) -> ComposeResult:
        names = ", ".join(name for name, _ in self.blocked)
        with Vertical(id="dialog"):
            yield Label(f"Leave out {names}?", id="title")
            with VerticalScroll(id="body"):
                for name, why in self.blocked:
                    yield Static(f"{name}: {why}", classes="reason", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Leave out and go on (y)", id="yes", variant="warning")
                yield Button("Back to the steps (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

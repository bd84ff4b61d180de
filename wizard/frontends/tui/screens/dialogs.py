"""Modal dialogs: confirm quit, show an error."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class YesNoDialog(ModalScreen[bool]):
    """A question with a yes and a no button (y / n, escape is no; "no" has the focus)."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]
    YES = ("Yes (y)", "error")
    NO = "No (n)"

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="title")
            with VerticalScroll(id="body"):
                for line in self.lines:
                    yield Static(line, classes="reason", markup=False)
            with Horizontal(id="buttons"):
                yield Button(self.YES[0], id="yes", variant=self.YES[1])  # type: ignore[arg-type]
                yield Button(self.NO, id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class ConfirmQuit(YesNoDialog):
    YES = ("Quit (y)", "error")
    NO = "Stay (n)"

    def __init__(self, detail: str) -> None:
        super().__init__("Quit edge-wizard?", [detail])


class LeaveOutDialog(YesNoDialog):
    """Some chosen steps are blocked: leave them out and go on, or go back to the steps."""

    YES = ("Leave out and go on (y)", "warning")
    NO = "Back to the steps (n)"

    def __init__(self, blocked: list[tuple[str, str]]) -> None:
        names = ", ".join(name for name, _ in blocked)
        # steps blocked for the same reason (a sandbox without sops) share one paragraph
        reasons: dict[str, list[str]] = {}
        for name, why in blocked:
            reasons.setdefault(why, []).append(name)
        super().__init__(f"Leave out {names}?", [f"{', '.join(steps)}: {why}" for why, steps in reasons.items()])


class ClusterDialog(ModalScreen[str]):
    """The repository holds several clusters: one button each (the first has the focus)."""

    BINDINGS = [Binding("escape", "cancel", "Quit")]

    def __init__(self, clusters: list[tuple[str, str]]) -> None:
        super().__init__()
        self.clusters = clusters

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("This repository holds several clusters. Which one do you set up?", id="title")
            with VerticalScroll(id="body"):
                for name, how in self.clusters:
                    yield Static(f"{name}: {how}", classes="reason", markup=False)
            with Horizontal(id="buttons"):
                for i, (name, _) in enumerate(self.clusters):
                    yield Button(name, id=f"cluster-{i}", variant="primary" if i == 0 else "default")

    def on_mount(self) -> None:
        self.query_one("#cluster-0", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        index = int(str(event.button.id).rsplit("-", 1)[-1])
        self.dismiss(self.clusters[index][0])

    def action_cancel(self) -> None:
        self.app.exit(130)


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

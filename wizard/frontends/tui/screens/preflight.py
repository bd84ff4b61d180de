"""Preflight: what the flow found in the repository, on this machine and in the cluster, with a fix
for each problem. Continue stays disabled while a blocking check fails (nothing can be written
then); ``r`` checks again."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Label, Static

from wizard import events as ev
from wizard.frontends.tui.screens.base import WizardScreen
from wizard.frontends.tui.widgets.stagebar import StageBar

ICON = {"ok": ("✔", "bold green"), "warn": ("!", "bold yellow"), "fail": ("✗", "bold red")}


class CheckRow(Horizontal):
    """One line of the checklist: icon and name, then what was found and the fix for a problem."""

    def __init__(self, check: ev.Check) -> None:
        super().__init__(classes=f"check -{check.status}")
        self.check = check

    def compose(self) -> ComposeResult:
        icon, style = ICON.get(self.check.status, ("•", ""))
        yield Static(Text.assemble((f"{icon} ", style), (self.check.name, "bold")), classes="name")
        detail = Text(self.check.detail)
        if self.check.fix and self.check.status != "ok":
            detail.append(f"\n→ {self.check.fix}", style="italic")
        yield Static(detail, classes="detail")


class PreflightScreen(WizardScreen):
    stage = "Preflight"
    BINDINGS = [Binding("enter", "continue", "Continue"), Binding("r", "recheck", "Check again")]

    def __init__(self, repo_name: str) -> None:
        super().__init__()
        self.repo_name = repo_name
        self.results: list[ev.Check] = []

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        yield Label("What edge-wizard found", classes="title")
        with VerticalScroll(id="checks"):
            yield Static("Checking the repository, the tools and the cluster…", id="checking")
        with Horizontal(classes="buttons"):
            yield Static("", id="status")
            yield Button("Continue (enter)", id="continue", variant="primary", disabled=True)
        yield Footer()

    # -- the flow's events and question --------------------------------------------------------
    def on_flow_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.Check):
            self.results.append(event)
            self.query_one("#checks", VerticalScroll).mount(CheckRow(event))
            for waiting in self.query("#checking"):
                waiting.remove()

    @property
    def blocked(self) -> list[ev.Check]:
        return [c for c in self.results if c.status == "fail" and c.blocking]

    def asked(self) -> None:
        """The flow waits for Continue: enable it unless something blocks."""
        button = self.query_one("#continue", Button)
        button.disabled = bool(self.blocked)
        status = self.query_one("#status", Static)
        if self.blocked:
            status.update(f"Fix “{self.blocked[0].name}” first, then check again (r).")
        else:
            status.update("")
            button.focus()

    def action_continue(self) -> None:
        if self.asking and not self.blocked:
            self.give(True)

    def action_recheck(self) -> None:
        if self.asking:
            self.results = []
            box = self.query_one("#checks", VerticalScroll)
            box.remove_children()
            box.mount(Static("Checking again…", id="checking"))
            self.query_one("#continue", Button).disabled = True
            self.give(False)

    @on(Button.Pressed, "#continue")
    def _pressed(self) -> None:
        self.action_continue()

"""The DNS token: masked, with the provider's help line; asked only when a chosen step needs it.
Empty keeps the existing Secret (offered only when it exists). A token the provider rejected is
asked again with the reason; the flow checks it, this screen never does."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from wizard import questions as Q
from wizard.flow import BACK, TokenRequest
from wizard.frontends.tui.screens.base import WizardScreen
from wizard.frontends.tui.widgets.question_field import QuestionField
from wizard.frontends.tui.widgets.stagebar import StageBar

KEEP = " Leave it empty to keep the token already encrypted in the repository."


class TokenScreen(WizardScreen):
    stage = "Steps"
    BINDINGS = [Binding("ctrl+s", "submit", "Continue"), Binding("escape", "back", "Back to steps")]

    def __init__(self, request: TokenRequest, repo_name: str, *, blink: bool = True) -> None:
        super().__init__()
        self.request = request
        self.repo_name = repo_name
        self.blink = blink
        self.question = next(q for q in Q.QUESTIONS if q.key == "token")

    def compose(self) -> ComposeResult:
        req = self.request
        yield StageBar(self.stage, self.repo_name)
        yield Label("DNS provider token", classes="title")
        with Vertical(id="token-form"):
            yield Static(
                f"external-dns writes the smoke test's records with it; it goes into {req.path}, "
                "encrypted with sops, and is never shown or stored in plain text.",
                id="why",
                markup=False,
            )
            yield QuestionField(
                self.question, None, help_text=req.help + (KEEP if req.exists else ""), blink=self.blink
            )
        with Horizontal(classes="buttons"):
            yield Static(req.error or "", id="status", markup=False)
            yield Button("Continue", id="continue", variant="primary")
            yield Button("Back (esc)", id="back")
        yield Footer()

    def on_mount(self) -> None:
        self.field.query_one("#input-token", Input).focus()
        if self.request.error:
            self.field.show_error(self.request.error)

    @property
    def field(self) -> QuestionField:
        return self.query_one(QuestionField)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#continue")
    def _pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

    def action_submit(self) -> None:
        if not self.asking:
            return
        value = str(self.field.value or "").strip()
        if not value:
            if self.request.exists:
                self.give(None)
                return
            self.field.show_error("The external-dns step needs the token: type it, or go back and pick other steps.")
            return
        err = self.question.check(value, {"dns_provider": self.request.provider})
        if err:
            self.field.show_error(err)
            return
        self.query_one("#status", Static).update("Checking the DNS token with the provider…")
        self.query_one("#continue", Button).disabled = True
        self.give(value)

    def action_back(self) -> None:
        if self.asking:
            self.give(BACK)

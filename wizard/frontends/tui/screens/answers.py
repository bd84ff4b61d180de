"""Answers: the flow's questions (declared once in wizard.questions), validated inline as they are
typed; previous answers prefilled. The DNS token is asked later, on its own screen, only when the
chosen steps need it."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Select, Static

from wizard import questions as Q
from wizard.errors import WizardError
from wizard.flow import AnswersRequest
from wizard.frontends.tui.screens.base import WizardScreen
from wizard.frontends.tui.widgets.question_field import QuestionField
from wizard.frontends.tui.widgets.stagebar import StageBar


class AnswersScreen(WizardScreen):
    stage = "Answers"
    BINDINGS = [Binding("ctrl+s", "submit", "Continue", show=True)]

    def __init__(self, request: AnswersRequest, repo_name: str, *, blink: bool = True) -> None:
        super().__init__()
        self.request = request
        self.prefill = {k: v for k, v in request.prefill.items() if k != "token"}
        self.repo_name = repo_name
        self.blink = blink
        self.questions = [q for q in request.questions if q.kind != "password"]

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        yield Label("Answers", classes="title")
        with VerticalScroll(id="form"):
            for q in self.questions:
                value = self.prefill.get(q.key) if q.key in self.prefill else None
                if value is None and q.kind == "select":
                    value = q.default_for(self.prefill)
                yield QuestionField(q, value, blink=self.blink)
        with Horizontal(classes="buttons"):
            yield Static(self.request.error or "", id="status", markup=False)
            yield Button("Continue", id="continue", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self._refresh_defaults()
        first = next((f for f in self.query(QuestionField) if not f.value), None)
        target = first or self.query(QuestionField).first()
        target.query_one(f"#input-{target.question.key}").focus()

    # -- values ------------------------------------------------------------------------------
    def fields(self) -> list[QuestionField]:
        return list(self.query(QuestionField))

    @staticmethod
    def _default(q: Q.Question, so_far: dict[str, Any]) -> Any:
        try:
            return q.default_for(so_far)
        except WizardError:  # a default derived from an invalid answer: no default
            return None

    @staticmethod
    def _check(q: Q.Question, value: Any, so_far: dict[str, Any]) -> str | None:
        try:
            return q.check(value, so_far)
        except WizardError as exc:
            return exc.message

    def so_far(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for f in self.fields():
            v = f.value
            values[f.question.key] = v if v not in ("", None) else self._default(f.question, values)
        return values

    def _refresh_defaults(self) -> None:
        values: dict[str, Any] = {}
        for f in self.fields():
            q = f.question
            default = self._default(q, {k: v for k, v in values.items() if k != q.key})
            if q.kind != "select":
                f.set_placeholder(str(default) if default else "")
            values[q.key] = f.value or default

    def _check_field(self, f: QuestionField, *, final: bool = False) -> str | None:
        q = f.question
        v = f.value
        so_far = self.so_far()
        if v in ("", None):
            default = self._default(q, so_far)
            err = self._check(q, default, so_far) if (default or final) else None
            if final and not default and not q.optional:
                err = err or f"{q.label} is empty."
        else:
            err = self._check(q, v, so_far)
        f.show_error(err)
        return err

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self, event: Input.Changed | Select.Changed) -> None:
        field = next((a for a in event.control.ancestors if isinstance(a, QuestionField)), None)
        if field is None:
            return
        self._refresh_defaults()
        self._check_field(field)

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        fields = self.fields()
        field = next((a for a in event.control.ancestors if isinstance(a, QuestionField)), None)
        if field is None:
            return
        i = fields.index(field)
        if i + 1 < len(fields):
            fields[i + 1].query_one(f"#input-{fields[i + 1].question.key}").focus()
        else:
            self.action_submit()

    @on(Button.Pressed, "#continue")
    def _pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        if not self.asking:
            return
        errors = [f for f in self.fields() if self._check_field(f, final=True)]
        if errors:
            f = errors[0]
            f.query_one(f"#input-{f.question.key}").focus()
            self._status("Fix the answers marked in red.")
            return
        self._status("Reading the repository…")
        self.query_one("#continue", Button).disabled = True
        self.give(self.so_far())

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

"""Answers: the engine's questions, validated inline; previous answers prefilled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Footer, Input, Label, Select, Static

from wizard import questions as Q
from wizard import steps as steps_mod
from wizard.errors import WizardError
from wizard.events import Event
from wizard.render import plain_line
from wizard.ui.screens.base import WizardScreen
from wizard.ui.session import Session
from wizard.ui.widgets.question_field import QuestionField
from wizard.ui.widgets.stagebar import StageBar

TOKEN_KEEP = " Leave it empty to keep the token already encrypted in the repository."


class AnswersScreen(WizardScreen):
    stage = "Answers"
    BINDINGS = [Binding("ctrl+s", "submit", "Continue", show=True)]

    @dataclass
    class Checked(Message):
        engine: Any
        notes: list[str]

    def __init__(self, session: Session, prefill: dict[str, Any], repo_name: str, *, blink: bool = True) -> None:
        super().__init__()
        self.session = session
        self.prefill = {k: v for k, v in prefill.items() if k != "token"}
        self.repo_name = repo_name
        self.blink = blink
        self.questions = Q.for_steps(list(steps_mod.NAMES))
        self.busy = False

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        yield Label("Answers", classes="title")
        with VerticalScroll(id="form"):
            for q in self.questions:
                value = self.prefill.get(q.key) if q.key in self.prefill else None
                if value is None and q.kind == "select":
                    value = q.default_for(self.prefill)
                help_text = Q.token_help(self.prefill) + TOKEN_KEEP if q.kind == "password" else None
                yield QuestionField(q, value, help_text=help_text, blink=self.blink)
        with Horizontal(classes="buttons"):
            yield Static("", id="status")
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
            if f.question.kind == "password":
                continue
            v = f.value
            values[f.question.key] = v if v not in ("", None) else self._default(f.question, values)
        return values

    def _refresh_defaults(self) -> None:
        values: dict[str, Any] = {}
        for f in self.fields():
            q = f.question
            if q.kind == "password":
                f.query_one(".qf-help", Static).update(Q.token_help(values) + TOKEN_KEEP)
                continue
            default = self._default(q, {k: v for k, v in values.items() if k != q.key})
            if q.kind != "select":
                f.set_placeholder(str(default) if default else "")
            values[q.key] = f.value or default

    def _check_field(self, f: QuestionField, *, final: bool = False) -> str | None:
        q = f.question
        v = f.value
        so_far = self.so_far()
        if q.kind == "password":
            err = self._check(q, v, {}) if v else None
        elif v in ("", None):
            default = self._default(q, so_far)
            err = self._check(q, default, so_far) if (default or final) else None
            if final and not default:
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
        if self.busy:
            return
        errors = [f for f in self.fields() if self._check_field(f, final=True)]
        if errors:
            f = errors[0]
            f.query_one(f"#input-{f.question.key}").focus()
            self._status("Fix the answers marked in red.")
            return
        token_field = next((f for f in self.fields() if f.question.kind == "password"), None)
        token = token_field.value if token_field is not None else ""
        values = self.so_far()
        self.busy = True
        self.query_one("#continue", Button).disabled = True
        self._status("Checking the DNS token with the provider…" if token else "Reading the repository…")
        self.session.token = token or None
        self.session.values = values
        self.check_answers(values)

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    # -- engine work ---------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="answers")
    def check_answers(self, values: dict[str, Any]) -> None:
        engine = self.session.new_engine(Q.to_overrides(values))
        engine.load()
        events: list[Event] = []
        if self.session.token:
            events = engine.check_token(self.session.token)
        notes = [self.session.scrub(plain_line(e).strip()) for e in events]
        self.post_message(self.Checked(engine, [n for n in notes if n]))

    @on(Checked)
    def _checked(self, message: Checked) -> None:
        self.session.engine = message.engine
        self.dismiss(message.notes)

    def worker_failed(self, error: BaseException) -> None:
        self.busy = False
        self.query_one("#continue", Button).disabled = False
        self._status("")

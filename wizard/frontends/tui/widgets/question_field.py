"""One engine Question rendered as a labelled Input or Select with its inline error."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

from wizard.questions import Question


class QuestionField(Vertical):
    DEFAULT_CSS = """
    QuestionField { height: auto; margin: 0 0 1 0; }
    QuestionField .qf-row { height: auto; }
    QuestionField .qf-label { width: 20; padding-top: 0; }
    QuestionField .qf-row > Input, QuestionField .qf-row > Select { width: 1fr; }
    QuestionField .qf-error { color: $error; height: auto; padding-left: 20; display: none; }
    QuestionField.-invalid .qf-error { display: block; }
    QuestionField .qf-row > Input { background: $surface; }
    QuestionField .qf-row > Input:focus { background: $panel; }
    QuestionField .qf-help { color: $text-muted; height: auto; padding-left: 20; display: none; }
    QuestionField:focus-within .qf-help { display: block; }
    """

    def __init__(self, question: Question, value: Any, *, help_text: str | None = None, blink: bool = True) -> None:
        super().__init__(id=f"q-{question.key}")
        self.question = question
        self.initial = value
        self.help_text = question.help if help_text is None else help_text
        self.blink = blink

    def compose(self) -> ComposeResult:
        q = self.question
        with Horizontal(classes="qf-row"):
            yield Label(q.label, classes="qf-label")
            if q.kind == "select":
                yield Select(
                    [(label, value) for value, label in q.choices],
                    value=self.initial or q.choices[0][0],
                    allow_blank=False,
                    id=f"input-{q.key}",
                    compact=True,
                )
            else:
                # the token field never gets an initial value: nothing about it is stored
                yield Input(
                    value="" if q.kind == "password" else str(self.initial or ""),
                    password=q.kind == "password",
                    id=f"input-{q.key}",
                    select_on_focus=False,
                    compact=True,
                )
        yield Static(self.help_text, classes="qf-help")
        yield Static("", classes="qf-error")

    def on_mount(self) -> None:
        for inp in self.query(Input):
            inp.cursor_blink = self.blink

    @property
    def value(self) -> Any:
        w = self.query_one(f"#input-{self.question.key}")
        if isinstance(w, Select):
            return w.value
        return w.value.strip() if isinstance(w, Input) else None

    def set_placeholder(self, text: str) -> None:
        for inp in self.query(Input):
            inp.placeholder = text

    def show_error(self, error: str | None) -> None:
        self.query_one(".qf-error", Static).update(error or "")
        self.set_class(bool(error), "-invalid")

"""Scripted questionary prompts for plain-mode tests (no terminal): questionary's text/select/
password/confirm/checkbox replaced by a FakePrompt whose answer is the scripted one for the first
key that is a substring of the prompt's message (an unscripted prompt takes its default). Text
answers go through the prompt's own ``validate=``, as questionary would."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import questionary

CTRL_C = object()  # script value: the user presses Ctrl-C at this prompt


class Seq(list):
    """Script value for a prompt asked more than once: one answer per time, in order."""


@dataclass
class Asked:
    kind: str
    message: str
    kwargs: dict[str, Any]


@dataclass
class Script:
    """Scripted answers keyed by a substring of the prompt message (a list answers repeated prompts)."""

    answers: dict[str, Any] = field(default_factory=dict)
    asked: list[Asked] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> Script:
        for kind in ("text", "select", "password", "confirm", "checkbox"):
            monkeypatch.setattr(questionary, kind, self._factory(kind))
        return self

    def _factory(self, kind: str):
        def make(message: str, *args: Any, **kwargs: Any) -> FakePrompt:
            if args:
                kwargs["choices" if kind in ("select", "checkbox") else "default"] = args[0]
            return FakePrompt(self, Asked(kind, message, kwargs))

        return make

    def messages(self) -> list[str]:
        return [a.message for a in self.asked]

    def prompt(self, fragment: str) -> Asked:
        return next(a for a in self.asked if fragment in a.message)

    def answer_for(self, asked: Asked) -> Any:
        for key, value in self.answers.items():
            if key in asked.message:
                if isinstance(value, Seq):
                    return value.pop(0)
                return value
        return default_of(asked)


def default_of(asked: Asked) -> Any:
    kw = asked.kwargs
    if asked.kind == "checkbox":
        return [c.value for c in kw["choices"] if c.checked]
    if asked.kind == "select":
        return kw.get("default") or kw["choices"][0].value
    if asked.kind == "confirm":
        return kw.get("default", True)
    if asked.kind == "password":
        raise AssertionError(f"unscripted password prompt {asked.message!r}")
    return kw.get("default", "")


@dataclass
class FakePrompt:
    script: Script
    asked: Asked

    def unsafe_ask(self) -> Any:
        self.script.asked.append(self.asked)
        value = self.script.answer_for(self.asked)
        if value is CTRL_C:
            raise KeyboardInterrupt
        validate = self.asked.kwargs.get("validate")
        if validate is not None:
            verdict = validate(value)
            assert verdict is True, f"{self.asked.message!r} rejected {value!r}: {verdict}"
        return value

    async def unsafe_ask_async(self) -> Any:
        return self.unsafe_ask()

    def ask(self) -> Any:  # plain mode must never use ask(): it swallows Ctrl-C
        raise AssertionError("plain mode called .ask() instead of .unsafe_ask()")


class Lines(list):
    def __call__(self, text: str = "") -> None:
        self.append(text)

    @property
    def text(self) -> str:
        return "\n".join(self)

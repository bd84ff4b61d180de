"""The top bar: where the user is in the flow."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

STAGES = ("Preflight", "Answers", "Steps", "Review", "Write", "Reconcile")


class StageBar(Static):
    DEFAULT_CSS = """
    StageBar { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, current: str, repo_name: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.current = current
        self.repo_name = repo_name

    def render(self) -> Text:
        text = Text()
        text.append("edge-wizard", style="bold")
        if self.repo_name:
            text.append(f" · {self.repo_name}")
        text.append("   ")
        for i, name in enumerate(STAGES):
            if i:
                text.append(" › ", style="dim")
            if name == self.current:
                text.append(f" {name} ", style="bold reverse")
            else:
                text.append(name)
        return text

"""The top bar: where the user is in the flow, and (the demo) why this stage is there."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

STAGES = ("Preflight", "Answers", "Steps", "Review", "Write", "Reconcile")


class StageBar(Static):
    COMPONENT_CLASSES = {"stagebar--caption"}
    DEFAULT_CSS = """
    StageBar { height: auto; background: $panel; color: $text-muted; padding: 0 1; }
    StageBar > .stagebar--caption { color: $accent; text-style: italic; }
    """

    def __init__(self, current: str, repo_name: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.current = current
        self.repo_name = repo_name

    def line(self, *, repo: bool = True, names: bool = True) -> Text:
        """The stages with the current one highlighted; narrower: without the repository's name,
        then only the current stage and where it is (3/6)."""
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("edge-wizard", style="bold")
        if repo and self.repo_name:
            text.append(f" · {self.repo_name}")
        text.append("   ")
        if not names:
            at = STAGES.index(self.current) + 1 if self.current in STAGES else 0
            text.append(f" {self.current} ", style="bold reverse")
            text.append(f" {at}/{len(STAGES)}" if at else "")
            return text
        for i, name in enumerate(STAGES):
            if i:
                text.append(" › ", style="dim")
            if name == self.current:
                text.append(f" {name} ", style="bold reverse")
            else:
                text.append(name)
        return text

    def render(self) -> Text:
        width = self.content_size.width or 10_000
        text = next(
            (t for t in (self.line(), self.line(repo=False)) if t.cell_len <= width),
            self.line(repo=False, names=False),
        )
        caption = getattr(self.app, "caption", "")
        if caption:  # the demo: why this stage is there (screencasts that teach)
            text.no_wrap = False
            text.append("\n")
            text.append(f"» {caption}", style=self.get_component_rich_style("stagebar--caption"))
        return text

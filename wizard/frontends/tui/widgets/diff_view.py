"""A unified diff with YAML highlighting of the content and +/- line backgrounds."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.widgets import Static

_ADD = "on #1e4d2b"
_DEL = "on #5c1f24"


def render_diff(diff: str, *, dark: bool = True) -> Text:
    theme = "monokai" if dark else "default"
    syntax = Syntax("", "yaml", theme=theme, background_color="default")
    out = Text(no_wrap=True, overflow="ellipsis")
    add, rem = (_ADD, _DEL) if dark else ("on #d7f5dd", "on #fadadd")
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            out.append(line + "\n", style="bold")
        elif line.startswith("@@"):
            out.append(line + "\n", style="cyan")
        elif line.startswith(("+", "-", " ")):
            sign, body = line[0], line[1:]
            content = syntax.highlight(body) if body.strip() else Text(body)
            content.rstrip()
            bg = add if sign == "+" else rem if sign == "-" else ""
            row = Text(sign, style="bold green" if sign == "+" else "bold red" if sign == "-" else "")
            row.append_text(content)
            if bg:
                row.stylize(bg)
            out.append_text(row)
            out.append("\n")
        else:
            out.append(line + "\n", style="dim")
    out.rstrip()
    return out


class DiffView(Static):
    DEFAULT_CSS = """
    DiffView { height: auto; width: auto; min-width: 100%; }
    """

    def show(self, diff: str) -> None:
        self.update(render_diff(diff, dark=self.app.current_theme.dark))

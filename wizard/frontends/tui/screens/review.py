"""Review: warnings and what happens outside the repository first, then the diff of each file;
confirm to write, commit and push (or, with nothing to write, to go on and follow Flux)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Label, ListItem, ListView, Static

from wizard.flow import BACK, Confirm, Review
from wizard.frontends.tui.screens.base import WizardScreen
from wizard.frontends.tui.widgets.diff_view import DiffView
from wizard.frontends.tui.widgets.stagebar import StageBar

STATUS_MARK = {
    "new": ("+", "bold green"),
    "changed": ("~", "bold yellow"),
    "deleted": ("-", "bold red"),
    "secret": ("🔒", ""),
}


class FileItem(ListItem):
    def __init__(self, path: str, status: str) -> None:
        mark, style = STATUS_MARK.get(status, ("•", ""))
        folder, _, name = path.rpartition("/")
        label = Text.assemble((f"{mark} ", style), (name, "bold"))
        if folder:
            label.append(f"\n  {folder}", style="dim")
        super().__init__(Static(label, markup=False))
        self.path = path
        self.status = status


class ReviewScreen(WizardScreen):
    stage = "Review"
    BINDINGS = [
        Binding("w", "write", "Write, commit and push"),
        Binding("b", "back", "Back to steps"),
        Binding("a", "accept", "Accept the controller changes", show=False),
    ]

    def __init__(self, review: Review, repo_name: str, notes: Sequence[str] = ()) -> None:
        super().__init__()
        self.review = review
        self.plan = review.plan
        self.steps = list(review.steps)
        self.repo_name = repo_name
        self.notes = [*notes, *(f"will {a}" for a in review.actions)]
        self.accepted = False  # the attention items (their own confirmation: key a)

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        yield Label(f"Review: {', '.join(self.steps)}", classes="title")
        with VerticalScroll(id="warnings-box"):
            yield Static("", id="warnings", markup=False)
        with VerticalScroll(id="attention-box"):
            yield Static("", id="attention", markup=False)
        with Horizontal(id="review"):
            yield ListView(id="files")
            with VerticalScroll(id="diff-box"):
                yield DiffView("", id="diff")
        with Horizontal(classes="buttons"):
            yield Static("", id="summary")
            yield Button("Write, commit and push (w)", id="write", variant="success")
            yield Button("Back (b)", id="back")
        yield Footer()

    def on_mount(self) -> None:
        plan = self.plan
        # this run's own notes first (a token not checked, what happens outside the repository),
        # then the plan's warnings: the box scrolls, and the first lines are the ones always seen
        lines = [f"► {n}" for n in self.notes] + [f"⚠ {w}" for w in plan.warnings]
        lines += [f"↻ {step}: {note}" for step, note in plan.notes]
        self.query_one("#warnings", Static).update(Text("\n".join(lines)))
        self.query_one("#warnings-box").display = bool(lines)
        self._show_attention()
        files = self.query_one("#files", ListView)
        items = [FileItem(c.path, c.status) for c in plan.pending]
        items += [FileItem(s.path, "secret") for s in plan.secrets if not s.exists or self.review.token_given]
        files.extend(items)
        n = len(items)
        write = self.query_one("#write", Button)
        if n:
            secrets = sum(item.status == "secret" for item in items)
            sealed = f" ({secrets} sops-encrypted Secret{'s' if secrets != 1 else ''})" if secrets else ""
            self.query_one("#summary", Static).update(f"{n} file{'s' if n != 1 else ''} to write{sealed}")
            files.index = 0
            files.focus()
            self._show(items[0])
        else:
            self.query_one("#summary", Static).update("Nothing to change: the repository is up to date.")
            write.label = "Follow Flux (w)"
            write.focus()

    @on(ListView.Highlighted, "#files")
    def _highlighted(self, event: ListView.Highlighted) -> None:
        if isinstance(event.item, FileItem):
            self._show(event.item)

    def _show(self, item: FileItem) -> None:
        diff = self.query_one("#diff", DiffView)
        if item.status == "secret":
            diff.update(
                Text(
                    f"{item.path}\n\nA Secret encrypted with sops when it is written. Its value is never shown.",
                    style="italic",
                )
            )
            return
        change = next((c for c in self.plan.changes if c.path == item.path), None)
        if change is not None:
            diff.show(change.diff())
        self.query_one("#diff-box", VerticalScroll).scroll_home(animate=False)

    def _show_attention(self) -> None:
        box = self.query_one("#attention-box")
        box.display = bool(self.review.attention)
        if not self.review.attention:
            return
        lines: list[str] = []
        for a in self.review.attention:
            lines.append(f"‼ {a.heading}:")
            lines += [f"   • {item}" for item in a.items]
        names = ", ".join(a.step for a in self.review.attention)
        lines.append(
            "   [a] accepted: these changes are written too"
            if self.accepted
            else f"   [a] not accepted: {names} is left out of this run (press a to accept them)"
        )
        self.query_one("#attention", Static).update(Text("\n".join(lines)))

    def action_accept(self) -> None:
        if self.review.attention:
            self.accepted = not self.accepted
            self._show_attention()

    def action_write(self) -> None:
        self.give(Confirm(write=True, commit=True, accept_attention=self.accepted))

    def action_back(self) -> None:
        self.give(BACK)

    @on(Button.Pressed, "#write")
    def _write(self) -> None:
        self.action_write()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

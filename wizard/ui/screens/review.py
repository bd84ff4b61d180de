"""Review: warnings first, then the diff of each file; confirm to write."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Footer, Label, ListItem, ListView, Static

from wizard.errors import UserError
from wizard.plan import Plan
from wizard.ui.screens.base import WizardScreen
from wizard.ui.session import Session
from wizard.ui.widgets.diff_view import DiffView
from wizard.ui.widgets.stagebar import StageBar

STATUS_MARK = {"new": ("+", "bold green"), "changed": ("~", "bold yellow"), "secret": ("🔒", "")}


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
    BINDINGS = [Binding("w", "write", "Write, commit and push"), Binding("b", "back", "Back to steps")]

    @dataclass
    class Planned(Message):
        plan: Plan

    def __init__(self, session: Session, steps: list[str], repo_name: str) -> None:
        super().__init__()
        self.session = session
        self.steps = steps
        self.repo_name = repo_name
        self.plan: Plan | None = None
        self.decided = False

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        yield Label(f"Review: {', '.join(self.steps)}", classes="title")
        with VerticalScroll(id="warnings-box"):
            yield Static("", id="warnings", markup=False)
        with Horizontal(id="review"):
            yield ListView(id="files")
            with VerticalScroll(id="diff-box"):
                yield DiffView("", id="diff")
        with Horizontal(classes="buttons"):
            yield Static("", id="summary")
            yield Button("Write, commit and push (w)", id="write", variant="success", disabled=True)
            yield Button("Back (b)", id="back")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#files", ListView).loading = True
        self.make_plan()

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def make_plan(self) -> None:
        engine = self.session.engine or self.session.base_engine()
        plan = engine.plan(self.steps)
        missing = [s.path for s in plan.secrets if not s.exists]
        if missing and not self.session.token:
            raise UserError(
                f"The external-dns step writes {missing[0]}, which must hold the DNS provider token, and "
                "no token was given. Go back (b, then b again) to the answers and type the token, or pick "
                "another step."
            )
        self.post_message(self.Planned(plan))

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        self.plan = plan = message.plan
        self.session.plan = plan
        self.session.steps = list(self.steps)
        warnings = self.query_one("#warnings", Static)
        if plan.warnings:
            warnings.update(Text("\n".join(f"⚠ {self.session.scrub(w)}" for w in plan.warnings)))
        self.query_one("#warnings-box").display = bool(plan.warnings)
        files = self.query_one("#files", ListView)
        files.loading = False
        items = [FileItem(c.path, c.status) for c in plan.pending]
        items += [FileItem(s.path, "secret") for s in plan.secrets if not s.exists or self.session.token]
        files.clear()
        files.extend(items)
        n = len(items)
        if n:
            summary = f"{n} file{'s' if n != 1 else ''} to write"
        else:
            summary = "Nothing to change: the repository is up to date."
        self.query_one("#summary", Static).update(summary)
        self.query_one("#write", Button).disabled = not n
        if n:
            files.index = 0
            files.focus()
            self._show(items[0])
        else:
            self.query_one("#diff", DiffView).update("")

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
        change = next(c for c in self.plan.changes if c.path == item.path) if self.plan else None
        if change is not None:
            diff.show(change.diff())
        self.query_one("#diff-box", VerticalScroll).scroll_home(animate=False)

    def action_write(self) -> None:
        if not self.decided and not self.query_one("#write", Button).disabled:
            self.decided = True
            self.dismiss(True)

    def action_back(self) -> None:
        if not self.decided:
            self.decided = True
            self.dismiss(False)

    @on(Button.Pressed, "#write")
    def _write(self) -> None:
        self.action_write()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

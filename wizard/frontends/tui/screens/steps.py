"""Steps: each step with its state (computed once by the flow); run them all, or pick one to re-run.
The table's "what it does" is cut to the terminal's width; the line under it says the highlighted
step's in full, and why a blocked step is blocked. "Run all" asks before leaving blocked steps out
(the flow asks)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Footer, Label, Static

from wizard import events as ev
from wizard.flow import BACK
from wizard.frontends.tui.screens.base import WizardScreen
from wizard.frontends.tui.widgets.stagebar import StageBar

STATE_STYLE = {
    "new": "bold cyan",
    "changes": "bold yellow",
    "up to date": "green",
    "blocked": "bold red",
    "removed": "dim",
}


class StepsScreen(WizardScreen):
    stage = "Steps"
    BINDINGS = [
        Binding("a", "run_all", "Run all"),
        Binding("enter", "run_one", "Re-run this step"),
        Binding("b", "back", "Back to answers"),
    ]

    def __init__(self, rows: Sequence[ev.StepRow], repo_name: str, notes: Sequence[str] = ()) -> None:
        super().__init__()
        self.rows = list(rows)
        self.repo_name = repo_name
        self.notes = list(notes)

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        yield Label("Steps", classes="title")
        if self.notes:
            yield Static("\n".join(self.notes), id="notes", markup=False)
        yield DataTable(id="steps", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail", markup=False)
        yield Static("", id="problem", markup=False)
        with Horizontal(classes="buttons"):
            yield Button("Run all (a)", id="all", variant="primary", disabled=True)
            yield Button("Re-run selected (enter)", id="one", disabled=True)
            yield Button("Back (b)", id="back")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("step", "state", "what it does")
        for r in self.rows:
            table.add_row(r.step, Text(r.state, style=STATE_STYLE.get(r.state, "")), r.summary, key=r.step)
        self.query_one("#all", Button).disabled = not self.runnable()
        self.query_one("#one", Button).disabled = False
        table.focus()
        self._show_problem()

    def runnable(self) -> list[str]:
        return [r.step for r in self.rows if r.state not in ("blocked", "removed")]

    def selected(self) -> ev.StepRow | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _show_problem(self) -> None:
        row = self.selected()
        self.query_one("#detail", Static).update(f"{row.step}: {row.summary}" if row else "")
        self.query_one("#problem", Static).update(f"⚠ {row.problem}" if row and row.problem else "")

    def action_run_all(self) -> None:
        """Every step but removed ones (re-run one by name to add it back); the flow asks before leaving
        the blocked ones out."""
        if self.runnable():
            self.give([r.step for r in self.rows if r.state != "removed"])

    def action_run_one(self) -> None:
        row = self.selected()
        if row is None:
            return
        if row.state == "blocked":
            self.notify(f"{row.step} cannot run yet: see the note below the table.", severity="warning")
            return
        self.give([row.step])

    def action_back(self) -> None:
        self.give(BACK)

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_run_one()

    @on(Button.Pressed, "#all")
    def _all(self) -> None:
        self.action_run_all()

    @on(Button.Pressed, "#one")
    def _one(self) -> None:
        self.action_run_one()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

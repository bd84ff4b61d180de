"""Steps: each step with its state; run them all, or pick one to re-run."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, DataTable, Footer, Label, Static

from wizard import steps as steps_mod
from wizard.errors import WizardError
from wizard.ui.screens.base import WizardScreen
from wizard.ui.session import Session
from wizard.ui.widgets.stagebar import StageBar

STATE_STYLE = {"new": "bold cyan", "changes": "bold yellow", "up to date": "green", "blocked": "bold red"}


@dataclass(frozen=True)
class StepRow:
    name: str
    title: str
    state: str
    summary: str
    problem: str = ""


class StepsScreen(WizardScreen):
    stage = "Steps"
    BINDINGS = [
        Binding("a", "run_all", "Run all"),
        Binding("enter", "run_one", "Re-run this step"),
        Binding("b", "back", "Back to answers"),
    ]

    @dataclass
    class Planned(Message):
        rows: list[StepRow]

    def __init__(self, session: Session, repo_name: str, notes: list[str] | None = None) -> None:
        super().__init__()
        self.session = session
        self.repo_name = repo_name
        self.notes = notes or []
        self.rows: list[StepRow] = []
        self.chosen = False

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        yield Label("Steps", classes="title")
        if self.notes:
            yield Static("\n".join(self.notes), id="notes", markup=False)
        yield DataTable(id="steps", cursor_type="row", zebra_stripes=True)
        yield Static("", id="problem", markup=False)
        with Horizontal(classes="buttons"):
            yield Button("Run all (a)", id="all", variant="primary", disabled=True)
            yield Button("Re-run selected (enter)", id="one", disabled=True)
            yield Button("Back (b)", id="back")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("step", "state", "what it does")
        table.loading = True
        self.plan_steps()

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def plan_steps(self) -> None:
        engine = self.session.engine or self.session.base_engine()
        rows: list[StepRow] = []
        for step in steps_mod.select(None):
            try:
                plan = engine.plan([step.name])
                rows.append(StepRow(step.name, step.title, plan.step_state(step.name), step.summary))
            except WizardError as exc:
                rows.append(StepRow(step.name, step.title, "blocked", step.summary, self.session.scrub(exc.message)))
        self.post_message(self.Planned(rows))

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        self.rows = message.rows
        table = self.query_one(DataTable)
        table.loading = False
        table.clear()
        for r in self.rows:
            table.add_row(r.name, Text(r.state, style=STATE_STYLE.get(r.state, "")), r.summary, key=r.name)
        self.query_one("#all", Button).disabled = not self.runnable()
        self.query_one("#one", Button).disabled = False
        table.focus()
        self._show_problem()

    def runnable(self) -> list[str]:
        return [r.name for r in self.rows if r.state != "blocked"]

    def selected(self) -> StepRow | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _show_problem(self) -> None:
        row = self.selected()
        self.query_one("#problem", Static).update(f"{row.name}: {row.problem}" if row and row.problem else "")

    def _choose(self, names: list[str] | None) -> None:
        if not self.chosen:
            self.chosen = True
            self.dismiss(names)

    def action_run_all(self) -> None:
        names = self.runnable()
        if names:
            self._choose(names)

    def action_run_one(self) -> None:
        row = self.selected()
        if row is None:
            return
        if row.state == "blocked":
            self.notify(f"{row.name} cannot run yet: see the note below the table.", severity="warning")
            return
        self._choose([row.name])

    def action_back(self) -> None:
        self._choose(None)

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

"""Reconcile: the live tree of what Flux applies for the pushed commit, and a log pane for failures,
warnings and (when the watch fails) doctor's diagnosis."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Label, RichLog, Static

from wizard import events as ev
from wizard.frontends.lines import plain_line
from wizard.frontends.tui.screens.base import WizardScreen
from wizard.frontends.tui.widgets.object_tree import ObjectTree
from wizard.frontends.tui.widgets.stagebar import StageBar


class ReconcileScreen(WizardScreen):
    stage = "Reconcile"

    def __init__(self, repo_name: str, sha: str, *, clock: Callable[[], float] = time.time, label: str = "") -> None:
        super().__init__()
        self.label = label  # e.g. "replay": the events do not come from a live cluster
        self.repo_name = repo_name
        self.sha = sha
        self.clock = clock
        self.outcome: str | None = None
        self.log_lines: list[str] = []

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        title = f"Flux is applying {self.sha[:10]}" if self.sha else "Flux"
        yield Label(f"{title}  [{self.label}]" if self.label else title, classes="title", markup=False)
        with Vertical(id="live"):
            yield ObjectTree(clock=self.clock, id="tree")
            yield RichLog(id="events", markup=False, wrap=True, min_width=20)  # wraps at 80 columns too
        with Horizontal(classes="buttons"):
            yield Static("Waiting for Flux…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(1.0, self.query_one(ObjectTree).tick)

    def _log(self, text: str) -> None:
        text = self.wizard.scrub(text)
        self.log_lines.append(text)
        self.query_one("#events", RichLog).write(text)

    def on_flow_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.ObjectState):
            self.query_one(ObjectTree).update_object(event)
            if event.phase == "failed":
                self._log(plain_line(event))
            return
        if isinstance(event, ev.Stage) and event.name == "diagnose":
            self.query_one("#status", Static).update("Failed: looking for the cause (doctor)…")
            self._log("Diagnosis (edge-wizard doctor):")
            return
        line = plain_line(event).strip()
        if line:
            self._log(line)

    def on_flow_failed(self, failed: ev.Failed) -> None:
        self.outcome = "failed"
        self.query_one("#status", Static).update("Failed: see the message. Press q to quit.")

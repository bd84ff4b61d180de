"""Write, commit and push: the flow's events as they happen (a log and the push progress bar)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Footer, Label, ProgressBar, RichLog, Static

from wizard import events as ev
from wizard.frontends.lines import plain_line
from wizard.frontends.tui.screens.base import WizardScreen
from wizard.frontends.tui.widgets.stagebar import StageBar


class CommitScreen(WizardScreen):
    stage = "Write"

    def __init__(self, repo_name: str) -> None:
        super().__init__()
        self.repo_name = repo_name
        self.outcome: str | None = None
        self.lines: list[str] = []

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        yield Label("Writing, committing and pushing", classes="title")
        yield RichLog(id="log", markup=False, wrap=True, auto_scroll=True, min_width=20)  # wraps at 80 columns too
        yield ProgressBar(id="push", total=100, show_eta=False)
        with Horizontal(classes="buttons"):
            yield Static("Working…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#push", ProgressBar).display = False

    def on_flow_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.PushProgress):
            bar = self.query_one("#push", ProgressBar)
            bar.display = True
            if event.percent is not None:
                bar.update(progress=event.percent)
            self.query_one("#status", Static).update(f"push: {event.stage}")
            return
        if isinstance(event, ev.Pushed):
            self.query_one("#push", ProgressBar).display = False
            self.query_one("#status", Static).update(f"Pushed {event.sha[:10]}.")
            self.outcome = "pushed"
        line = plain_line(event)
        if line:
            line = self.wizard.scrub(line)
            self.lines.append(line)
            self.query_one("#log", RichLog).write(line)

    def on_flow_failed(self, failed: ev.Failed) -> None:
        self.outcome = "failed"
        self.query_one("#status", Static).update("Failed: see the message. Press q to quit.")
        self.query_one("#push", ProgressBar).display = False

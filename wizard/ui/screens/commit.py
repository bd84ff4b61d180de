"""Write, commit and push: progress from the engine's events; errors say what to do."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Footer, Label, ProgressBar, RichLog, Static

from wizard import events as ev
from wizard.engine import RunOptions
from wizard.render import plain_line
from wizard.ui.screens.base import WizardScreen
from wizard.ui.session import Session
from wizard.ui.widgets.stagebar import StageBar


class CommitScreen(WizardScreen):
    stage = "Write"
    BINDINGS = [Binding("enter", "next", "Continue")]

    @dataclass
    class Progress(Message):
        event: ev.Event

        def can_replace(self, message: Message) -> bool:
            return (
                isinstance(self.event, ev.PushProgress)
                and isinstance(message, CommitScreen.Progress)
                and isinstance(message.event, ev.PushProgress)
            )

    @dataclass
    class Finished(Message):
        sha: str | None
        cancelled: bool = False

    def __init__(self, session: Session, repo_name: str) -> None:
        super().__init__()
        self.session = session
        self.repo_name = repo_name
        self.outcome: str | None = None

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        yield Label("Writing, committing and pushing", classes="title")
        yield RichLog(id="log", markup=False, wrap=True, auto_scroll=True)
        yield ProgressBar(id="push", total=100, show_eta=False)
        with Horizontal(classes="buttons"):
            yield Static("Working…", id="status")
            yield Button("Continue (enter)", id="next", variant="primary", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#push", ProgressBar).display = False
        self.run_plan()

    @work(thread=True, exclusive=True, exit_on_error=False, group="write")
    def run_plan(self) -> None:
        s = self.session
        assert s.engine is not None and s.plan is not None
        options = RunOptions(commit=True, push=True, watch=True, token=s.token, context=s.context)
        events = s.engine.run(s.plan, options)
        try:
            for event in events:
                self.post_message(self.Progress(event))
                if s.cancel.is_set():  # stop between files: every write so far was atomic
                    self.post_message(self.Finished(None, cancelled=True))
                    return
        finally:
            events.close()
        s.pushed_sha = s.engine.pushed_sha
        self.post_message(self.Finished(s.engine.pushed_sha))

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        e = message.event
        if isinstance(e, ev.PushProgress):
            bar = self.query_one("#push", ProgressBar)
            bar.display = True
            if e.percent is not None:
                bar.update(progress=e.percent)
            self.query_one("#status", Static).update(f"push: {e.stage}")
            return
        line = plain_line(e)
        if line:
            self.query_one("#log", RichLog).write(self.session.scrub(line))

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        status = self.query_one("#status", Static)
        if message.cancelled:
            status.update("Stopped after the last complete file.")
            self.outcome = "cancelled"
            return
        self.query_one("#push", ProgressBar).display = False
        if message.sha:
            status.update(f"Pushed {message.sha[:10]}. Continue to follow Flux.")
        else:
            status.update("Written and committed (nothing pushed).")
        self.outcome = "done"
        button = self.query_one("#next", Button)
        button.disabled = False
        button.focus()

    def worker_failed(self, error: BaseException) -> None:
        self.outcome = "failed"
        self.query_one("#status", Static).update("Failed: see the message. Press q to quit.")
        self.query_one("#push", ProgressBar).display = False

    def action_next(self) -> None:
        if self.outcome == "done":
            self.dismiss("done")

    @on(Button.Pressed, "#next")
    def _next(self) -> None:
        self.action_next()

"""The Textual app: wiring only. The flow (wizard.flow) orders every stage; the app answers its
decisions with screens (:class:`TuiDecisions`) and shows its events on the current stage screen.

``run_tui`` is what ``edge-wizard`` (no subcommand, in a terminal) calls; ``make_app`` builds the
app with its options and services injected, for tests, the demo and screenshots.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.worker import Worker, WorkerState

from wizard import events as ev
from wizard.flow import AnswersRequest, Back, Confirm, Options, Review, Services, TokenRequest, run_flow
from wizard.frontends.lines import plain_line
from wizard.frontends.tui.screens.answers import AnswersScreen
from wizard.frontends.tui.screens.base import WizardScreen
from wizard.frontends.tui.screens.commit import CommitScreen
from wizard.frontends.tui.screens.dialogs import ClusterDialog, ConfirmQuit, ErrorDialog, LeaveOutDialog
from wizard.frontends.tui.screens.done import REMOVE, DoneScreen
from wizard.frontends.tui.screens.preflight import PreflightScreen
from wizard.frontends.tui.screens.reconcile import ReconcileScreen
from wizard.frontends.tui.screens.review import ReviewScreen
from wizard.frontends.tui.screens.steps import StepsScreen
from wizard.frontends.tui.screens.token import TokenScreen
from wizard.frontends.tui.theme import THEMES, pick_theme

EXIT_DONE, EXIT_FAILED, EXIT_QUIT = 0, 1, 130
STYLES = Path(__file__).parent / "styles"
FAILED_TITLE = {2: "Check this first", 1: "A step failed", 3: "Timed out waiting for the cluster"}
NOTE_EVENTS = (ev.Warning, ev.Info, ev.Hint)


class TuiDecisions:
    """The flow's questions, answered with the stage screens."""

    interactive = True

    def __init__(self, app: WizardApp) -> None:
        self.app = app

    async def _ask(self, screen: WizardScreen) -> Any:
        answer = screen.expect()
        await self.app.show(screen)
        return await answer

    async def preflight(self, checks: Sequence[ev.Check]) -> bool:
        screen = self.app.stage_screen
        assert isinstance(screen, PreflightScreen)
        answer = screen.expect()
        screen.asked()
        return bool(await answer)

    async def answers(self, request: AnswersRequest) -> dict[str, Any] | Back:
        result: dict[str, Any] | Back = await self._ask(
            AnswersScreen(request, self.app.repo_name, blink=self.app.blink)
        )
        return result

    async def steps(self, rows: Sequence[ev.StepRow]) -> list[str] | Back:
        result: list[str] | Back = await self._ask(StepsScreen(rows, self.app.repo_name, self.app.take_notes()))
        return result

    async def cluster(self, clusters: Sequence[tuple[str, str]]) -> str:
        dialog: Any = ClusterDialog(list(clusters))
        return str(await self.app.push_screen_wait(dialog))

    async def leave_out(self, blocked: Sequence[ev.StepRow]) -> bool:
        dialog: Any = LeaveOutDialog([(r.step, r.problem) for r in blocked])
        return bool(await self.app.push_screen_wait(dialog))

    async def token(self, request: TokenRequest) -> str | None | Back:
        value = await self._ask(TokenScreen(request, self.app.repo_name, blink=self.app.blink))
        if isinstance(value, str):
            self.app.token = value
        return value

    async def confirm(self, review: Review) -> Confirm | Back:
        result: Confirm | Back = await self._ask(ReviewScreen(review, self.app.repo_name, self.app.take_notes()))
        return result


class WizardApp(App[int]):
    TITLE = "edge-wizard"
    CSS_PATH = [
        STYLES / name
        for name in (
            "global.tcss",
            "dialogs.tcss",
            "preflight.tcss",
            "answers.tcss",
            "steps.tcss",
            "token.tcss",
            "review.tcss",
            "commit.tcss",
            "reconcile.tcss",
            "done.tcss",
        )
    ]
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("ctrl+c", "request_quit", "Quit", priority=True),
        Binding("q", "request_quit", "Quit", show=False),
    ]

    def __init__(
        self,
        options: Options,
        services: Services | None = None,
        *,
        clock: Callable[[], float] = time.time,
        blink: bool = True,
        theme: str | None = None,
        repo_name: str | None = None,
        label: str = "",
        debug: bool = False,
        wrap: Callable[[AsyncIterator[ev.Event]], AsyncIterator[ev.Event]] | None = None,
    ) -> None:
        super().__init__()
        self.wrap = wrap  # e.g. the demo's captions: the flow's events with a Caption per stage
        self.caption = ""  # the current stage's caption, under the stage bar of every screen
        self.options = options
        self.services = services or Services()
        self.clock = clock
        self.blink = blink
        self.debug_mode = debug or options.debug
        self.wanted_theme = theme or pick_theme()
        self.repo_name = repo_name or Path(options.repo or ".").resolve().name
        self.label = label
        self.token: str | None = None  # typed on the token screen: scrubbed from everything shown
        self.stage_screen: WizardScreen | None = None
        self.shown: list[WizardScreen] = []  # every stage screen, in order (tests read the ones gone by)
        self.notes: list[str] = []
        self.events: list[ev.Event] = []  # every event of the flow (tests read it)
        self.errors: list[str] = []  # every error message shown (tests read it)
        self.findings: list[ev.Finding] = []
        self.failed: ev.Failed | None = None
        self.pushed_sha = ""
        self.quitting = False
        self.next_options: Options | None = None  # a flow to run after this one (the done screen's Remove)

    def on_mount(self) -> None:
        for t in THEMES:
            self.register_theme(t)
        self.theme = self.wanted_theme
        self.flow()

    # -- the flow ---------------------------------------------------------------------------------
    @work(exclusive=True, group="flow", exit_on_error=False)
    async def flow(self) -> None:
        while True:
            events = run_flow(self.services, TuiDecisions(self), self.options)
            async for event in self.wrap(events) if self.wrap is not None else events:
                await self.handle(event)
            if self.next_options is None:
                return
            self.options, self.next_options = self.next_options, None
            self.pushed_sha = ""

    async def show(self, screen: WizardScreen) -> None:
        """Make ``screen`` the stage screen (replacing the previous one; after any open dialog)."""
        while isinstance(self.screen, ModalScreen):
            await asyncio.sleep(0.05)
        if self.stage_screen is None:
            await self.push_screen(screen)
        else:
            await self.switch_screen(screen)
        self.stage_screen = screen
        self.shown.append(screen)

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes

    async def handle(self, event: ev.Event) -> None:
        self.events.append(event)
        if self.quitting:  # the person is leaving: no new screens, only the record of what happened
            if isinstance(event, ev.Failed):
                self.failed = event
            return
        if isinstance(event, ev.Caption):
            self._caption(event.text)
            return
        if isinstance(event, ev.Stage):
            await self._stage(event.name)
        elif isinstance(event, ev.Pushed):
            self.pushed_sha = event.sha
        elif isinstance(event, ev.Finding):
            self.findings.append(event)
        elif isinstance(event, ev.Failed):
            self.fail(event)
            return
        elif isinstance(event, ev.Done):
            await self._done(event)
            return
        screen = self.stage_screen
        if isinstance(event, NOTE_EVENTS) and not isinstance(screen, CommitScreen | ReconcileScreen):
            line = plain_line(event).strip()
            if line:
                self.notes.append(self.scrub(line))
        if screen is not None:
            screen.on_flow_event(event)

    def _caption(self, text: str) -> None:
        from wizard.frontends.tui.widgets.stagebar import StageBar

        self.caption = self.scrub(text)
        for bar in self.screen.query(StageBar):
            bar.refresh(layout=True)

    async def _stage(self, name: str) -> None:
        if name == "preflight":
            await self.show(PreflightScreen(self.repo_name))
        elif name == "write":
            await self.show(CommitScreen(self.repo_name))
        elif name == "watch":
            await self.show(ReconcileScreen(self.repo_name, self.pushed_sha, clock=self.clock, label=self.label))

    async def _done(self, done: ev.Done) -> None:
        # the smoke test answered (or Flux reconciled it) in this run: offer to remove it again
        offer = done.outcome in ("proven", "reconciled") and bool(done.url) and not self.options.remove
        proofs = [e for e in self.events if isinstance(e, ev.Proof)]
        screen = DoneScreen(self.repo_name, done, proofs, offer_remove=offer)
        answer = screen.expect()
        await self.show(screen)
        if await answer == REMOVE:
            self.next_options = dataclasses.replace(self.options, steps=("smoke-test",), remove=True)
            return
        self.exit(EXIT_DONE, return_code=EXIT_DONE)

    # -- failures -------------------------------------------------------------------------------------
    def fail(self, failed: ev.Failed) -> None:
        self.failed = failed
        if self.stage_screen is not None:
            self.stage_screen.on_flow_failed(failed)
        details = "\n\n".join(plain_line(f) for f in self.findings)
        self._dialog(FAILED_TITLE.get(failed.exit_code, "edge-wizard stopped"), failed.message, details)

    def _dialog(self, title: str, message: str, details: str = "") -> None:
        message, details = self.scrub(message), self.scrub(details)
        self.errors.append(message)
        self.push_screen(ErrorDialog(title, message, details))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A bug in edge-wizard: said in one dialog (with the traceback under --debug), never a crash."""
        worker = event.worker
        if worker.group != "flow" or event.state != WorkerState.ERROR or worker.error is None:
            return
        error = worker.error
        self.failed = ev.Failed(f"{type(error).__name__}: {error}", EXIT_FAILED)
        details = ""
        if self.debug_mode:
            details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        message = f"{type(error).__name__}: {error}. This is an edge-wizard bug; run again with --debug to see where."
        self._dialog("Unexpected error", message, details)

    def scrub(self, text: str) -> str:
        """Remove the token from any text that is about to be shown; shorten home paths to ~."""
        from wizard.redact import show  # the one scrubber (and no escape sequence reaches the terminal)

        text = show(text, [self.token])
        home = str(Path.home())
        if len(home) > 1:
            for h in {home, os.path.realpath(home)}:
                text = text.replace(h + "/", "~/")
        return text

    # -- quitting -------------------------------------------------------------------------------------
    def _writing(self) -> bool:
        return isinstance(self.stage_screen, CommitScreen) and self.failed is None and self.pushed_sha == ""

    def action_request_quit(self) -> None:
        if isinstance(self.screen, ConfirmQuit):
            return
        if self._writing():
            detail = "Files are being written. edge-wizard stops after the current file; no file is left half-written."
        elif self.pushed_sha:
            detail = "The change is pushed: Flux applies it whether or not you keep watching."
        elif self.failed is not None:
            detail = "The run failed; the message above says what to do."
        else:
            detail = "Nothing has been written yet."

        def answered(yes: bool | None) -> None:
            if yes:
                self.quit_now()

        self.push_screen(ConfirmQuit(detail), answered)

    @work(group="quit")
    async def quit_now(self) -> None:
        code = self.failed.exit_code if self.failed is not None else EXIT_QUIT
        writing = self._writing()
        self.quitting = True
        flows = [w for w in self.workers if w.group == "flow" and w.is_running]
        if writing:
            # stop between two files (every write is atomic); the flow ends by itself
            self.services.cancel.set()
            code = EXIT_QUIT
        else:
            for w in flows:
                w.cancel()
        for w in flows:
            try:
                await w.wait()
            except Exception:
                pass
        self.exit(code, return_code=code)


def make_app(options: Options, **kwargs: Any) -> WizardApp:
    """Build the app for ``options`` (keywords as :class:`WizardApp`: services, clock, blink, theme,
    repo_name, label, debug); for tests, the demo and screenshots."""
    return WizardApp(options, **kwargs)


def run_tui(options: Options, *, debug: bool = False, services: Services | None = None) -> int:
    """Run the full-screen wizard. Exit code: 0 done, 1/2/3 failed, 130 quit."""
    app = make_app(options, services=services, debug=debug)
    app.run()
    code = app.return_code
    return EXIT_QUIT if code is None else code

"""The Textual app: wiring only. Screens render; the engine does the work in workers.

``run_tui`` is what ``edge-wizard`` (no subcommand, in a terminal) calls; ``make_app`` builds the
app with its services injected, for tests and screenshots.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding

from wizard.errors import StepFailed, UserError, WaitTimeout, WizardError
from wizard.ui import checks
from wizard.ui.screens.answers import AnswersScreen
from wizard.ui.screens.commit import CommitScreen
from wizard.ui.screens.dialogs import ConfirmQuit, ErrorDialog
from wizard.ui.screens.done import DoneScreen
from wizard.ui.screens.preflight import PreflightScreen
from wizard.ui.screens.reconcile import EventSource, ReconcileScreen, flux_events
from wizard.ui.screens.review import ReviewScreen
from wizard.ui.screens.steps import StepsScreen
from wizard.ui.session import EngineFactory, Session
from wizard.ui.theme import THEMES, pick_theme

EXIT_DONE, EXIT_FAILED, EXIT_QUIT = 0, 1, 130
_DEFAULT: Any = object()
STYLES = Path(__file__).parent / "styles"


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
        session: Session,
        *,
        reconcile_source: EventSource | None = _DEFAULT,
        clock: Callable[[], float] = time.time,
        blink: bool = True,
        theme: str | None = None,
        repo_name: str | None = None,
        reconcile_label: str = "",
    ) -> None:
        super().__init__()
        self.session = session
        self.reconcile_source = reconcile_source
        self.reconcile_label = reconcile_label
        self.clock = clock
        self.blink = blink
        self.wanted_theme = theme or pick_theme()
        self.repo_name = repo_name or Path(session.repo or ".").resolve().name
        self.failed = False
        self.errors: list[str] = []  # every error message shown (tests read it)

    def on_mount(self) -> None:
        for t in THEMES:
            self.register_theme(t)
        self.theme = self.wanted_theme
        self.flow()

    # -- the flow: one coroutine, one screen per stage ------------------------------------------
    @work(exclusive=True, group="flow")
    async def flow(self) -> None:
        s, name = self.session, self.repo_name
        prefill = await self.push_screen_wait(PreflightScreen(s, name))
        stage, notes, steps = "answers", [], []
        while stage != "written":
            if stage == "answers":
                notes = await self.push_screen_wait(AnswersScreen(s, prefill, name, blink=self.blink))
                stage = "steps"
            elif stage == "steps":
                chosen = await self.push_screen_wait(StepsScreen(s, name, notes))
                if chosen is None:
                    prefill, stage = {**prefill, **s.values}, "answers"
                else:
                    steps, stage = chosen, "review"
            elif stage == "review":
                stage = "write" if await self.push_screen_wait(ReviewScreen(s, steps, name)) else "steps"
            elif stage == "write":
                await self.push_screen_wait(CommitScreen(s, name))
                stage = "written"
        source = self.reconcile_source
        if source is _DEFAULT:
            source = flux_events if checks.flux_available() else None
        source = source if s.pushed_sha else None
        note = "" if s.pushed_sha else "Nothing was pushed, so there is nothing for Flux to apply yet."
        kind, url, message = await self.push_screen_wait(
            ReconcileScreen(s, name, source, clock=self.clock, note=note, label=self.reconcile_label)
        )
        if kind == "done":
            await self.push_screen_wait(DoneScreen(name, message, url))
        self.exit(EXIT_DONE, return_code=EXIT_DONE)

    # -- errors ---------------------------------------------------------------------------------
    def show_error(self, error: BaseException) -> None:
        s = self.session
        if isinstance(error, WizardError):
            title = {
                UserError: "Check this first",
                StepFailed: "A step failed",
                WaitTimeout: "Timed out waiting for the cluster",
            }.get(type(error), "edge-wizard stopped")
            message = str(error)
        else:
            title = "Unexpected error"
            message = f"{type(error).__name__}: {error}. Run again with --debug to see where it happened."
        if getattr(self.screen, "stage", "") in ("Write", "Reconcile"):
            self.failed = True
        details = ""
        if s.debug:
            details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        message, details = s.scrub(message), s.scrub(details)
        self.errors.append(message)
        self.push_screen(ErrorDialog(title, message, details))

    # -- quitting -------------------------------------------------------------------------------
    def _writing(self) -> bool:
        return any(w.group == "write" and w.is_running for w in self.workers)

    def action_request_quit(self) -> None:
        if isinstance(self.screen, ConfirmQuit):
            return
        if self._writing():
            detail = "Files are being written. edge-wizard stops after the current file; no file is left half-written."
        elif self.session.pushed_sha:
            detail = "The change is pushed: Flux applies it whether or not you keep watching."
        elif self.failed:
            detail = "The run failed; the message above says what to do."
        else:
            detail = "Nothing has been written yet."

        def answered(yes: bool | None) -> None:
            if yes:
                self.quit_now()

        self.push_screen(ConfirmQuit(detail), answered)

    @work(group="quit")
    async def quit_now(self) -> None:
        self.session.cancel.set()
        for w in list(self.workers):
            if w.group == "write" and w.is_running:
                try:
                    await w.wait()
                except Exception:
                    pass
        code = EXIT_FAILED if self.failed else EXIT_QUIT
        self.exit(code, return_code=code)


def make_app(
    engine_factory: EngineFactory,
    *,
    repo: str | None = None,
    answers_file: str | None = None,
    context: str | None = None,
    debug: bool = False,
    reconcile_source: EventSource | None = _DEFAULT,
    clock: Callable[[], float] = time.time,
    blink: bool = True,
    theme: str | None = None,
    repo_name: str | None = None,
    reconcile_label: str = "",
) -> WizardApp:
    """Build the app. ``engine_factory(repo=, answers_file=, overrides=)`` returns an Engine."""
    session = Session(engine_factory=engine_factory, repo=repo, answers_file=answers_file, context=context, debug=debug)
    return WizardApp(
        session,
        reconcile_source=reconcile_source,
        clock=clock,
        blink=blink,
        theme=theme,
        repo_name=repo_name,
        reconcile_label=reconcile_label,
    )


def run_tui(
    *,
    repo: str | None,
    answers_file: str | None,
    context: str | None,
    debug: bool,
    engine_factory: EngineFactory | None = None,
) -> int:
    """Run the full-screen wizard. Exit code: 0 done, 1 failed, 130 quit."""
    if engine_factory is None:
        from wizard.engine import Engine

        engine_factory = Engine
    app = make_app(engine_factory, repo=repo, answers_file=answers_file, context=context, debug=debug)
    app.run()
    code = app.return_code
    return EXIT_QUIT if code is None else code

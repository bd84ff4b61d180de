"""Reconcile: the live tree of what Flux applies, a log pane, then the done screen."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Label, RichLog, Static

from wizard import events as ev
from wizard.render import plain_line
from wizard.ui.screens.base import WizardScreen
from wizard.ui.session import Session
from wizard.ui.widgets.object_tree import ObjectTree
from wizard.ui.widgets.stagebar import StageBar

EventSource = Callable[[Session], AsyncIterator[ev.Event]]

UNAVAILABLE = (
    "Live reconcile is not available yet in this edge-wizard. The change is pushed; Flux "
    "applies it on its next sync. Follow it with:\n\n"
    "    flux reconcile source git flux-system\n    flux get kustomizations --watch"
)


async def flux_events(session: Session) -> AsyncIterator[ev.Event]:
    """The real stream: wizard.flux follows the chain for the pushed commit."""
    from wizard.flux import FluxWatcher  # type: ignore[import-not-found]

    assert session.engine is not None
    watcher = FluxWatcher(context=session.context)
    try:
        async for event in watcher.follow(session.engine.layout, session.plan, session.pushed_sha, timeout=1200.0):
            yield event
    finally:
        await watcher.aclose()


class ReconcileScreen(WizardScreen):
    stage = "Reconcile"
    BINDINGS = [Binding("enter", "finish", "Finish")]

    def __init__(
        self,
        session: Session,
        repo_name: str,
        source: EventSource | None,
        *,
        clock: Callable[[], float] = time.time,
        note: str = "",
        label: str = "",
    ) -> None:
        super().__init__()
        self.session = session
        self.label = label  # e.g. "replay": the events do not come from a live cluster
        self.repo_name = repo_name
        self.source = source
        self.clock = clock
        self.note = note
        self.outcome: tuple[str, str, str] | None = None

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        sha = (self.session.pushed_sha or "")[:10]
        title = f"Flux is applying {sha}" if sha else "Flux"
        yield Label(f"{title}  [{self.label}]" if self.label else title, classes="title", markup=False)
        with Vertical(id="live"):
            yield ObjectTree(clock=self.clock, id="tree")
            yield RichLog(id="events", markup=False, wrap=True)
        yield Static(self.note or UNAVAILABLE, id="unavailable", markup=False)
        with Horizontal(classes="buttons"):
            yield Static("", id="status")
            yield Button("Finish (enter)", id="finish", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        live = self.source is not None
        self.query_one("#live").display = live
        self.query_one("#unavailable").display = not live
        self.query_one("#finish", Button).display = not live
        if live:
            self.query_one("#status", Static).update("Waiting for Flux…")
            self.set_interval(1.0, self.query_one(ObjectTree).tick)
            self.follow()
        else:
            self.outcome = ("unavailable", "", "")
            self.query_one("#finish", Button).focus()

    @work(exclusive=True, exit_on_error=False, group="reconcile")
    async def follow(self) -> None:
        assert self.source is not None
        tree = self.query_one(ObjectTree)
        log = self.query_one("#events", RichLog)
        async for event in self.source(self.session):
            if isinstance(event, ev.ObjectState):
                tree.update_object(event)
                if event.phase == "failed":
                    log.write(self.session.scrub(plain_line(event)))
            elif isinstance(event, ev.Done):
                self.outcome = ("done", event.url, event.message)
                self.query_one("#status", Static).update("Done.")
                self.dismiss(self.outcome)
                return
            else:
                line = plain_line(event).strip()
                if line:
                    log.write(self.session.scrub(line))

    def worker_failed(self, error: BaseException) -> None:
        self.outcome = ("failed", "", "")
        self.query_one("#status", Static).update("Failed: see the message. Press q to quit.")

    def action_finish(self) -> None:
        if self.outcome and self.outcome[0] == "unavailable":
            self.dismiss(self.outcome)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_finish()

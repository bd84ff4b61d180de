"""Preflight: what was found in the repository and on this machine, with a fix for each miss."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Footer, Label, Static

from wizard.errors import WizardError
from wizard.ui import checks
from wizard.ui.checks import MISS, OK, WARN, Check
from wizard.ui.screens.base import WizardScreen
from wizard.ui.session import Session
from wizard.ui.widgets.stagebar import StageBar

ICON = {OK: ("✔", "bold green"), WARN: ("!", "bold yellow"), MISS: ("✗", "bold red")}


class CheckRow(Horizontal):
    """One line of the checklist: icon and name, then what was found and the fix for a miss."""

    def __init__(self, check: Check) -> None:
        super().__init__(classes=f"check -{check.status}")
        self.check = check

    def compose(self) -> ComposeResult:
        icon, style = ICON[self.check.status]
        yield Static(Text.assemble((f"{icon} ", style), (self.check.name, "bold")), classes="name")
        detail = Text(self.check.detail)
        if self.check.fix and self.check.status != OK:
            detail.append(f"\n→ {self.check.fix}", style="italic")
        yield Static(detail, classes="detail")


class PreflightScreen(WizardScreen):
    stage = "Preflight"
    BINDINGS = [Binding("enter", "continue", "Continue"), Binding("r", "recheck", "Check again")]

    @dataclass
    class Found(Message):
        checks: list[Check]
        prefill: dict[str, Any]

    def __init__(self, session: Session, repo_name: str) -> None:
        super().__init__()
        self.session = session
        self.repo_name = repo_name
        self.results: list[Check] = []
        self.prefill: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield StageBar(self.stage, self.repo_name)
        yield Label("What edge-wizard found", classes="title")
        with VerticalScroll(id="checks"):
            yield Static("Checking the repository and the tools…", id="checking")
        with Horizontal(classes="buttons"):
            yield Button("Continue (enter)", id="continue", variant="primary", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self.run_checks()

    @work(thread=True, exclusive=True, exit_on_error=False, group="preflight")
    def run_checks(self) -> None:
        engine = self.session.base_engine()
        try:
            prefill = engine.prefill()
        except WizardError as exc:
            fix = "Fix the file given to --answers, or leave --answers out to be asked."
            self.post_message(self.Found([Check("Answers file", MISS, checks.first_sentence(exc.message), fix)], {}))
            return
        found = checks.repo_checks(engine, prefill, self.session.context)
        self.post_message(self.Found(found, prefill))

    @on(Found)
    def show_found(self, message: Found) -> None:
        tidy = self.session.scrub
        self.results = [replace(c, detail=tidy(c.detail), fix=tidy(c.fix)) for c in message.checks]
        self.prefill = message.prefill
        self._render_checks()
        layout_ok = any(c.name == "Repository layout" and c.status == OK for c in self.results)
        self.query_one("#continue", Button).disabled = not layout_ok
        if layout_ok:
            self.query_one("#continue", Button).focus()
            self.cluster_checks()

    @work(exclusive=True, exit_on_error=False, group="cluster")
    async def cluster_checks(self) -> None:
        if any(c.name == "Cluster context" and c.status != OK for c in self.results):
            return  # no kubeconfig: said once already
        found = await cluster_checklist(self.session)
        self.results.extend(replace(c, detail=self.session.scrub(c.detail)) for c in found)
        self._render_checks()

    def worker_failed(self, error: BaseException) -> None:
        self.query_one("#checks", VerticalScroll).remove_children()

    def _render_checks(self) -> None:
        box = self.query_one("#checks", VerticalScroll)
        box.remove_children()
        box.mount_all([CheckRow(c) for c in self.results])

    def action_continue(self) -> None:
        if not self.query_one("#continue", Button).disabled:
            self.dismiss(self.prefill)

    def action_recheck(self) -> None:
        self.session.engine = None
        self.results = []
        self.query_one("#continue", Button).disabled = True
        self.run_checks()

    @on(Button.Pressed, "#continue")
    def _pressed(self) -> None:
        self.action_continue()


async def cluster_checklist(session: Session) -> list[Check]:
    """The cluster context and Flux API versions, through wizard.flux when it is available."""
    if not checks.flux_available():
        return [
            Check(
                "Live reconcile",
                WARN,
                "live reconcile is not available yet in this edge-wizard",
                "After the push, follow Flux with: flux get kustomizations --watch",
            )
        ]
    from wizard import events as ev
    from wizard.flux import FluxWatcher  # type: ignore[import-not-found]

    watcher = FluxWatcher(context=session.context)
    try:
        found = await asyncio.wait_for(watcher.preflight(), timeout=15)
    except Exception as exc:
        return [
            Check(
                "Cluster",
                WARN,
                session.scrub(checks.first_sentence(str(exc))),
                "The change will still be pushed; check KUBECONFIG or --context to follow Flux.",
            )
        ]
    finally:
        await watcher.aclose()
    out = []
    for e in found:
        status = MISS if isinstance(e, ev.Failed) else WARN if isinstance(e, ev.Warning) else OK
        out.append(Check("Flux APIs", status, session.scrub(getattr(e, "message", str(e)))))
    return out

"""Pilot helpers: build the app on a fixture, wait for screens (on a condition, never a blind
sleep), and ONE navigation helper (:func:`drive`) that every pilot and snapshot test uses."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from wizard.events import Done, Event, Info, ObjectState
from wizard.flow import Options, Services
from wizard.frontends.tui.app import WizardApp, make_app
from wizard.steps import NAMES

TOKEN = "hcloud-UiTestTokenQ29mZmVlQmVhbnM4Mg"  # the DNS token the UI tests type (tests/ui/conftest.py's fake API accepts it)

FIXED_NOW = 1_800_000_100.0
T0 = 1_800_000_000.0

EventFn = Callable[[], AsyncIterator[Event]]


class ScriptedWatcher:
    """The flow's watcher for pilot tests: a scripted event stream instead of a cluster."""

    needs_cluster = False

    def __init__(self, events: EventFn) -> None:
        self.events = events

    async def follow(self, layout: Any, plan: Any, sha: str | None, *, timeout: float) -> AsyncIterator[Event]:
        async for e in self.events():
            yield e


def build_app(
    env: Any, *, watch: EventFn | None = None, debug: bool = False, wrap: Any = None, **services: Any
) -> WizardApp:
    """The app on ``env``'s repository. ``watch``: the scripted watch stage (None: the real watcher,
    which needs a kubeconfig; there is none in the tests, so the run ends "pushed, not followed").
    ``wrap``: what sees the flow's events first (the demo's captions)."""
    extra: dict[str, Any] = dict(services)
    if watch is not None:
        watcher = ScriptedWatcher(watch)
        extra["watcher"] = lambda _kube: watcher
    return make_app(
        Options(repo=str(env.repo), answers_file=str(env.answers), debug=debug),
        services=Services(**extra),
        clock=lambda: FIXED_NOW,
        blink=False,
        theme="edge-dark",
        repo_name="cluster",
        debug=debug,
        wrap=wrap,
    )


async def wait_for(pilot: Pilot, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            await pilot.pause()
            return got
        await pilot.pause(0.05)
    raise AssertionError(
        f"timed out waiting for {what or predicate} (screen {type(pilot.app.screen).__name__},"
        f" errors {getattr(pilot.app, 'errors', [])})"
    )


async def second_screen(pilot: Pilot, name: str, what: str, timeout: float = 60.0) -> Any:
    """Wait until a second screen ``name`` was shown in this session (a second flow or stage), return it."""
    found = await wait_for(
        pilot, lambda: [s for s in pilot.app.shown if type(s).__name__ == name][1:], timeout, what=what
    )
    return found[0]


async def on_screen(pilot: Pilot, name: str, ready: str | None = None, timeout: float = 30.0) -> Any:
    """Wait until the active screen is ``name`` and, if given, the selector ``ready`` matches."""

    def check() -> Any:
        screen = pilot.app.screen
        if type(screen).__name__ != name:
            return None
        if ready is not None and not screen.query(ready):
            return None
        return screen

    return await wait_for(pilot, check, timeout, what=f"{name} {ready or ''}")


async def asked(pilot: Pilot, screen: Any) -> Any:
    """Wait until the flow waits for ``screen``'s answer."""
    await wait_for(pilot, lambda: screen.asking, what=f"{type(screen).__name__} asking")
    return screen


STAGES = ("preflight", "answers", "steps", "token", "review", "write", "watch", "done")


async def drive(pilot: Pilot, until: str, *, step: str | None = None, token: str | None = None) -> Any:
    """Drive the TUI as a person would, from the start to the screen of stage ``until``.

    ``step``: re-run this one step (None: "Run all"). ``token``: typed on the token screen (it
    appears only when the chosen steps need it; None leaves it empty). Returns that stage's screen.
    """
    want = STAGES.index(until)
    screen = await asked(pilot, await on_screen(pilot, "PreflightScreen", "#continue:enabled"))
    if want == 0:
        return screen
    await pilot.press("enter")
    screen = await asked(pilot, await on_screen(pilot, "AnswersScreen", "#input-domain"))
    if want == 1:
        return screen
    await pilot.press("ctrl+s")
    steps = await asked(pilot, await on_screen(pilot, "StepsScreen", "DataTable"))
    if want == 2:
        return steps
    if step:
        steps.query_one(DataTable).move_cursor(row=list(NAMES).index(step))
        await pilot.press("enter")
    else:
        await pilot.press("a")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ in ("TokenScreen", "ReviewScreen", "LeaveOutDialog"))
    if type(pilot.app.screen).__name__ == "TokenScreen":
        screen = await asked(pilot, pilot.app.screen)
        if want == 3:
            return screen
        if token:
            screen.query_one("#input-token", Input).focus()
            await pilot.press(*token)
        await pilot.press("ctrl+s")
    elif want == 3:
        raise AssertionError("no token screen: the chosen steps do not need the token")
    review = await asked(pilot, await on_screen(pilot, "ReviewScreen"))
    if want == 4:
        return review
    await pilot.press("w")
    if want == 5:  # the write is quick: the screen may be gone by now; return the one that was shown
        commit = await wait_for(pilot, lambda: shown(pilot, "CommitScreen"), what="CommitScreen")
        await wait_for(pilot, lambda: commit.outcome, what="write outcome")
        return commit
    if want == 6:
        return await on_screen(pilot, "ReconcileScreen", "#tree")
    return await on_screen(pilot, "DoneScreen")


def shown(pilot: Pilot, name: str) -> Any:
    """The last stage screen called ``name`` the app showed (it may have been replaced since)."""
    return next((s for s in reversed(pilot.app.shown) if type(s).__name__ == name), None)


async def scripted_events() -> AsyncIterator[Event]:
    """The watch stage of one successful reconcile, as wizard.flux yields it."""
    chain = [
        ("GitRepository", "flux-system", "flux-system", "stored artifact for revision 'main@sha1:…'"),
        ("Kustomization", "flux-system", "traefik", "Applied revision: main@sha1:…"),
        ("HelmRelease", "traefik", "traefik", "Helm install succeeded"),
        ("DaemonSet", "traefik", "traefik", "1/1 ready"),
        ("ClusterIssuer", "", "letsencrypt-production", "The ACME account was registered"),
        ("Certificate", "podinfo", "podinfo-tls", "Certificate is up to date and has not expired"),
    ]
    for i, (kind, ns, name, msg) in enumerate(chain):
        yield ObjectState(kind, ns, name, "progressing", "reconciliation in progress", since=T0 + 10 * i)
        yield ObjectState(kind, ns, name, "ready", msg, since=T0 + 10 * i)
    yield Info("podinfo answers over HTTPS")
    yield Done(
        message="Flux reconciled the stage: 6 objects ready",
        url="https://podinfo.apps.k8s.example.com",
    )

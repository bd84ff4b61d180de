"""Pilot helpers: build the app on a fixture, wait for screens without sleeping blindly."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from textual.pilot import Pilot

from wizard.engine import Engine
from wizard.events import Done, Event, Info, ObjectState
from wizard.ui.app import WizardApp, make_app

FIXED_NOW = 1_800_000_100.0
T0 = 1_800_000_000.0


def build_app(env: Any, *, reconcile_source: Any = None, debug: bool = False) -> WizardApp:
    return make_app(
        Engine,
        repo=str(env.repo),
        answers_file=str(env.answers),
        debug=debug,
        reconcile_source=reconcile_source,
        clock=lambda: FIXED_NOW,
        blink=False,
        theme="edge-dark",
        repo_name="cluster",
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


async def scripted_events(_session: Any) -> AsyncIterator[Event]:
    """The engine's event stream for one successful reconcile, as wizard.flux yields it."""
    chain = [
        ("GitRepository", "flux-system", "flux-system", "stored artifact for revision 'main@sha1:…'"),
        ("Kustomization", "flux-system", "ingress-nginx", "Applied revision: main@sha1:…"),
        ("HelmRelease", "ingress-nginx", "ingress-nginx", "Helm install succeeded"),
        ("DaemonSet", "ingress-nginx", "ingress-nginx-controller", "1/1 ready"),
        ("ClusterIssuer", "", "letsencrypt-production", "The ACME account was registered"),
        ("Certificate", "podinfo", "podinfo-tls", "Certificate is up to date and has not expired"),
    ]
    for i, (kind, ns, name, msg) in enumerate(chain):
        yield ObjectState(kind, ns, name, "progressing", "reconciliation in progress", since=T0 + 10 * i)
        yield ObjectState(kind, ns, name, "ready", msg, since=T0 + 10 * i)
    yield Info("podinfo answers over HTTPS")
    yield Done(
        message="The edge is up: podinfo answers over HTTPS with a Let's Encrypt certificate.",
        url="https://podinfo.apps.k8s.example.com",
    )

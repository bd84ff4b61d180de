"""FluxWatcher: reconcile requests and ``follow`` (the loop itself is ``wizard.flux.follow.Run``) on
the run's one cluster connection; plus blocking wrappers for scripts and the bench (the front ends
go through :mod:`wizard.flow`). lightkube is imported lazily (``--help`` must stay instant).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from wizard.errors import UserError
from wizard.events import Done, Event, Info
from wizard.flux import status as st
from wizard.flux.follow import Run
from wizard.flux.kinds import resource
from wizard.flux.targets import Target, objects_for, smoke_url
from wizard.kube import error_code, transport_errors
from wizard.retry import Backoff

if TYPE_CHECKING:
    from wizard.kube import KubeConnector

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
HEARTBEAT = 30.0  # seconds between "still waiting for ..." lines


def parse_duration(text: str | float | int) -> float:
    """``90s``, ``20m``, ``1h30m``, ``45`` (seconds) -> seconds."""
    import re

    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", s)
    if not parts or "".join(n + u for n, u in parts) != s:
        raise UserError(f"--timeout {text!r} is not a duration. Use e.g. 90s, 20m or 1h.")
    mult = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * mult[u] for n, u in parts)


class FluxWatcher:
    """Follows Flux on the run's one :class:`wizard.kube.KubeConnector` (or one made from
    ``kubeconfig``/``context``). ``requests`` counts the API requests made, by verb (watch,
    list/get, patch, other) - the bench prints it."""

    needs_cluster = True

    def __init__(
        self,
        kube: KubeConnector | None = None,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        from wizard.kube import KubeConnector

        self.kube = kube if kube is not None else KubeConnector(kubeconfig, context)
        self.heartbeat = heartbeat
        self.requests: collections.Counter[str] = collections.Counter()
        self._counted: set[int] = set()

    # -- connection -----------------------------------------------------------------------
    def client(self) -> Any:
        """The connector's AsyncClient for the running loop, with request counting attached."""
        client = self.kube.async_client()
        if id(client) not in self._counted:
            self._counted = {id(client)}
            http = self.kube.http(client)

            async def count(request: Any) -> None:
                if request.url.params.get("watch") in ("true", "1"):
                    self.requests["watch"] += 1
                elif request.method == "GET":
                    self.requests["list/get"] += 1
                elif request.method == "PATCH":
                    self.requests["patch"] += 1
                else:
                    self.requests["other"] += 1

            http.event_hooks = {"request": [count], "response": []}
        return client

    async def aclose(self) -> None:
        await self.kube.aclose()

    # -- preflight --------------------------------------------------------------------------
    async def preflight(self) -> list[Event]:
        """The cluster serves the Flux GA APIs edge-wizard writes (UserError, exit 2, when not)."""
        from wizard.preflight import REQUIRED_APIS, flux_api_problem

        self.client()  # the connector's client, with this watcher's request counting attached
        discovery = await self.kube.discovery()
        problem = flux_api_problem(discovery, self.kube.where())
        if problem:
            raise UserError(problem)
        return [Info("Flux APIs served: " + ", ".join(f"{g}/{v}" for g, v in REQUIRED_APIS))]

    # -- following ------------------------------------------------------------------------
    async def follow(self, layout: Any, plan: Any | None, sha: str | None, *, timeout: float) -> AsyncIterator[Event]:
        """Request reconciles and follow the chain until everything is ready (then Done), a
        failure (StepFailed) or the timeout (WaitTimeout)."""
        url = smoke_url(layout, plan)
        async for event in self.follow_targets(objects_for(layout, plan), sha, timeout=timeout, url=url):
            yield event

    async def follow_targets(
        self, targets: list[Target], sha: str | None, *, timeout: float, url: str = ""
    ) -> AsyncIterator[Event]:
        """``follow`` for an explicit list of targets (the bench and tests use it directly)."""
        run = Run(self, targets, sha, timeout)
        async for event in run.events():
            yield event
        n = sum(1 for s in run.shown.values() if s.phase == st.READY)
        yield Done(
            message=f"Flux reconciled {'revision ' + sha[:10] if sha else 'the stage'}: "
            f"{n} object{'s' if n != 1 else ''} ready",
            url=url,
        )

    async def request_reconcile(self, kind: str, namespace: str, name: str, token: str) -> bool:
        """Set reconcile.fluxcd.io/requestedAt (merge patch). False if the object does not exist."""
        from lightkube.types import PatchType

        patch = {"metadata": {"annotations": {REQUESTED_AT: token}}}
        backoff = Backoff(first=0.5, cap=5.0, attempts=40)
        while True:
            try:
                await self.client().patch(resource(kind), name, patch, namespace=namespace, patch_type=PatchType.MERGE)
                return True
            except transport_errors():
                pass
            except Exception as exc:
                if error_code(exc) == 404:
                    return False
                if error_code(exc) not in (409, 429, 500, 503, 504):
                    raise
            if not await backoff.wait():
                return False


# ----------------------------------------------------------------------------------------------
def follow_sync(
    watcher: FluxWatcher,
    layout: Any,
    plan: Any | None,
    sha: str | None,
    *,
    timeout: float,
    on_event: Callable[[Event], None],
    preflight: bool = False,
) -> None:
    """Blocking wrapper for the CLI: (preflight and) follow, calling ``on_event`` for each event.
    Raises what ``follow`` raises (StepFailed, WaitTimeout, UserError)."""

    async def go() -> None:
        try:
            if preflight:
                for e in await watcher.preflight():
                    on_event(e)
            async for e in watcher.follow(layout, plan, sha, timeout=timeout):
                on_event(e)
        finally:
            await watcher.aclose()

    asyncio.run(go())


def preflight_sync(watcher: FluxWatcher) -> list[Event]:
    async def go() -> list[Event]:
        try:
            return await watcher.preflight()
        finally:
            await watcher.aclose()

    return asyncio.run(go())

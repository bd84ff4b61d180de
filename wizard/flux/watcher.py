"""FluxWatcher: the cluster connection (kubeconfig, --context), the preflight, reconcile requests,
and ``follow`` (the loop itself is ``wizard.flux.follow.Run``); plus the blocking wrappers the CLI
uses. lightkube's AsyncClient is imported lazily (slow to import; ``--help`` must stay instant).
"""

from __future__ import annotations

import asyncio
import collections
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from wizard.errors import UserError
from wizard.events import Done, Event, Info
from wizard.flux import status as st
from wizard.flux.follow import Run
from wizard.flux.kube import (
    HEARTBEAT,
    REQUESTED_AT,
    REQUIRED_APIS,
    check_served,
    error_code,
    resource,
    transport_errors,
)
from wizard.flux.targets import Target, objects_for, smoke_url


class FluxWatcher:
    """Talks to the cluster of ``kubeconfig``/``context`` (default: $KUBECONFIG or ~/.kube/config,
    its current context). ``requests`` counts the API requests made, by verb (watch, list/get,
    patch, other) - the bench prints it."""

    def __init__(
        self, *, kubeconfig: str | None = None, context: str | None = None, heartbeat: float = HEARTBEAT
    ) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.heartbeat = heartbeat
        self.requests: collections.Counter[str] = collections.Counter()
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = ""

    # -- connection -----------------------------------------------------------------------
    def _kubeconfig_path(self) -> Path:
        if self.kubeconfig:
            return Path(self.kubeconfig).expanduser()
        env = os.environ.get("KUBECONFIG")
        if env:
            for part in env.split(os.pathsep):
                if part and Path(part).expanduser().is_file():
                    return Path(part).expanduser()
            return Path(env.split(os.pathsep)[0]).expanduser()
        return Path("~/.kube/config").expanduser()

    def _config(self) -> Any:
        from lightkube import ConfigError, KubeConfig

        path = self._kubeconfig_path()
        if not path.is_file():
            raise UserError(
                f"No kubeconfig at {path}, so edge-wizard cannot reach the cluster to follow Flux. Point "
                "KUBECONFIG at your cluster's kubeconfig (talosctl kubeconfig writes one), or run with "
                "--no-watch and check later with `edge-wizard watch`."
            )
        try:
            kc = KubeConfig.from_file(path)
        except (ConfigError, ValueError, OSError) as exc:
            raise UserError(
                f"The kubeconfig {path} cannot be read ({exc}). Fix it or point KUBECONFIG elsewhere."
            ) from None
        try:
            cfg = kc.get(context_name=self.context)
        except ConfigError:
            cfg = None
        if cfg is None:
            known = ", ".join(sorted(kc.contexts)) or "none"
            raise UserError(
                f"The kubeconfig {path} has no context {self.context!r} (it has: {known}). Pass one of "
                "them with --context."
                if self.context
                else f"The kubeconfig {path} sets no current context (contexts: {known}). Pass --context NAME."
            )
        self._server = cfg.cluster.server
        return cfg

    def client(self) -> Any:
        """The AsyncClient of the running event loop (one per loop: asyncio.run() makes new loops)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import httpx2
            from lightkube import AsyncClient

            self._client = AsyncClient(config=self._config(), field_manager="edge-wizard", timeout=httpx2.Timeout(10.0))
            self._loop = loop
            http = self._http()

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
        return self._client

    def _http(self) -> Any:
        # lightkube.AsyncClient -> GenericAsyncClient -> httpx2.AsyncClient (auth + TLS configured)
        return self._client._client._client

    async def aclose(self) -> None:
        if self._client is not None:
            try:
                await self._client.close()
            finally:
                self._client = None
                self._loop = None

    # -- preflight --------------------------------------------------------------------------
    async def preflight(self) -> list[Event]:
        """Check that the cluster serves the Flux GA APIs edge-wizard writes (UserError, exit 2)."""
        self.client()
        where = f"{self._server}" + (f" (context {self.context})" if self.context else "")
        try:
            resp = await self._http().get("/apis", timeout=10.0)
        except transport_errors() as exc:
            raise UserError(
                f"Cannot reach the Kubernetes API at {where}: {exc or type(exc).__name__}. Check that the "
                "cluster is up and the kubeconfig context is the right one (kubectl get ns), or run with "
                "--no-watch."
            ) from None
        if resp.status_code in (401, 403):
            raise UserError(
                f"The Kubernetes API at {where} refused the kubeconfig's credentials "
                f"(HTTP {resp.status_code}). Refresh them (e.g. talosctl kubeconfig) and run again."
            )
        if resp.status_code != 200:
            raise UserError(f"The Kubernetes API at {where} answered HTTP {resp.status_code} for API discovery.")
        check_served(resp.json(), where)
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
        delay = 0.5
        for _ in range(40):
            try:
                await self.client().patch(resource(kind), name, patch, namespace=namespace, patch_type=PatchType.MERGE)
                return True
            except transport_errors():
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception as exc:
                if error_code(exc) == 404:
                    return False
                if error_code(exc) in (409, 429, 500, 503, 504):
                    await asyncio.sleep(delay)
                    continue
                raise
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

"""The follow loop: the streams (``wizard.flux.streams``) feed one inbox; each batch updates their
stores, the assessment (``wizard.flux.assess``, pure) gives every followed object's state, and the
loop yields ObjectState events on changes only, requests reconciles, and ends on success (all
ready), a failure (StepFailed) or the timeout (WaitTimeout), with a heartbeat of what it waits for.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import gc
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from wizard.errors import StepFailed, UserError, WaitTimeout
from wizard.events import Event, Info, ObjectState, Warning
from wizard.flux import status as st
from wizard.flux import streams
from wizard.flux.assess import Assessor, Key, synced
from wizard.flux.targets import Target

if TYPE_CHECKING:
    from wizard.flux.watcher import FluxWatcher

CONN_WARNING_EVERY = 15.0  # seconds: one warning about a lost connection per this long


def _token() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Run:
    def __init__(self, watcher: FluxWatcher, targets: list[Target], sha: str | None, timeout: float) -> None:
        self.w = watcher
        self.targets = targets
        self.timeout = timeout
        self.assessor = Assessor(targets, sha, _token())
        self.streams = streams.plan(targets)
        # what the streams saw, in order; the loop is woken through one future (no task or queue
        # hop between a watch event and its assessment)
        self.inbox: collections.deque[tuple[str, Any, Any]] = collections.deque()
        self._wake: asyncio.Future[None] | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.sources_requested = False
        self.kustomizations_requested = False
        self.conn_warned_at = 0.0

    @property
    def shown(self) -> dict[Key, ObjectState]:
        return self.assessor.shown

    def _pending(self, states: dict[Key, ObjectState]) -> list[tuple[str, str]]:
        return self.assessor.pending(self.streams, states)

    # -- the inbox -----------------------------------------------------------------------------------
    def _put(self, item: tuple[str, Any, Any]) -> None:
        self.inbox.append(item)
        w = self._wake
        if w is not None and not w.done():
            w.set_result(None)

    async def _next(self, until: float) -> list[tuple[str, Any, Any]]:
        """What arrived since the last call, waiting for something until loop time ``until``."""
        if not self.inbox:
            loop = asyncio.get_running_loop()
            self._wake = fut = loop.create_future()
            handle = loop.call_at(until, _wake_up, fut)
            try:
                await fut
            finally:
                handle.cancel()
                self._wake = None
        batch = list(self.inbox)
        self.inbox.clear()
        return batch

    def _apply(self, item: tuple[str, Any, Any]) -> list[Event]:
        """One message of a stream into its store; what to tell the user about it."""
        what, s, payload = item
        if what == "sync":
            s.store = {streams.key(o): o for o in payload}
            s.synced = s.served = True
        elif what in ("ADDED", "MODIFIED"):
            s.store[streams.key(payload)] = payload
        elif what == "DELETED":
            s.store.pop(streams.key(payload), None)
        elif what == "note":
            return [payload]
        elif what == "unserved":
            s.store, s.synced, s.served = {}, True, False
        elif what == "conn":
            now = time.monotonic()
            if now - self.conn_warned_at > CONN_WARNING_EVERY:
                self.conn_warned_at = now
                return [
                    Warning(
                        f"Lost the connection to the Kubernetes API ({payload or type(payload).__name__}); "
                        "resuming the watches from where they were."
                    )
                ]
        elif what == "fatal":
            raise UserError(
                f"The Kubernetes API refused to let this kubeconfig watch {s.kind} objects "
                f"({payload}). edge-wizard needs read access to Flux's objects, Deployments, "
                "DaemonSets and Events."
            )
        return []

    # -- requests --------------------------------------------------------------------------------
    def _request(self, t: Target) -> None:
        requested = self.assessor.requested
        if t.key in requested:
            return
        requested.add(t.key)

        async def go() -> None:
            try:
                ok = await self.w.request_reconcile(t.kind, t.namespace, t.name, self.assessor.token)
            except Exception as exc:
                requested.discard(t.key)
                text = f"Could not request a reconcile of {t.label()} ({exc}); waiting for Flux's own interval."
                self._put(("note", None, Warning(text)))
                return
            if not ok:
                requested.discard(t.key)  # it does not exist (yet): Flux reconciles new objects anyway

        self.tasks.append(asyncio.create_task(go()))

    def _exists(self, t: Target) -> bool:
        s = self.streams.get(t.kind)
        return s is not None and (t.namespace, t.name) in s.store

    def _maybe_request(self, states: dict[Key, ObjectState]) -> None:
        """Reconcile the sources first (once listed), the Kustomizations once the sources are ready."""
        gits = [t for t in self.targets if t.kind == "GitRepository" and t.reconcile]
        if not self.sources_requested and synced(self.streams, "GitRepository"):
            self.sources_requested = True
            for t in gits:
                if self._exists(t):
                    self._request(t)
        if not self.kustomizations_requested and all(
            (s := states.get(t.key)) is not None and s.phase == st.READY for t in gits
        ):
            self.kustomizations_requested = True
            for t in self.targets:
                if t.kind == "Kustomization" and t.reconcile and self._exists(t):
                    self._request(t)

    # -- the loop --------------------------------------------------------------------------------
    def _changes(self, states: dict[Key, ObjectState]) -> list[ObjectState]:
        """The states that differ from what was shown (now shown); StepFailed for a failure."""
        changed = []
        shown = self.assessor.shown
        for k, s in states.items():
            prev = shown.get(k)
            if prev is None or (prev.phase, prev.message) != (s.phase, s.message):
                shown[k] = s
                changed.append(s)
        return changed

    def _raise_failed(self, states: dict[Key, ObjectState]) -> None:
        failed = next((s for s in states.values() if s.phase == st.FAILED), None)
        if failed is not None:
            where = f"{failed.namespace}/" if failed.namespace else ""
            raise StepFailed(
                f"{failed.kind} {where}{failed.name} failed: {failed.message}", hint=st.hint_for(failed.message)
            )

    def _timed_out(self, states: dict[Key, ObjectState]) -> WaitTimeout:
        pending = self._pending(states)
        lines = "; ".join(f"{label}: {msg or 'no status yet'}" for label, msg in pending)
        return WaitTimeout(
            f"Timed out after {_human(self.timeout)} waiting for Flux. Not ready: {lines}. "
            "Flux keeps reconciling; follow it with `edge-wizard watch` (or flux get all -A)."
        )

    def _heartbeat(self, states: dict[Key, ObjectState]) -> Info | None:
        pending = self._pending(states)
        if not pending:
            return None
        return Info("still waiting for " + ", ".join(f"{label} ({msg})" if msg else label for label, msg in pending))

    def _start(self) -> None:
        client = self.w.client()  # the connector's client, with the watcher's request counting
        http = self.w.kube.http(client)
        self.tasks = [asyncio.create_task(streams.follow(s, http, self._put)) for s in self.streams.values()]

    def _check_tasks(self) -> None:
        for t in list(self.tasks):
            if t.done() and not t.cancelled() and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]

    async def events(self) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        next_beat = loop.time() + self.w.heartbeat
        self._start()
        # Everything alive now (modules, the repository's index, the front end) stays alive while
        # following: out of the collector's way, a full collection costs ~0.1 ms instead of ~10-20
        # ms, time that would otherwise land between a status write and its line. Given back after.
        gc.freeze()
        try:
            while True:
                for it in await self._next(min(deadline, next_beat)):
                    for note in self._apply(it):
                        yield note
                self._check_tasks()
                states = self.assessor.assess(self.streams)
                self._maybe_request(states)
                for s in self._changes(states):
                    yield s
                self._raise_failed(states)
                if self.assessor.done(self.streams, states):
                    return
                now = loop.time()
                if now >= deadline:
                    raise self._timed_out(states)
                if now >= next_beat:
                    next_beat = now + self.w.heartbeat
                    beat = self._heartbeat(states)
                    if beat is not None:
                        yield beat
        finally:
            gc.unfreeze()
            for t in self.tasks:
                t.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)


def _wake_up(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _human(seconds: float) -> str:
    seconds = int(seconds)
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"

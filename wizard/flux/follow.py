"""The follow loop: one list+watch per kind feeding one inbox; every change re-assesses the targets
(pure logic in ``wizard.flux.status``) and yields ObjectState events on state changes only.

Watches, not polling: each kind is listed once, then watched from the list's resourceVersion; a
dropped connection resumes from the last resourceVersion seen, a 410 Gone re-lists.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import gc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard.errors import StepFailed, UserError, WaitTimeout
from wizard.events import Event, Info, ObjectState, Warning
from wizard.flux import status as st
from wizard.flux.kube import INSTANCE_LABEL, KINDS, error_code, resource, transport_errors, watch_dicts
from wizard.flux.targets import WORKLOADS, Target
from wizard.retry import Backoff

if TYPE_CHECKING:
    from wizard.flux.watcher import FluxWatcher


@dataclass
class _Stream:
    """One list+watch of a kind (one namespace or all, optional label/field selector)."""

    kind: str
    namespace: str | None  # None: all namespaces (or cluster-scoped)
    labels: dict[str, Any] | None = None
    fields: dict[str, Any] | None = None
    store: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    synced: bool = False
    served: bool = True


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _scope(namespaces: set[str]) -> str | None:
    return next(iter(namespaces)) if len(namespaces) == 1 else None


def _token() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def instance_values(t: Target) -> tuple[str, ...]:
    """The ``app.kubernetes.io/instance`` values a chart gives the workloads of release ``t.release``:
    the release name (the common helper), or ``<release>-<namespace>`` (Traefik's chart)."""
    return (t.release, f"{t.release}-{t.namespace}"[:63].rstrip("-"))


class Run:
    def __init__(self, watcher: FluxWatcher, targets: list[Target], sha: str | None, timeout: float) -> None:
        self.w = watcher
        self.targets = targets
        self.by_key = {t.key: t for t in targets}
        self.sha = sha
        self.timeout = timeout
        self.token = _token()
        self.started = time.time()
        # what the streams saw, in order; the loop is woken through one future (no task or queue
        # hop between a watch event and its assessment)
        self.inbox: collections.deque[tuple[str, Any, Any]] = collections.deque()
        self._wake: asyncio.Future[None] | None = None
        self.streams: dict[str, _Stream] = {}
        self.shown: dict[tuple[str, str, str], ObjectState] = {}
        self.requested: set[tuple[str, str, str]] = set()
        self.tasks: list[asyncio.Task[Any]] = []
        self.sources_requested = False
        self.kustomizations_requested = False
        self.conn_warned_at = 0.0
        self.workload_count: dict[tuple[str, str, str], int] = {}
        self.reached: set[tuple[str, str, str]] = set()  # targets shown ready at least once
        self._verdicts: dict[tuple[str, str, str], tuple[Any, str | None, st.Verdict]] = {}
        self._plan_streams()

    # -- which watches -----------------------------------------------------------------------
    def _plan_streams(self) -> None:
        by_kind: dict[str, list[Target]] = collections.defaultdict(list)
        for t in self.targets:
            by_kind[t.kind].append(t)
        for kind in ("GitRepository", "Kustomization", "HelmRepository", "HelmRelease", "Certificate"):
            ts = by_kind.get(kind) or []
            if not ts:
                continue
            ns = _scope({t.namespace for t in ts})
            fields = {"metadata.name": ts[0].name} if len(ts) == 1 else None
            self.streams[kind] = _Stream(kind, ns, fields=fields)
        if by_kind.get("ClusterIssuer"):
            ts = by_kind["ClusterIssuer"]
            self.streams["ClusterIssuer"] = _Stream(
                "ClusterIssuer", None, fields={"metadata.name": ts[0].name} if len(ts) == 1 else None
            )
        if by_kind.get("Certificate"):
            ns = _scope({t.namespace for t in by_kind["Certificate"]})
            self.streams["Order"] = _Stream("Order", ns)
            self.streams["Challenge"] = _Stream("Challenge", ns)
        wl = by_kind.get(WORKLOADS) or []
        if wl:
            from lightkube.operators import in_

            ns = _scope({t.namespace for t in wl})
            releases = sorted({v for t in wl for v in instance_values(t)})
            labels = {INSTANCE_LABEL: in_(releases) if len(releases) > 1 else releases[0]}
            self.streams["Deployment"] = _Stream("Deployment", ns, labels=labels)
            self.streams["DaemonSet"] = _Stream("DaemonSet", ns, labels=labels)
            self.streams["Event"] = _Stream("Event", ns, fields={"type": "Warning"})

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

    async def _failed(self, s: _Stream, exc: BaseException, backoff: Backoff) -> str:
        """What to do after a list or watch of ``s`` failed: "retry" (after the backoff, and after a
        longer pause for a kind not served yet), "relist" (410 Gone) or "stop" (credentials refused)."""
        if isinstance(exc, transport_errors()):
            code = None
        else:
            code = error_code(exc)
        if code == 404:  # the kind is not served (yet): CRDs come with a chart
            self._put(("unserved", s, None))
            await asyncio.sleep(5.0)
            return "retry"
        if code == 410:
            return "relist"  # too old: list again
        if code in (401, 403):
            self._put(("fatal", s, exc))
            return "stop"
        self._put(("conn", s, exc))
        await backoff.wait()
        return "retry"

    async def _run_stream(self, s: _Stream) -> None:
        client = self.w.client()
        res = resource(s.kind)
        ns_kw: dict[str, Any] = {}
        if KINDS[s.kind][3]:
            ns_kw["namespace"] = s.namespace if s.namespace else "*"
        backoff = Backoff(first=0.5, cap=5.0)
        while True:
            # 1. list: the current state and the resourceVersion to watch from
            try:
                lst = client.list(res, labels=s.labels, fields=s.fields, **ns_kw)
                items = [o.to_dict() if hasattr(o, "to_dict") else dict(o) async for o in lst]
                rv = lst.resourceVersion
            except Exception as exc:
                if await self._failed(s, exc, backoff) == "stop":
                    return
                continue
            self._put(("sync", s, items))
            backoff.reset()
            # 2. watch from there; resume from the last resourceVersion, re-list on 410 Gone
            while True:
                try:
                    seen = False
                    async for etype, d in watch_dicts(
                        client, res, labels=s.labels, fields=s.fields, resource_version=rv, **ns_kw
                    ):
                        seen = True
                        rv = (d.get("metadata") or {}).get("resourceVersion") or rv
                        backoff.reset()
                        if etype in ("ADDED", "MODIFIED", "DELETED"):
                            self._put((etype, s, d))
                    if not seen:  # the server ended the watch without an event: again, but not at once
                        await backoff.wait()
                except Exception as exc:
                    what = await self._failed(s, exc, backoff)
                    if what == "stop":
                        return
                    if what == "relist":
                        break

    # -- state ---------------------------------------------------------------------------------
    def _obj(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        s = self.streams.get(kind)
        return s.store.get((namespace, name)) if s else None

    def _synced(self, kind: str) -> bool:
        s = self.streams.get(kind)
        return bool(s and s.synced)

    def _workloads(self, t: Target) -> list[tuple[str, dict[str, Any]]]:
        out = []
        hr_key = t.after[0] if t.after else ("HelmRelease", t.namespace, t.name)
        hr = self._obj("HelmRelease", hr_key[1], hr_key[2]) or {}
        inventory = {
            (e.get("id") or "") for e in ((hr.get("status") or {}).get("inventory") or {}).get("entries") or []
        }
        for kind in ("DaemonSet", "Deployment"):
            s = self.streams.get(kind)
            if not s:
                continue
            for (ns, name), obj in sorted(s.store.items()):
                labels = (obj.get("metadata") or {}).get("labels") or {}
                if ns != t.namespace:
                    continue
                if labels.get(INSTANCE_LABEL) in instance_values(t) or f"{ns}_{name}_apps_{kind}" in inventory:
                    out.append((kind, obj))
        return out

    def _workload_verdict(self, kind: str, obj: dict[str, Any]) -> st.Verdict:
        v = st.workload_verdict(kind, obj)
        if v.phase == st.READY:
            return v
        ns, name = _key(obj)
        ev_store = self.streams["Event"].store if "Event" in self.streams else {}
        newest: tuple[float, st.Verdict] | None = None
        for ev in ev_store.values():
            if not st.event_is_for(ev, kind, ns, name, (obj.get("metadata") or {}).get("uid")):
                continue
            ver = st.event_verdict(ev, since=self.started)
            if ver is None:
                continue
            t = st.event_time(ev) or 0.0
            if ver.phase == st.FAILED:
                return st.Verdict(st.FAILED, ver.message)
            if newest is None or t > newest[0]:
                newest = (t, ver)
        if newest is not None:
            return st.Verdict(v.phase, f"{v.message}; {newest[1].message}")
        return v

    def _certificate_verdict(self, t: Target, obj: dict[str, Any] | None) -> st.Verdict:
        order = None
        challenges: list[dict[str, Any]] = []
        if obj is not None and "Order" in self.streams:
            orders = [
                o
                for (ns, n), o in self.streams["Order"].store.items()
                if ns == t.namespace and n.startswith(t.name + "-")
            ]
            orders.sort(key=lambda o: str((o.get("metadata") or {}).get("creationTimestamp") or ""))
            if orders:
                order = orders[-1]
                oname = _key(order)[1]
                challenges = [
                    c
                    for (ns, n), c in self.streams.get("Challenge", _Stream("Challenge", None)).store.items()
                    if ns == t.namespace and n.startswith(oname + "-")
                ]
        return st.cert_manager_verdict("Certificate", obj, order, challenges)

    def _assess(self) -> dict[tuple[str, str, str], ObjectState]:
        """The state of every followed object now (workload placeholders expanded)."""
        raw: dict[tuple[str, str, str], st.Verdict] = {}
        expanded: dict[tuple[str, str, str], list[tuple[tuple[str, str, str], st.Verdict]]] = {}
        for t in self.targets:
            if t.gone:
                if self._synced(t.kind):
                    raw[t.key] = st.gone_verdict(t.kind, self._obj(t.kind, t.namespace, t.name))
            elif t.kind in st.FLUX_KINDS:
                if not self._synced(t.kind):
                    continue
                token = self.token if t.key in self.requested else None
                obj = self._obj(t.kind, t.namespace, t.name)
                # a pure function of the object: read again only when a watch event replaced it
                cached = self._verdicts.get(t.key)
                if cached is not None and cached[0] is obj and cached[1] == token:
                    raw[t.key] = cached[2]
                else:
                    raw[t.key] = st.flux_verdict(t.kind, obj, sha=self.sha, token=token)
                    self._verdicts[t.key] = (obj, token, raw[t.key])
                if t.kind == "GitRepository" and obj is None:
                    raw[t.key] = st.Verdict(
                        st.FAILED,
                        "not found in the cluster: is Flux bootstrapped from this "
                        "repository on this cluster (and this kubeconfig context)?",
                    )
            elif t.kind == WORKLOADS:
                if not (self._synced("DaemonSet") and self._synced("Deployment")):
                    continue
                items = [((k, _key(o)[0], _key(o)[1]), self._workload_verdict(k, o)) for k, o in self._workloads(t)]
                expanded[t.key] = items
                self.workload_count[t.key] = len(items)
                if not items:
                    raw[t.key] = st.Verdict(st.WAITING, "no Deployment or DaemonSet yet")
                elif any(v.phase == st.FAILED for _, v in items):
                    raw[t.key] = next(v for _, v in items if v.phase == st.FAILED)
                elif all(v.phase == st.READY for _, v in items):
                    raw[t.key] = st.Verdict(st.READY, "")
                else:
                    raw[t.key] = st.Verdict(st.PROGRESSING, "")
            elif t.kind == "ClusterIssuer":
                s = self.streams.get("ClusterIssuer")
                if not s or not s.synced:
                    continue
                raw[t.key] = (
                    st.cert_manager_verdict(t.kind, self._obj(t.kind, "", t.name))
                    if s.served
                    else st.Verdict(st.WAITING, "cert-manager's CRDs are not installed yet")
                )
            elif t.kind == "Certificate":
                s = self.streams.get("Certificate")
                if not s or not s.synced:
                    continue
                raw[t.key] = (
                    self._certificate_verdict(t, self._obj(t.kind, t.namespace, t.name))
                    if s.served
                    else st.Verdict(st.WAITING, "cert-manager's CRDs are not installed yet")
                )

        out: dict[tuple[str, str, str], ObjectState] = {}

        def gate(t: Target) -> Target | None:
            """The first target gating ``t`` that has not been ready yet. Targets come in chain
            order, so ``out`` already holds the gates' (gated) states. Sticky: a re-reconcile of
            a gate at the same revision does not send its dependents back to waiting."""
            for k in t.after:
                if k in self.by_key and k not in self.reached and not (k in out and out[k].phase == st.READY):
                    return self.by_key[k]
            return None

        now = time.time()
        for t in self.targets:
            if t.key not in raw:
                continue
            v = raw[t.key]
            blocker = gate(t)
            if t.kind == WORKLOADS:
                items = expanded.get(t.key) or []
                if not items:
                    continue  # nothing created (yet); the HelmRelease's own state says why
                for (kind, ns, name), wv in items:
                    if wv.phase == st.READY and blocker is not None:
                        wv = st.Verdict(st.WAITING, f"{wv.message}; waiting for {blocker.label()}")
                    out[(kind, ns, name)] = self._state(kind, ns, name, wv, now)
                continue
            if v.phase == st.READY and blocker is not None:
                v = st.Verdict(st.WAITING, f"waiting for {blocker.label()}")
            elif v.phase == st.FAILED and blocker is not None and t.kind in ("HelmRelease", "HelmRepository"):
                # a failure from before our revision reached it is history
                v = st.Verdict(st.WAITING, f"waiting for {blocker.label()} (last: {v.message})")
            out[t.key] = self._state(t.kind, t.namespace, t.name, v, now)
            if v.phase == st.READY:
                self.reached.add(t.key)
        return out

    def _state(self, kind: str, ns: str, name: str, v: st.Verdict, now: float) -> ObjectState:
        prev = self.shown.get((kind, ns, name))
        since = prev.since if prev is not None and prev.phase == v.phase else now
        return ObjectState(kind=kind, namespace=ns, name=name, phase=v.phase, message=v.message, since=since)

    def _pending(self, states: dict[tuple[str, str, str], ObjectState]) -> list[tuple[str, str]]:
        out = []
        for t in self.targets:
            if t.kind == WORKLOADS:
                why = self._workloads_waiting(t, states)
                if why:  # never an empty reason: say what is still missing
                    out.append((t.label(), why))
                continue
            s = states.get(t.key)
            if s is None:
                out.append((t.label(), "not seen yet"))
            elif s.phase != st.READY:
                out.append((t.label(), s.message))
        for key, s in states.items():
            if key not in self.by_key and s.phase != st.READY:
                out.append((f"{s.kind} {s.namespace}/{s.name}", s.message))
        return out

    def _workloads_waiting(self, t: Target, states: dict[tuple[str, str, str], ObjectState]) -> str | None:
        """Why a WORKLOADS target is not done yet (the same conditions as :meth:`_done`), or None."""
        if not (self._synced("DaemonSet") and self._synced("Deployment")):
            return "the Deployments and DaemonSets were not listed yet"
        hr = t.after[0] if t.after else None
        if not self.workload_count.get(t.key) and not (
            hr in self.by_key and (s := states.get(hr)) is not None and s.phase == st.READY
        ):
            return "no Deployment or DaemonSet of it seen yet"
        return None

    def _done(self, states: dict[tuple[str, str, str], ObjectState]) -> bool:
        for t in self.targets:
            if t.kind == WORKLOADS:
                # not listed yet: "no workloads" would only mean we have not looked
                if not (self._synced("DaemonSet") and self._synced("Deployment")):
                    return False
                # none created: fine once its HelmRelease is ready (a chart without workloads);
                # without a HelmRelease to vouch for it, wait for one to appear
                hr = t.after[0] if t.after else None
                if not self.workload_count.get(t.key) and not (
                    hr in self.by_key and (s := states.get(hr)) is not None and s.phase == st.READY
                ):
                    return False
                continue
            s = states.get(t.key)
            if s is None or s.phase != st.READY:
                return False
        return all(s.phase == st.READY for s in states.values())

    # -- requests --------------------------------------------------------------------------------
    def _request(self, t: Target) -> None:
        if t.key in self.requested:
            return
        self.requested.add(t.key)

        async def go() -> None:
            try:
                ok = await self.w.request_reconcile(t.kind, t.namespace, t.name, self.token)
            except Exception as exc:
                self.requested.discard(t.key)
                self._put(
                    (
                        "note",
                        None,
                        Warning(
                            f"Could not request a reconcile of {t.label()} ({exc}); waiting for Flux's own interval."
                        ),
                    )
                )
                return
            if not ok:
                self.requested.discard(t.key)  # it does not exist (yet): Flux reconciles new objects anyway

        self.tasks.append(asyncio.create_task(go()))

    def _maybe_request(self, states: dict[tuple[str, str, str], ObjectState]) -> None:
        gits = [t for t in self.targets if t.kind == "GitRepository" and t.reconcile]
        if not self.sources_requested and self._synced("GitRepository"):
            self.sources_requested = True
            for t in gits:
                if self._obj(t.kind, t.namespace, t.name) is not None:
                    self._request(t)
        if not self.kustomizations_requested and all(
            (s := states.get(t.key)) is not None and s.phase == st.READY for t in gits
        ):
            self.kustomizations_requested = True
            for t in self.targets:
                if t.kind == "Kustomization" and t.reconcile and self._obj(t.kind, t.namespace, t.name) is not None:
                    self._request(t)

    # -- the loop --------------------------------------------------------------------------------
    def _apply(self, item: tuple[str, Any, Any]) -> list[Event]:
        what, s, payload = item
        notes: list[Event] = []
        if what == "sync":
            s.store = {_key(o): o for o in payload}
            s.synced = s.served = True
        elif what in ("ADDED", "MODIFIED"):
            s.store[_key(payload)] = payload
        elif what == "DELETED":
            s.store.pop(_key(payload), None)
        elif what == "note":
            notes.append(payload)
        elif what == "unserved":
            s.store, s.synced, s.served = {}, True, False
        elif what == "conn":
            now = time.monotonic()
            if now - self.conn_warned_at > 15:
                self.conn_warned_at = now
                notes.append(
                    Warning(
                        f"Lost the connection to the Kubernetes API ({payload or type(payload).__name__}); "
                        "resuming the watches from where they were."
                    )
                )
        elif what == "fatal":
            raise UserError(
                f"The Kubernetes API refused to let this kubeconfig watch {s.kind} objects "
                f"({payload}). edge-wizard needs read access to Flux's objects, Deployments, "
                "DaemonSets and Events."
            )
        return notes

    async def events(self) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        next_beat = loop.time() + self.w.heartbeat
        self.tasks = [asyncio.create_task(self._run_stream(s)) for s in self.streams.values()]
        # Everything alive now (modules, the repository's index, the front end) stays alive while
        # following: out of the collector's way, a full collection costs ~0.1 ms instead of ~10-20
        # ms, time that would otherwise land between a status write and its line. Given back after.
        gc.freeze()
        try:
            while True:
                batch = await self._next(min(deadline, next_beat))
                for it in batch:
                    for note in self._apply(it):
                        yield note
                for t in list(self.tasks):
                    if t.done() and not t.cancelled() and t.exception() is not None:
                        raise t.exception()  # type: ignore[misc]
                states = self._assess()
                self._maybe_request(states)
                failed: ObjectState | None = None
                for key, s in states.items():
                    prev = self.shown.get(key)
                    if prev is None or (prev.phase, prev.message) != (s.phase, s.message):
                        self.shown[key] = s
                        yield s
                    if s.phase == st.FAILED and failed is None:
                        failed = s
                if failed is not None:
                    where = f"{failed.namespace}/" if failed.namespace else ""
                    raise StepFailed(
                        f"{failed.kind} {where}{failed.name} failed: {failed.message}", hint=st.hint_for(failed.message)
                    )
                if self._done(states):
                    return
                now = loop.time()
                if now >= deadline:
                    pending = self._pending(states)
                    lines = "; ".join(f"{label}: {msg or 'no status yet'}" for label, msg in pending)
                    raise WaitTimeout(
                        f"Timed out after {_human(self.timeout)} waiting for Flux. Not ready: {lines}. "
                        "Flux keeps reconciling; follow it with `edge-wizard watch` (or flux get all -A)."
                    )
                if now >= next_beat:
                    next_beat = now + self.w.heartbeat
                    pending = self._pending(states)
                    if pending:
                        yield Info(
                            "still waiting for "
                            + ", ".join(f"{label} ({msg})" if msg else label for label, msg in pending)
                        )
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

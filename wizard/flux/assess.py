"""The watch's assessment, pure: what the streams saw -> the state of every followed object.

No I/O: :class:`Assessor` reads the streams' stores (plain dicts) and returns ObjectStates. Each
target's verdict comes from its kind's entry in ``wizard.flux.kinds``; the workloads of a release
(its Deployments and DaemonSets, with the Warning events about them) are expanded here. A target is
gated on the targets in its ``after``: it counts as ready only once they have been.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from wizard.events import ObjectState
from wizard.flux import kinds
from wizard.flux import status as st
from wizard.flux.streams import Stream, key
from wizard.flux.targets import INSTANCE_LABEL, WORKLOADS, Target, instance_values

Key = tuple[str, str, str]
Streams = Mapping[str, Stream]
WORKLOAD_KINDS = ("DaemonSet", "Deployment")


class Assessor:
    def __init__(self, targets: list[Target], sha: str | None, token: str, started: float | None = None) -> None:
        self.targets = targets
        self.by_key = {t.key: t for t in targets}
        self.sha = sha
        self.token = token  # the requestedAt value of our reconcile requests
        self.started = time.time() if started is None else started
        self.requested: set[Key] = set()  # targets whose reconcile we requested
        self.reached: set[Key] = set()  # targets shown ready at least once (gates stay open)
        self.shown: dict[Key, ObjectState] = {}  # what the loop last showed (``since`` carries over)
        self.workload_count: dict[Key, int] = {}
        self._memo: dict[Key, tuple[Any, str | None, st.Verdict]] = {}

    # -- one target ---------------------------------------------------------------------------------
    def verdict(self, t: Target, streams: Streams) -> st.Verdict | None:
        """The target's own state, or None while its kind has not been listed yet."""
        s = streams.get(t.kind)
        if s is None or not s.synced:
            return None
        obj = s.store.get((t.namespace, t.name))
        if t.gone:
            return st.gone_verdict(t.kind, obj)
        k = kinds.KINDS[t.kind]
        if not s.served and k.installed_by:
            return k.unserved()
        assert k.verdict is not None
        token = self.token if t.key in self.requested else None
        if k.companions:
            related = {c: streams[c].store for c in k.companions if c in streams}
            return k.verdict(obj, st.Context(t.kind, t.namespace, t.name, self.sha, token, related))
        # a function of the object alone: read again only when a watch event replaced it
        memo = self._memo.get(t.key)
        if memo is not None and memo[0] is obj and memo[1] == token:
            return memo[2]
        v = k.verdict(obj, st.Context(t.kind, t.namespace, t.name, self.sha, token))
        self._memo[t.key] = (obj, token, v)
        return v

    def workloads(self, t: Target, streams: Streams) -> list[tuple[str, dict[str, Any]]]:
        """The Deployments and DaemonSets of release ``t`` (by instance label, or in its HelmRelease's
        inventory)."""
        hr_key = t.after[0] if t.after else ("HelmRelease", t.namespace, t.name)
        hr_stream = streams.get("HelmRelease")
        hr = (hr_stream.store.get((hr_key[1], hr_key[2])) if hr_stream else None) or {}
        entries = ((hr.get("status") or {}).get("inventory") or {}).get("entries") or []
        inventory = {e.get("id") or "" for e in entries}
        out = []
        for kind in WORKLOAD_KINDS:
            s = streams.get(kind)
            for (ns, name), obj in sorted(s.store.items()) if s else ():
                if ns != t.namespace:
                    continue
                labels = (obj.get("metadata") or {}).get("labels") or {}
                if labels.get(INSTANCE_LABEL) in instance_values(t) or f"{ns}_{name}_apps_{kind}" in inventory:
                    out.append((kind, obj))
        return out

    def workload_verdict(self, kind: str, obj: dict[str, Any], streams: Streams) -> st.Verdict:
        """A workload's rollout, with the newest Warning event about it (a PodSecurity rejection fails it)."""
        v = st.workload_verdict(kind, obj)
        if v.phase == st.READY:
            return v
        ns, name = key(obj)
        uid = (obj.get("metadata") or {}).get("uid")
        events = streams["Event"].store.values() if "Event" in streams else ()
        newest: tuple[float, st.Verdict] | None = None
        for ev in events:
            ver = st.event_verdict(ev, since=self.started) if st.event_is_for(ev, kind, ns, name, uid) else None
            if ver is None:
                continue
            if ver.phase == st.FAILED:
                return st.Verdict(st.FAILED, ver.message)
            t = st.event_time(ev) or 0.0
            if newest is None or t > newest[0]:
                newest = (t, ver)
        return st.Verdict(v.phase, f"{v.message}; {newest[1].message}") if newest else v

    def expand(self, t: Target, streams: Streams) -> list[tuple[Key, st.Verdict]]:
        """The state of each workload of release ``t`` (and how many there are, for :meth:`done`)."""
        items = [((k, *key(o)), self.workload_verdict(k, o, streams)) for k, o in self.workloads(t, streams)]
        self.workload_count[t.key] = len(items)
        return items

    # -- every target --------------------------------------------------------------------------------
    def assess(self, streams: Streams, now: float | None = None) -> dict[Key, ObjectState]:
        """The state of every followed object now (workload placeholders expanded, gates applied)."""
        now = time.time() if now is None else now
        out: dict[Key, ObjectState] = {}
        for t in self.targets:  # chain order: a target's gates are in ``out`` before it
            if t.kind == WORKLOADS:
                if synced(streams, *WORKLOAD_KINDS):
                    self._show_workloads(t, self.expand(t, streams), out, now)
                continue
            v = self.verdict(t, streams)
            if v is None:
                continue
            blocker = self.gate(t, out)
            if v.phase == st.READY and blocker is not None:
                v = st.Verdict(st.WAITING, f"waiting for {blocker.label()}")
            elif v.phase == st.FAILED and blocker is not None and _stale_while_gated(t.kind):
                # a failure from before our revision reached it is history
                v = st.Verdict(st.WAITING, f"waiting for {blocker.label()} (last: {v.message})")
            out[t.key] = self._state(t.key, v, now)
            if v.phase == st.READY:
                self.reached.add(t.key)
        return out

    def _show_workloads(
        self, t: Target, items: list[tuple[Key, st.Verdict]], out: dict[Key, ObjectState], now: float
    ) -> None:
        blocker = self.gate(t, out)
        for wkey, wv in items:  # none created (yet): the HelmRelease's own state says why
            if wv.phase == st.READY and blocker is not None:
                wv = st.Verdict(st.WAITING, f"{wv.message}; waiting for {blocker.label()}")
            out[wkey] = self._state(wkey, wv, now)

    def gate(self, t: Target, out: Mapping[Key, ObjectState]) -> Target | None:
        """The first target gating ``t`` that has not been ready yet. Sticky: a re-reconcile of a gate
        at the same revision does not send its dependents back to waiting."""
        for k in t.after:
            if k in self.by_key and k not in self.reached and not (k in out and out[k].phase == st.READY):
                return self.by_key[k]
        return None

    def _state(self, k: Key, v: st.Verdict, now: float) -> ObjectState:
        prev = self.shown.get(k)
        since = prev.since if prev is not None and prev.phase == v.phase else now
        return ObjectState(kind=k[0], namespace=k[1], name=k[2], phase=v.phase, message=v.message, since=since)

    # -- done, or what is missing ----------------------------------------------------------------------
    def workloads_waiting(self, t: Target, streams: Streams, states: Mapping[Key, ObjectState]) -> str | None:
        """Why a workloads target is not done yet, or None. Not listed yet: "no workloads" would only
        mean we have not looked; none created is fine once its HelmRelease is ready (a chart without
        workloads); without a HelmRelease to vouch for it, wait for one to appear."""
        if not synced(streams, *WORKLOAD_KINDS):
            return "the Deployments and DaemonSets were not listed yet"
        hr = t.after[0] if t.after else None
        if not self.workload_count.get(t.key) and not (
            hr in self.by_key and (s := states.get(hr)) is not None and s.phase == st.READY
        ):
            return "no Deployment or DaemonSet of it seen yet"
        return None

    def pending(self, streams: Streams, states: Mapping[Key, ObjectState]) -> list[tuple[str, str]]:
        """(label, why) of everything not ready yet; never an empty reason."""
        out = []
        for t in self.targets:
            if t.kind == WORKLOADS:
                why = self.workloads_waiting(t, streams, states)
                if why:
                    out.append((t.label(), why))
                continue
            s = states.get(t.key)
            if s is None:
                out.append((t.label(), "not seen yet"))
            elif s.phase != st.READY:
                out.append((t.label(), s.message))
        for k, s in states.items():
            if k not in self.by_key and s.phase != st.READY:
                out.append((f"{s.kind} {s.namespace}/{s.name}", s.message))
        return out

    def done(self, streams: Streams, states: Mapping[Key, ObjectState]) -> bool:
        for t in self.targets:
            if t.kind == WORKLOADS:
                if self.workloads_waiting(t, streams, states) is not None:
                    return False
            elif (s := states.get(t.key)) is None or s.phase != st.READY:
                return False
        return all(s.phase == st.READY for s in states.values())


def synced(streams: Streams, *kinds_: str) -> bool:
    return all((s := streams.get(k)) is not None and s.synced for k in kinds_)


def _stale_while_gated(kind: str) -> bool:
    k = kinds.KINDS.get(kind)
    return k is not None and k.stale_while_gated

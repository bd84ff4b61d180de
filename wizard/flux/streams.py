"""The watch's I/O: one list+watch per kind, each feeding the loop's inbox (``wizard.flux.follow``).

Watches, not polling: each kind is listed once (its URL from ``wizard.flux.kinds``), then watched
from the list's resourceVersion; a dropped connection resumes from the last resourceVersion seen,
a 410 Gone lists again, a kind the cluster does not serve yet (CRDs come with a chart) is listed
again every few seconds, refused credentials stop the stream. Objects arrive as plain dicts,
decoded once (``wizard.kube.list_dicts`` / ``watch_dicts``).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wizard.flux import kinds
from wizard.flux.targets import INSTANCE_LABEL, WORKLOADS, Target, instance_values
from wizard.kube import error_code, list_dicts, transport_errors, watch_dicts
from wizard.retry import Backoff

UNSERVED_PAUSE = 5.0  # seconds between lists of a kind the cluster does not serve yet


@dataclass
class Stream:
    """One list+watch of a kind (one namespace or all, optional label/field selector) and what it saw."""

    kind: str
    namespace: str | None  # None: all namespaces (or cluster-scoped)
    labels: dict[str, str | Sequence[str]] | None = None
    fields: dict[str, str] | None = None
    store: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    synced: bool = False  # listed at least once (or known not to be served)
    served: bool = True


# what a stream tells the loop: ("sync", stream, items) | ("ADDED"|"MODIFIED"|"DELETED", stream, object)
# | ("unserved", stream, None) | ("conn", stream, error) | ("fatal", stream, error)
Put = Callable[[tuple[str, Any, Any]], None]


def key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _scope(namespaces: set[str]) -> str | None:
    return next(iter(namespaces)) if len(namespaces) == 1 else None


def _add(streams: dict[str, Stream], s: Stream) -> None:
    """Add ``s``; a second stream of the same kind widens the first to what both need."""
    had = streams.get(s.kind)
    if had is None:
        streams[s.kind] = s
        return
    streams[s.kind] = Stream(
        s.kind,
        had.namespace if had.namespace == s.namespace else None,
        labels=had.labels if had.labels == s.labels else None,
        fields=had.fields if had.fields == s.fields else None,
    )


def plan(targets: Iterable[Target]) -> dict[str, Stream]:
    """The streams that show every target: per followed kind one stream (its targets' namespace, or
    all; by name for a single target) and its companions'; for workloads, the Deployments and
    DaemonSets of the releases and the Warning events of their namespace."""
    by_kind: dict[str, list[Target]] = collections.defaultdict(list)
    for t in targets:
        by_kind[t.kind].append(t)
    streams: dict[str, Stream] = {}
    for kind, ts in by_kind.items():
        k = kinds.KINDS.get(kind)
        if k is None or k.verdict is None:
            continue
        ns = _scope({t.namespace for t in ts}) if k.namespaced else None
        _add(streams, Stream(kind, ns, fields={"metadata.name": ts[0].name} if len(ts) == 1 else None))
        for companion in k.companions:
            _add(streams, Stream(companion, ns))
    workloads = by_kind.get(WORKLOADS) or []
    if workloads:
        ns = _scope({t.namespace for t in workloads})
        releases = sorted({v for t in workloads for v in instance_values(t)})
        labels: dict[str, str | Sequence[str]] = {INSTANCE_LABEL: releases if len(releases) > 1 else releases[0]}
        _add(streams, Stream("Deployment", ns, labels=labels))
        _add(streams, Stream("DaemonSet", ns, labels=labels))
        _add(streams, Stream("Event", ns, fields={"type": "Warning"}))
    return streams


async def follow(s: Stream, http: Any, put: Put) -> None:
    """List and watch ``s`` through the httpx2 client ``http`` until cancelled (or refused)."""
    path = kinds.KINDS[s.kind].path(s.namespace)
    backoff = Backoff(first=0.5, cap=5.0)
    while True:
        try:
            items, rv = await list_dicts(http, path, labels=s.labels, fields=s.fields)
        except Exception as exc:
            if await _failed(s, exc, backoff, put) == "stop":
                return
            continue
        put(("sync", s, items))
        backoff.reset()
        if await _watch(s, http, path, rv, backoff, put) == "stop":
            return


async def _watch(s: Stream, http: Any, path: str, rv: str, backoff: Backoff, put: Put) -> str:
    """Watch from ``rv``, resuming from the last resourceVersion seen: "relist" or "stop"."""
    while True:
        try:
            seen = False
            async for etype, obj in watch_dicts(http, path, labels=s.labels, fields=s.fields, resource_version=rv):
                seen = True
                rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                backoff.reset()
                if etype in ("ADDED", "MODIFIED", "DELETED"):
                    put((etype, s, obj))
            if not seen:  # the server ended the watch without an event: again, but not at once
                await backoff.wait()
        except Exception as exc:
            what = await _failed(s, exc, backoff, put)
            if what != "retry":
                return what


async def _failed(s: Stream, exc: BaseException, backoff: Backoff, put: Put) -> str:
    """What to do after a list or watch of ``s`` failed: "retry" (after the backoff, and after a
    longer pause for a kind not served yet), "relist" (410 Gone) or "stop" (credentials refused)."""
    code = None if isinstance(exc, transport_errors()) else error_code(exc)
    if code == 404:  # the kind is not served (yet): CRDs come with a chart
        put(("unserved", s, None))
        await asyncio.sleep(UNSERVED_PAUSE)
        return "retry"
    if code == 410:
        return "relist"  # too old: list again
    if code in (401, 403):
        put(("fatal", s, exc))
        return "stop"
    put(("conn", s, exc))
    await backoff.wait()
    return "retry"

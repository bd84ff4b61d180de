"""``edge-wizard doctor``: the registry of known pitfalls, checked in the repository and the cluster.

Each check is a function registered with :func:`check` under a stable id. Repository checks read
files only (they work offline); cluster checks read a snapshot of the cluster taken with
lightkube's AsyncClient (read-only: list/get, never a write). Every finding says what was seen
(the exact object and message), why it matters and the fix, and names the ``edge-wizard run STEP``
that applies the fix when the wizard can.

    findings = await diagnose_async(layout, kube=kube)   # repo + cluster (when reachable)
    findings = run_repo_checks(layout)                    # offline
    findings = await run_cluster_checks(kube, layout=layout)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  # error | warning | info
    seen: str  # what was seen, naming the exact file/object and message
    why: str  # why it matters
    fix: str  # what to do
    step: str | None = None  # the `edge-wizard run STEP` that applies the fix, if any
    path: str | None = None  # repo-relative file, for repository findings
    object: str | None = None  # Kind/namespace/name, for cluster findings

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")

    @property
    def command(self) -> str | None:
        return f"edge-wizard run {self.step}" if self.step else None

    def to_event(self) -> Any:
        from wizard.events import Finding as FindingEvent

        return FindingEvent(
            id=self.id,
            severity=self.severity,
            seen=self.seen,
            why=self.why,
            fix=self.fix,
            path=self.path,
            object=self.object,
            command=self.command,
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.to_event().to_json())


@dataclass(frozen=True)
class Check:
    id: str
    scope: str  # repo | cluster
    func: Callable[[Any], Iterable[Finding]]
    doc: str


REGISTRY: dict[str, Check] = {}


def check(
    check_id: str, *, scope: str
) -> Callable[[Callable[[Any], Iterable[Finding]]], Callable[[Any], Iterable[Finding]]]:
    """Register ``func(ctx) -> Iterable[Finding]`` as the check ``check_id`` (scope repo|cluster)."""
    if scope not in ("repo", "cluster"):
        raise ValueError(f"scope must be repo or cluster, not {scope!r}")

    def deco(func: Callable[[Any], Iterable[Finding]]) -> Callable[[Any], Iterable[Finding]]:
        if check_id in REGISTRY and REGISTRY[check_id].func is not func:
            raise ValueError(f"check id {check_id!r} registered twice")
        REGISTRY[check_id] = Check(check_id, scope, func, (func.__doc__ or "").strip().split("\n")[0])
        return func

    return deco


def checks(scope: str | None = None) -> list[Check]:
    _load()
    return [c for c in REGISTRY.values() if scope is None or c.scope == scope]


def _load() -> None:
    from wizard.doctor import cluster_checks, repo_checks  # noqa: F401 - registers the checks


def _run(scope: str, ctx: Any) -> list[Finding]:
    out: list[Finding] = []
    seen: set[tuple[Any, ...]] = set()
    for c in checks(scope):
        try:
            found = list(c.func(ctx))
        except Exception as exc:
            found = [
                Finding(
                    id="doctor-check-crashed",
                    severity="warning",
                    seen=f"The check {c.id} stopped with {type(exc).__name__}: {exc}",
                    why="Its pitfall was not checked, so doctor may miss a problem.",
                    fix="Report this as an edge-wizard bug (run with --debug for the traceback).",
                )
            ]
        for f in found:
            key = (f.id, f.path, f.object, f.seen)
            if key not in seen:
                seen.add(key)
                out.append(f)
    return sort_findings(out)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (order[f.severity], f.id, f.path or "", f.object or ""))


def run_repo_checks(layout: Any) -> list[Finding]:
    """All repository checks (offline) on a discovered :class:`wizard.repo.Layout`."""
    from wizard.doctor.repo_checks import RepoContext

    return _run("repo", RepoContext.build(layout))


async def run_cluster_checks(kube: Any, *, layout: Any = None) -> list[Finding]:
    """All cluster checks through the connector. Raises :class:`ClusterUnreachable` when no API server answers."""
    from wizard.doctor.cluster_checks import take_snapshot

    snap = await take_snapshot(kube, layout=layout)
    return _run("cluster", snap)


class ClusterUnreachable(Exception):
    """No kubeconfig, or the API server did not answer."""


def _run_coro(coro: Any) -> Any:
    """asyncio.run, also from inside a running event loop (then in a worker thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=worker, name="edge-wizard-doctor")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def skipped_finding(reason: str) -> Finding:
    return Finding(
        id="cluster-skipped",
        severity="info",
        seen=f"Cluster checks were skipped: {reason}",
        why="Only the repository was checked; problems that show up only in the cluster (PodSecurity "
        "rejections, failed Flux reconciliations, certificates) were not looked for.",
        fix="Run edge-wizard doctor where kubectl works against the cluster, or pass --context NAME "
        "(and KUBECONFIG) to pick it.",
    )


async def diagnose_async(layout: Any, *, kube: Any = None, cluster: bool = True) -> list[Finding]:
    """Repository checks, then cluster checks through ``kube`` when a cluster answers (else one info finding)."""
    findings = run_repo_checks(layout) if layout is not None else []
    if cluster:
        if kube is None:
            findings.append(skipped_finding("no kubeconfig was found ($KUBECONFIG, ~/.kube/config)"))
        else:
            try:
                findings += await run_cluster_checks(kube, layout=layout)
            except ClusterUnreachable as exc:
                findings.append(skipped_finding(str(exc)))
    return sort_findings(findings)


def diagnose(
    layout: Any,
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    cluster: bool = True,
    timeout: float = 10.0,
) -> list[Finding]:
    """:func:`diagnose_async` for scripts and tests (front ends go through wizard.flow.doctor_flow)."""
    from wizard.kube import KubeConnector

    async def go() -> list[Finding]:
        kube = KubeConnector(kubeconfig, context, timeout=timeout) if cluster else None
        try:
            return await diagnose_async(layout, kube=kube, cluster=cluster)
        finally:
            if kube is not None:
                await kube.aclose()

    found: list[Finding] = _run_coro(go())
    return found


# -- rendering ----------------------------------------------------------------------------------
MARK = {"error": "✗", "warning": "⚠", "info": "•"}


def render_text(f: Finding) -> str:
    where = f.path or f.object
    head = f"{MARK[f.severity]} [{f.id}] " + (f"{where}: " if where else "") + f.seen
    lines = [head, f"    why: {f.why}", f"    fix: {f.fix}"]
    if f.command:
        lines.append(f"    run: {f.command}")
    return "\n".join(lines)


def summary(findings: list[Finding]) -> str:
    n = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    if not n["error"] and not n["warning"]:
        return "✔ doctor: no problems found" + (f" ({n['info']} note(s))" if n["info"] else "")
    return f"doctor: {n['error']} error(s), {n['warning']} warning(s), {n['info']} note(s)"


def exit_code(findings: Iterable[Finding]) -> int:
    return 1 if any(f.severity == "error" for f in findings) else 0


__all__ = [
    "REGISTRY",
    "Check",
    "ClusterUnreachable",
    "Finding",
    "check",
    "checks",
    "diagnose",
    "diagnose_async",
    "exit_code",
    "render_text",
    "run_cluster_checks",
    "run_repo_checks",
    "skipped_finding",
    "summary",
]

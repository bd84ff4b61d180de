"""The other commands, each one flow of events ending Done or Failed: ``steps``, ``plan``,
``watch``, ``doctor`` (read-only: nothing is asked, nothing is confirmed) and ``verify``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from wizard import events as ev
from wizard import preflight
from wizard.errors import UserError
from wizard.flow import stages
from wizard.flow.contract import Options, ReadOnlyDecisions, Review
from wizard.flow.lockstep import in_thread
from wizard.flow.prove import proof_target, prove_target, proven_text
from wizard.flow.run import events_of
from wizard.flow.services import Services
from wizard.flow.session import Run, Session

if TYPE_CHECKING:
    from wizard.repo import Layout


def steps_flow(services: Services, options: Options) -> AsyncIterator[ev.Event]:
    """``edge-wizard steps``: the step table."""
    return events_of(_steps, services, ReadOnlyDecisions(), options)


async def _steps(run: Run) -> ev.Done:
    layout, answers = await in_thread(run.engine.load)
    found = await in_thread(stages.rows, layout, answers, run.options.unavailable)
    for row in found:
        await run.emit(row)
    counts: dict[str, int] = {}
    for r in found:
        counts[r.state] = counts.get(r.state, 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in counts.items())
    return ev.Done(f"{len(found)} steps: {summary}", outcome="nothing-to-do")


def plan_flow(services: Services, options: Options) -> AsyncIterator[ev.Event]:
    """``edge-wizard plan``: the diff of what ``run`` would write (no token: secrets as they are)."""
    return events_of(_plan, services, ReadOnlyDecisions(), options)


async def _plan(run: Run) -> ev.Done:
    await in_thread(run.engine.load)
    plan = await in_thread(run.engine.plan, list(run.options.steps) or None, skip=run.options.skip)
    for e in Review(tuple(s.step for s in plan.steps), plan, ()).events():
        await run.emit(e)
    if not plan.pending:
        return ev.Done("Nothing to change: the repository is up to date.", outcome="nothing-to-do")
    n = len(plan.pending)
    return ev.Done(f"{n} file{'s' if n != 1 else ''} would change.", outcome="written")


def watch_flow(services: Services, options: Options, sha: str | None = None) -> AsyncIterator[ev.Event]:
    """``edge-wizard watch``: follow the stage at ``sha`` (default: the current HEAD; no push), the
    diagnosis on failure."""

    async def watch(run: Run) -> ev.Done:
        from wizard.kube import KubeConnector

        layout, answers = await in_thread(run.engine.load)
        run.kube = KubeConnector(options.kubeconfig, options.context)
        checks, cluster, _reachable = await services.cluster_checks(run.kube, options)
        for c in checks:
            if c.status != preflight.OK:
                await run.emit(c)
        blocking = [c for c in checks if c.status == preflight.FAIL]
        if cluster is None or blocking:
            c = blocking[0] if blocking else checks[0]
            raise UserError(c.detail + (f" {c.fix}" if c.fix and blocking else ""))
        head = sha if sha else await in_thread(_head_sha, layout)
        reached = await stages.watch(run, Session(layout, answers), services.watcher(run.kube), head)
        message, url = (reached.message, reached.url) if reached else ("", "")
        return ev.Done(message or f"Flux reconciled {head[:10]}.", url=url, sha=head)

    return events_of(watch, services, ReadOnlyDecisions(), options)


def doctor_flow(services: Services, options: Options, *, offline: bool = False) -> AsyncIterator[ev.Event]:
    """``edge-wizard doctor``: every known pitfall in the repository (and the cluster), with its fix.
    Ends Done when no finding is an error, else Failed (exit 1)."""

    async def doctor(run: Run) -> ev.Done | ev.Failed:
        from wizard.kube import KubeConnector

        layout = await in_thread(_doctor_layout, run)
        kube = None if offline else KubeConnector(options.kubeconfig, options.context)
        try:
            findings = await services.doctor(layout, kube, not offline)
        finally:
            if kube is not None:
                await kube.aclose()
        for f in findings:
            await run.emit(f)
        n = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
        if not n["error"] and not n["warning"]:
            notes = f" ({n['info']} note(s))" if n["info"] else ""
            return ev.Done("doctor: no problems found" + notes, outcome="nothing-to-do")
        counts = f"{n['error']} error(s), {n['warning']} warning(s), {n['info']} note(s)"
        if not n["error"]:
            return ev.Done(f"doctor: {counts}", outcome="nothing-to-do")
        return ev.Failed(f"doctor: {counts}", 1)

    return events_of(doctor, services, ReadOnlyDecisions(), options)


def verify_flow(services: Services, options: Options) -> AsyncIterator[ev.Event]:
    """``edge-wizard verify``: prove the edge now (DNS, port 80, the certificate, HTTPS 200). Done
    (outcome ``proven``) when every check passed; Failed 1 (a check failed), 2 (bad input) or 3."""
    return events_of(_verify, services, ReadOnlyDecisions(), options)


async def _verify(run: Run) -> ev.Done:
    from wizard.kube import KubeConnector
    from wizard.prove import ProveOptions

    o = run.options
    kube = None
    try:
        popts = o.proof or ProveOptions(cluster=o.cluster)
        target = await in_thread(proof_target, run.services, o, None)
        await run.emit(ev.Stage("prove"))
        if popts.cluster:
            kube = KubeConnector(o.kubeconfig, o.context)
        await prove_target(run, target, popts, kube)
        return ev.Done(f"The edge is proven: {proven_text(target)}", url=f"https://{target.host}/", outcome="proven")
    finally:
        if kube is not None:
            await kube.aclose()


def _doctor_layout(run: Run) -> Layout:
    """The layout doctor checks: with the state file's paths when it is valid, else discovered as is."""
    from wizard import repo as repo_mod

    try:
        layout, _ = run.engine.load()
        return layout
    except UserError:
        return repo_mod.discover(repo_mod.find_root(run.options.repo), None, None)


def _head_sha(layout: Layout) -> str:
    import git  # GitPython

    try:
        return str(git.Repo(layout.root).head.commit.hexsha)
    except ValueError:
        raise UserError(f"{layout.root} has no commits yet, so there is nothing for Flux to reconcile.") from None

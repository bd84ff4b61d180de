"""The read-only commands (steps, plan, watch, doctor) and verify, each one flow of events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from wizard import events as ev
from wizard import preflight
from wizard.errors import UserError, WizardError
from wizard.flow.contract import Options, ReadOnlyDecisions, Review
from wizard.flow.lockstep import in_thread as _in_thread
from wizard.flow.prove import _prove, _proven_text, proof_target
from wizard.flow.services import Services
from wizard.flow.session import Session
from wizard.flow.stages import _plan_events, _Run

if TYPE_CHECKING:
    from wizard.repo import Layout


# -- the read-only flows (steps, plan, watch) -----------------------------------------------------------
async def steps_flow(services: Services, options: Options) -> AsyncIterator[ev.Event]:
    """``edge-wizard steps``: the step table."""
    run = _Run(services, ReadOnlyDecisions(), options)
    try:
        run.session = Session(*await _in_thread(run.engine.load))
        async for e in run.steps_table():
            if not isinstance(e, ev.Stage):
                yield e
        counts: dict[str, int] = {}
        for r in run.rows:
            counts[r.state] = counts.get(r.state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in counts.items())
        yield ev.Done(f"{len(run.rows)} steps: {summary}", outcome="nothing-to-do")
    except WizardError as exc:
        yield ev.Failed(str(exc), exc.exit_code)


async def plan_flow(services: Services, options: Options) -> AsyncIterator[ev.Event]:
    """``edge-wizard plan``: the diff of what ``run`` would write (no token: secrets as they are)."""
    run = _Run(services, ReadOnlyDecisions(), options)
    try:
        engine = run.engine
        await _in_thread(engine.load)
        names = list(options.steps) or None
        plan = await _in_thread(engine.plan, names)
        review = Review(tuple(s.step for s in plan.steps), plan, ())
        for e in _plan_events(review):
            yield e
        if not plan.pending:
            yield ev.Done("Nothing to change: the repository is up to date.", outcome="nothing-to-do")
        else:
            n = len(plan.pending)
            yield ev.Done(f"{n} file{'s' if n != 1 else ''} would change.", outcome="written")
    except WizardError as exc:
        yield ev.Failed(str(exc), exc.exit_code)


async def watch_flow(services: Services, options: Options, sha: str | None = None) -> AsyncIterator[ev.Event]:
    """``edge-wizard watch``: follow the stage at the current HEAD (no push), diagnosis on failure."""
    from wizard.kube import KubeConnector

    run = _Run(services, ReadOnlyDecisions(), options)
    try:
        engine = run.engine
        layout, answers = await _in_thread(engine.load)
        run.session = Session(layout, answers)
        run.kube = KubeConnector(options.kubeconfig, options.context)
        checks, cluster, _reachable = await services.cluster_checks(run.kube, options)
        for c in checks:
            if c.status != preflight.OK:
                yield c
        blocking = [c for c in checks if c.status == preflight.FAIL]
        if cluster is None or blocking:
            c = blocking[0] if blocking else checks[0]
            raise UserError(c.detail + (f" {c.fix}" if c.fix and blocking else ""))
        head = sha if sha else await _in_thread(_head_sha, layout)
        async for e in run.watch(services.watcher(run.kube), head):
            yield e
        yield ev.Done(run.done_message or f"Flux reconciled {head[:10]}.", url=run.done_url, sha=head)
    except WizardError as exc:
        yield ev.Failed(str(exc), exc.exit_code)


async def doctor_flow(services: Services, options: Options, *, offline: bool = False) -> AsyncIterator[ev.Event]:
    """``edge-wizard doctor``: every known pitfall in the repository (and the cluster), with its fix.
    Ends Done when no finding is an error, else Failed (exit 1)."""
    from wizard.kube import KubeConnector

    try:
        layout = await _in_thread(_doctor_layout, services, options)
        kube = None if offline else KubeConnector(options.kubeconfig, options.context)
        try:
            findings = await services.doctor(layout, kube, not offline)
        finally:
            if kube is not None:
                await kube.aclose()
        for f in findings:
            yield f
        n = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
        if not n["error"] and not n["warning"]:
            yield ev.Done(
                "doctor: no problems found" + (f" ({n['info']} note(s))" if n["info"] else ""), outcome="nothing-to-do"
            )
        elif not n["error"]:
            yield ev.Done(
                f"doctor: 0 error(s), {n['warning']} warning(s), {n['info']} note(s)", outcome="nothing-to-do"
            )
        else:
            yield ev.Failed(f"doctor: {n['error']} error(s), {n['warning']} warning(s), {n['info']} note(s)", 1)
    except WizardError as exc:
        yield ev.Failed(str(exc), exc.exit_code)


async def verify_flow(services: Services, options: Options) -> AsyncIterator[ev.Event]:
    """``edge-wizard verify``: prove the edge now (DNS, port 80, the certificate, HTTPS 200). Done
    (outcome ``proven``) when every check passed; Failed 1 (a check failed), 2 (bad input) or 3."""
    from wizard.kube import KubeConnector
    from wizard.prove import ProveOptions

    kube = None
    try:
        popts = options.proof or ProveOptions(cluster=options.cluster)
        target = await _in_thread(proof_target, services, options, None)
        yield ev.Stage("prove")
        if popts.cluster:
            kube = KubeConnector(options.kubeconfig, options.context)
        async for e in _prove(services, target, popts, kube):
            yield e
        yield ev.Done(f"The edge is proven: {_proven_text(target)}", url=f"https://{target.host}/", outcome="proven")
    except WizardError as exc:
        yield ev.Failed(str(exc), exc.exit_code)
    finally:
        if kube is not None:
            await kube.aclose()


def _doctor_layout(services: Services, options: Options) -> Layout:
    """The layout doctor checks: with the state file's paths when it is valid, else discovered as is."""
    from wizard import repo as repo_mod

    engine = services.engine(repo=options.repo, answers_file=options.answers_file, overrides=dict(options.overrides))
    try:
        layout, _ = engine.load()
        return layout
    except UserError:
        return repo_mod.discover(repo_mod.find_root(options.repo), None, None)


def _head_sha(layout: Layout) -> str:
    import git  # GitPython

    try:
        return str(git.Repo(layout.root).head.commit.hexsha)
    except ValueError:
        raise UserError(f"{layout.root} has no commits yet, so there is nothing for Flux to reconcile.") from None

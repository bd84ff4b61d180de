"""The stages of a run, one async function each: it emits its events (``await run.emit(event)``)
and returns its result, usually the next :class:`~wizard.flow.session.Session`. A person going
back is the result :data:`~wizard.flow.contract.BACK`; it never travels with the events. The order
of the stages is :mod:`wizard.flow.run`'s; the prove stages are in :mod:`wizard.flow.prove`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from wizard import events as ev
from wizard import preflight as checks
from wizard import questions as Q
from wizard.errors import Cancelled, StepFailed, UserError, WaitTimeout, WizardError
from wizard.flow.contract import BACK, AnswersRequest, Back, Confirm, Review, TokenRequest
from wizard.flow.lockstep import in_thread, iterate_in_thread
from wizard.flow.outcome import Reached, Written
from wizard.flow.services import TokenChecked, Watcher
from wizard.flow.session import Run, Session

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.engine import Engine
    from wizard.kube import KubeConnector
    from wizard.repo import Layout

TOKEN_ATTEMPTS = 3
STAGING, PRODUCTION = "letsencrypt-staging", "letsencrypt-production"
UNCHECKED = (
    "The DNS token was not checked (--skip-token-check): a wrong token or zone will only show up later, as "
    "external-dns errors in the cluster."
)


# -- preflight, answers, steps ----------------------------------------------------------------------
async def preflight(run: Run) -> Session:
    """The repository's checks, then the cluster's, until the front end goes on; blocked: UserError."""
    from wizard.kube import KubeConnector

    await run.emit(ev.Stage("preflight"))
    if run.decisions.interactive:
        await _choose_cluster(run)
    while True:
        found, layout = await in_thread(checks.repo_checks, run.engine, commit=run.options.commit)
        for c in found:
            await run.emit(c)
        report = checks.Report(checks=list(found), layout=layout)
        if layout is not None:
            run.kube = KubeConnector(run.options.kubeconfig, run.options.context)
            cluster_checks, cluster, reachable = await run.services.cluster_checks(run.kube, run.options)
            for c in cluster_checks:
                await run.emit(c)
            report.checks += cluster_checks
            report.cluster, report.cluster_reachable = cluster, reachable
        run.report = report
        if await run.decisions.preflight(report.checks):
            break
    report.raise_if_blocked()
    assert run.engine.layout is not None and run.engine.answers is not None
    return Session(run.engine.layout, run.engine.answers)


async def _choose_cluster(run: Run) -> None:
    """A repository with several clusters and none named (--cluster, cluster: in the answers file):
    the front end chooses one; the run's engine then loads that cluster's layout and state."""
    from wizard.repo import cluster_choices

    choices = await in_thread(cluster_choices, run.engine)
    if len(choices) > 1:
        name = await run.decisions.cluster(choices)
        if name:
            run.engine.overrides = {**run.engine.overrides, "cluster": name}


async def answers(run: Run, base: Session, typed: Mapping[str, Any]) -> Session:
    """The answers, prefilled (state file, answers file, ``typed`` before); a refused one is asked
    again with the reason (interactive front ends) or ends the run (UserError)."""
    from wizard import steps as steps_mod

    await run.emit(ev.Stage("answers"))
    prefill = {**(await in_thread(run.engine.prefill)), **typed}
    error: str | None = None
    while True:
        values = await run.decisions.answers(AnswersRequest(Q.for_steps(list(steps_mod.NAMES)), prefill, error))
        if isinstance(values, Back):
            continue  # nothing before the answers to go back to
        try:
            answered = base.with_answers(**Q.to_overrides(values))
        except UserError as exc:
            if not run.decisions.interactive:
                raise
            error, prefill = exc.message, {**prefill, **values}
            continue
        return dataclasses.replace(answered, typed=dict(values))


async def step_table(run: Run, session: Session) -> Session:
    """Each step with its state, computed once."""
    await run.emit(ev.Stage("steps"))
    found = await in_thread(rows, session.layout, session.answers, run.options.unavailable)
    for row in found:
        await run.emit(row)
    return dataclasses.replace(session, rows=tuple(found))


def rows(layout: Layout, answers: Answers, unavailable: Mapping[str, str]) -> list[ev.StepRow]:
    """Each step with its state (wizard.steptable: each step planned alone, as ``run STEP`` would;
    ``blocked`` with the reason when it cannot plan)."""
    from wizard.steptable import step_table as table

    return [
        ev.StepRow(step=r.step, title=r.title, state=r.state, summary=r.summary, problem=r.problem or "")
        for r in table(layout, answers, unavailable=unavailable)
    ]


def step_rows(engine: Engine, unavailable: Mapping[str, str]) -> list[ev.StepRow]:
    """:func:`rows` of an engine's layout and answers (loaded when they are not yet)."""
    if engine.layout is None or engine.answers is None:
        engine.load()
    assert engine.layout is not None and engine.answers is not None
    return rows(engine.layout, engine.answers, unavailable)


async def choose_steps(run: Run, session: Session) -> Session | Back:
    """The steps named on the command line, or those the front end chooses (BACK: to the answers). A
    blocked step is left out only when the front end says so; else the run ends (UserError)."""
    from wizard import steps as steps_mod

    skip = set(run.options.skip)
    steps_mod.select(sorted(skip))  # unknown names: UserError
    while True:
        if run.options.steps:
            steps_mod.select(list(run.options.steps))  # unknown names: UserError
            chosen: list[str] | Back = [n for n in steps_mod.NAMES if n in run.options.steps]
        else:
            chosen = await run.decisions.steps(session.rows)
            if not isinstance(chosen, Back):  # not named: what does not apply here is left out
                idle = {r.step for r in session.rows if r.state == "not applicable"}
                chosen = [n for n in chosen if n not in idle]
        if isinstance(chosen, Back):
            return BACK
        chosen = [n for n in chosen if n not in skip]
        if not chosen:
            raise UserError(
                f"--skip leaves no step to run ({', '.join(sorted(skip))} skipped). Name the steps to run, or skip fewer."
            )
        blocked = [r for r in session.rows if r.step in chosen and r.state == "blocked"]
        if blocked:
            if not await run.decisions.leave_out(blocked):
                if not run.decisions.interactive or run.options.steps:
                    raise UserError(_blocked_message(blocked))
                continue
            chosen = [n for n in chosen if n not in {r.step for r in blocked}]
            if not chosen:
                raise UserError(_blocked_message(blocked))
        return dataclasses.replace(session, chosen=tuple(chosen))


def _blocked_message(blocked: Sequence[ev.StepRow]) -> str:
    parts = [f"{r.step}: {r.problem}" for r in blocked]
    return (
        f"These steps cannot run on this repository as it is, so nothing was written: {' '.join(parts)} "
        "Fix what each says, or run the other steps by name (edge-wizard run STEP ...)."
    )


# -- the token -------------------------------------------------------------------------------------
async def token(run: Run, session: Session) -> Session | Back:
    """The DNS token, when a chosen step writes a Secret: checked with the provider, asked again with
    the reason when refused (interactive front ends, up to TOKEN_ATTEMPTS times). The provider's
    zone for the domain, when it names one, becomes the answer. BACK: to the steps."""
    probe = await in_thread(run.engine.plan, list(session.chosen), answers=session.answers)
    session = dataclasses.replace(session, token=None, proof_token=None)
    if not probe.secrets:
        return session
    await run.emit(ev.Stage("token"))
    provider = session.answers.dns_provider or ""
    secret = probe.secrets[0]
    error: str | None = None
    attempts = TOKEN_ATTEMPTS if run.decisions.interactive else 1
    for attempt in range(1, attempts + 1):
        # a Secret under the wrong key (an in-tree provider's) cannot be kept: asked like a new one
        keeps = secret.exists and not secret.needs_token
        request = TokenRequest(provider, Q.token_help({"dns_provider": provider}), secret.path, keeps, attempt, error)
        given = await run.decisions.token(request)
        if isinstance(given, Back):
            return BACK
        if given is None:
            await run.emit(ev.Info(secret.kept_without_token()))  # UserError when it cannot be kept
            return session
        try:
            value, checked = await _checked(run, session.answers, given)
        except UserError as exc:
            error = exc.message
            if attempt == attempts:
                raise UserError(error) from None
            await run.emit(ev.Warning(error))
            continue
        for e in checked.events:
            await run.emit(e)
        session = dataclasses.replace(session, token=value, proof_token=value)
        if checked.zone:
            session = session.with_answers(zone=checked.zone)
            await run.emit(
                ev.Info(f"The provider holds the domain in the zone {checked.zone}; external-dns filters on it.")
            )
        return session
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _checked(run: Run, answers: Answers, given: str) -> tuple[str, TokenChecked]:
    """The token, valid for the provider and checked with its API (UserError, the token scrubbed)."""
    from wizard import redact
    from wizard.providers.tokens import validate_token

    value = given
    try:
        value = validate_token(given, answers.dns_provider or "")
        redact.remember(value)  # scrubbed from every text shown from now on
        run.tokens.append(value)
        if run.options.skip_token_check:
            return value, TokenChecked((ev.Warning(UNCHECKED),))
        return value, await in_thread(run.services.check_token, answers, value, not run.decisions.interactive)
    except UserError as exc:
        raise UserError(_scrub(exc.message, value)) from None


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token and len(token) >= 4 else text


async def staging(run: Run, session: Session) -> Session:
    """The smoke test goes on letsencrypt-staging first, unless the issuer was given (answers file,
    state file: a promoted smoke test stays on production), --skip-staging, or it will not be proven."""
    session = dataclasses.replace(session, staging_first=False)
    if "smoke-test" not in session.chosen or run.options.skip_staging or not run.will_prove(session):
        return session
    if "smoke_test_issuer" in run.options.overrides or "smoke_test_issuer" in await in_thread(run.engine.prefill):
        return session
    await run.emit(
        ev.Info(
            "The smoke test is written with letsencrypt-staging first; once its certificate is proven it is switched "
            "to letsencrypt-production (a second commit), so retries never burn production rate limits."
        )
    )
    return dataclasses.replace(session.with_answers(smoke_test_issuer=STAGING), staging_first=True)


# -- review, write, watch ------------------------------------------------------------------------------
async def review(run: Run, session: Session) -> tuple[Session, Confirm] | Back:
    """The plan of the chosen steps (or their removal), the diff and every action outside the
    repository, and the front end's answer. Changes that need their own confirmation and were not
    accepted leave their step out (interactive) or end the run (UserError). BACK: to the steps."""
    await run.emit(ev.Stage("review"))
    engine, o = run.engine, run.options
    planner = engine.plan_removal if o.remove else engine.plan
    plan = await in_thread(planner, list(session.chosen), answers=session.answers)
    actions: tuple[str, ...] = ()
    if any(s.step == "prerequisites" for s in plan.steps):
        actions = tuple(await in_thread(_outside_actions, run, session))
    uncommitted: list[str] = []
    unpushed = False
    if o.commit:
        uncommitted, unpushed = await in_thread(engine.git_pending, plan)
    shown = Review(
        session.chosen,
        plan,
        actions,
        token_given=session.token is not None,
        uncommitted=tuple(uncommitted),
        unpushed=unpushed and o.push,
    )
    for e in shown.events():
        await run.emit(e)
    answer = await run.decisions.confirm(shown)
    if isinstance(answer, Back):
        return BACK
    session = dataclasses.replace(session, plan=plan)
    if not (answer.write and shown.attention and not answer.accept_attention):
        return session, answer
    if not run.decisions.interactive:
        raise UserError(shown.attention_message())
    left_out = {a.step for a in shown.attention}
    rest = plan.without(left_out)
    await run.emit(
        ev.Info(f"Left out {', '.join(sorted(left_out))}: what needed its own confirmation was not accepted.")
    )
    if not rest:
        return session, Confirm(write=False)
    plan = await in_thread(engine.plan, rest, answers=session.answers)
    return dataclasses.replace(session, chosen=tuple(rest), plan=plan), answer


def _outside_actions(run: Run, session: Session) -> list[str]:
    from wizard.outside import prerequisite_actions

    return prerequisite_actions(session.layout, session.answers, cluster=run.options.cluster, kube=run.kube).describe()


async def write(run: Run, session: Session, confirm: Confirm) -> Written:
    """Write, encrypt, commit and push the reviewed plan (the engine, in a worker thread, in lockstep
    with the consumer). A cancel stops it after the last complete file (Cancelled)."""
    from wizard.engine import RunOptions

    await run.emit(ev.Stage("write"))
    assert session.plan is not None
    commit = confirm.commit and run.options.commit
    options = RunOptions(
        commit=commit,
        push=commit and run.options.push,
        token=session.token,
        replace_token=run.options.replace_token,
        cluster=run.options.cluster,
        kube=run.kube,
    )
    wrote = pushed = False
    writes = run.engine.run(session.plan, options, answers=session.answers)
    async with aclosing(iterate_in_thread(writes, run.services.cancel)) as events:
        async for e in events:
            wrote |= isinstance(e, ev.FileWritten | ev.Committed) or (isinstance(e, ev.SecretEncrypted) and e.changed)
            pushed |= isinstance(e, ev.Pushed)
            await run.emit(e)
    if run.services.cancel.is_set():
        raise Cancelled(
            "Stopped on request after the last complete file; nothing is half-written. Re-running "
            "edge-wizard continues from what is on disk."
        )
    return Written(commit=commit, wrote=wrote, pushed=pushed, sha=run.engine.pushed_sha)


async def watch(run: Run, session: Session, watcher: Watcher, sha: str) -> Reached | None:
    """Follow Flux to the pushed commit (what the watcher's Done says it reached); on failure the
    diagnosis, then the error."""
    await run.emit(ev.Stage("watch"))
    reached = None
    try:
        async for e in watcher.follow(session.layout, session.plan, sha, timeout=run.options.timeout):
            if isinstance(e, ev.Done):
                reached = Reached(e.message, e.url, e.replayed)
                continue
            await run.emit(e)
    except (StepFailed, WaitTimeout):
        await diagnose(run, session.layout, run.kube)
        raise
    finally:
        if run.kube is not None:
            await run.kube.aclose()
    return reached


async def diagnose(run: Run, layout: Layout | None, kube: KubeConnector | None) -> None:
    """Doctor's errors and warnings, after a failure and before its error (never hiding it)."""
    await run.emit(ev.Stage("diagnose"))
    try:
        findings = await run.services.doctor(layout, kube, True)
    except WizardError:  # the diagnosis is a bonus; never hide the failure behind it
        findings = []
    for f in findings:
        if f.severity in ("error", "warning"):
            await run.emit(f)

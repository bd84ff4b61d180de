"""The stages of a run, each with what later stages need from earlier ones (:class:`_Run`)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from wizard import events as ev
from wizard import preflight
from wizard import questions as Q
from wizard.errors import Cancelled, StepFailed, UserError, WaitTimeout, WizardError
from wizard.flow.contract import BACK, AnswersRequest, Back, Confirm, Decisions, Options, Review, TokenRequest
from wizard.flow.lockstep import in_thread as _in_thread
from wizard.flow.lockstep import iterate_in_thread as _iterate_in_thread
from wizard.flow.prove import PRODUCTION, STAGING, _prove, _proven_text, proof_target
from wizard.flow.services import Services, TokenChecked, Watcher, _default_prover
from wizard.flow.session import Session

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.engine import Engine
    from wizard.kube import KubeConnector
    from wizard.plan import Plan
    from wizard.repo import Layout

TOKEN_ATTEMPTS = 3


def _blocked_message(blocked: Sequence[ev.StepRow]) -> str:
    parts = [f"{r.step}: {r.problem}" for r in blocked]
    return (
        f"These steps cannot run on this repository as it is, so nothing was written: {' '.join(parts)} "
        "Fix what each says, or run the other steps by name (edge-wizard run STEP ...)."
    )


def rows(layout: Layout, answers: Answers, unavailable: Mapping[str, str]) -> list[ev.StepRow]:
    """Each step with its state, computed once (wizard.steptable: each step planned alone, as
    ``run STEP`` would; ``blocked`` with the reason when it cannot plan)."""
    from wizard.steptable import step_table

    return [
        ev.StepRow(step=r.step, title=r.title, state=r.state, summary=r.summary, problem=r.problem or "")
        for r in step_table(layout, answers, unavailable=unavailable)
    ]


def step_rows(engine: Engine, unavailable: Mapping[str, str]) -> list[ev.StepRow]:
    """:func:`rows` of an engine's layout and answers (loaded when they are not yet)."""
    if engine.layout is None or engine.answers is None:
        engine.load()
    assert engine.layout is not None and engine.answers is not None
    return rows(engine.layout, engine.answers, unavailable)


def _attention_message(review: Review) -> str:
    parts = []
    for a in review.attention:
        parts.append(f"{a.heading}: " + "; ".join(a.items) + ".")
    steps = " ".join(a.step for a in review.attention)
    return (
        " ".join(parts)
        + " These changes need their own confirmation, so nothing was written. Review them with `edge-wizard plan`, "
        f"then run again with --accept-controller-changes to apply them, or leave the {steps} step out "
        f"(edge-wizard run STEP ... without {steps})."
    )


def _plan_events(review: Review) -> list[ev.Event]:
    out: list[ev.Event] = [ev.Warning(w) for w in review.plan.warnings]
    out += [ev.Migration(step=step, message=note) for step, note in review.plan.notes]
    out += list(review.attention)
    for c in review.plan.pending:
        out.append(ev.FileChange(path=c.path, status=c.status, steps=c.steps, diff=c.diff()))
    for s in review.plan.secrets:
        if not s.exists:
            status = "new"
        elif s.needs_token:
            status = "rekey"
        elif review.token_given:
            status = "replace"
        else:
            status = "exists"
        out.append(ev.SecretChange(path=s.path, status=status, namespace=s.namespace, name=s.name))
    out.extend(ev.OutsideAction(a) for a in review.actions)
    if review.uncommitted:
        out.append(
            ev.Info("Also commits what an earlier run wrote but did not commit: " + ", ".join(review.uncommitted) + ".")
        )
    if review.unpushed:
        out.append(ev.Info("Also pushes the commits the remote does not have yet."))
    return out


# -- the flow ----------------------------------------------------------------------------------------
class _Run:
    """The state of one run of the flow (what later stages need from earlier ones)."""

    def __init__(self, services: Services, decisions: Decisions, options: Options) -> None:
        self.s = services
        self.d = decisions
        self.o = options
        self.kube: KubeConnector | None = None
        self.report = preflight.Report()
        self.engine: Engine = self.new_engine()  # one per run, loaded once
        self.base: Session | None = None  # what preflight loaded
        self.session: Session | None = None  # the answers now (typed, then what the run learned)
        self.rows: list[ev.StepRow] = []
        self.chosen: list[str] = []
        self.token: str | None = None
        self.plan: Plan | None = None
        self.values: dict[str, Any] = {}  # the last answers given (kept when going back to them)
        self.done_url = ""
        self.done_message = ""
        self.staging_first = False  # the smoke test is written with letsencrypt-staging first, then promoted
        self.proof_token: str | None = None  # the DNS token given in this run: the proof reads the record with it

    def new_engine(self) -> Engine:
        engine = self.s.engine(
            repo=self.o.repo,
            answers_file=self.o.answers_file,
            overrides=dict(self.o.overrides),
            secret_writer=self.s.secret_writer,
        )
        engine.split_flux_files = self.o.split_flux_files
        return engine

    def scrub(self, text: str) -> str:
        if self.token and len(self.token) >= 4:
            text = text.replace(self.token, "***")
        return text

    # -- preflight -----------------------------------------------------------------------------------
    async def preflight(self) -> AsyncIterator[ev.Event]:
        from wizard.kube import KubeConnector

        yield ev.Stage("preflight")
        while True:
            checks, layout = await _in_thread(preflight.repo_checks, self.engine, commit=self.o.commit)
            for c in checks:
                yield c
            report = preflight.Report(checks=list(checks), layout=layout)
            if layout is not None:
                self.kube = KubeConnector(self.o.kubeconfig, self.o.context)
                found, cluster, reachable = await self.s.cluster_checks(self.kube, self.o)
                for c in found:
                    yield c
                report.checks += found
                report.cluster, report.cluster_reachable = cluster, reachable
            self.report = report
            if await self.d.preflight(report.checks):
                break
        report.raise_if_blocked()
        assert self.engine.layout is not None and self.engine.answers is not None
        self.base = self.session = Session(self.engine.layout, self.engine.answers)

    # -- answers, steps, token -------------------------------------------------------------------------
    async def ask_answers(self, error: str | None = None) -> AsyncIterator[ev.Event]:
        yield ev.Stage("answers")
        from wizard import steps as steps_mod

        assert self.base is not None
        prefill = {**(await _in_thread(self.engine.prefill)), **self.values}
        while True:
            request = AnswersRequest(Q.for_steps(list(steps_mod.NAMES)), prefill, error)
            values = await self.d.answers(request)
            if isinstance(values, Back):
                continue  # nothing before the answers to go back to
            self.values = dict(values)
            try:
                session = self.base.with_answers(**Q.to_overrides(values))
            except UserError as exc:
                if not self.d.interactive:
                    raise
                error, prefill = exc.message, {**prefill, **values}
                continue
            self.session = session
            return

    async def steps_table(self) -> AsyncIterator[ev.Event]:
        yield ev.Stage("steps")
        assert self.session is not None
        self.rows = await _in_thread(rows, self.session.layout, self.session.answers, self.o.unavailable)
        for row in self.rows:
            yield row

    async def choose_steps(self) -> bool:
        """False: the person went back to the answers."""
        while True:
            if self.o.steps:
                from wizard import steps as steps_mod

                steps_mod.select(list(self.o.steps))  # unknown names: UserError
                chosen: list[str] | Back = [n for n in steps_mod.NAMES if n in self.o.steps]
            else:
                chosen = await self.d.steps(self.rows)
                if not isinstance(chosen, Back):  # not named: what does not apply here is left out
                    skip = {r.step for r in self.rows if r.state == "not applicable"}
                    chosen = [n for n in chosen if n not in skip]
            if isinstance(chosen, Back):
                return False
            blocked = [r for r in self.rows if r.step in chosen and r.state == "blocked"]
            if blocked:
                leave = await self.d.leave_out(blocked)
                if not leave:
                    if not self.d.interactive or self.o.steps:
                        raise UserError(_blocked_message(blocked))
                    continue
                chosen = [n for n in chosen if n not in {r.step for r in blocked}]
                if not chosen:
                    raise UserError(_blocked_message(blocked))
            self.chosen = list(chosen)
            return True

    async def ask_token(self) -> AsyncIterator[ev.Event | Back]:
        """Yields events; yields BACK when the person went back to the steps."""
        assert self.session is not None
        probe = await _in_thread(self.engine.plan, self.chosen, answers=self.session.answers)
        secrets = probe.secrets
        self.token = None
        if not secrets:
            return
        yield ev.Stage("token")
        from wizard import redact
        from wizard.providers.tokens import validate_token

        answers = self.session.answers
        provider = answers.dns_provider or ""
        so_far = {"dns_provider": provider}
        secret = secrets[0]
        error: str | None = None
        attempts = TOKEN_ATTEMPTS if self.d.interactive else 1
        for attempt in range(1, attempts + 1):
            # a Secret under the wrong key (an in-tree provider's) cannot be kept: asked like a new one
            keeps = secret.exists and not secret.needs_token
            req = TokenRequest(provider, Q.token_help(so_far), secret.path, keeps, attempt, error)
            token = await self.d.token(req)
            if isinstance(token, Back):
                yield BACK
                return
            if token is None:
                if secret.exists and secret.needs_token:
                    raise UserError(secret.needs_token)
                if secret.exists:
                    yield ev.Info(f"{secret.path} exists; kept as is (no new token given).")
                    return
                raise UserError(
                    f"The external-dns step needs the DNS provider token to write {secret.path}. Pass it with "
                    "--token-env VAR (the name of an environment variable holding it) or --token-stdin, or run "
                    "in a terminal to be asked for it."
                )
            try:
                token = validate_token(token, provider)
                redact.remember(token)  # scrubbed from every text shown from now on
                if self.o.skip_token_check:
                    checked = TokenChecked(
                        (
                            ev.Warning(
                                "The DNS token was not checked (--skip-token-check): a wrong token or zone will only "
                                "show up later, as external-dns errors in the cluster."
                            ),
                        )
                    )
                else:
                    checked = await _in_thread(self.s.check_token, answers, token, not self.d.interactive)
            except UserError as exc:
                if attempt == attempts:
                    raise UserError(self._scrub_with(exc.message, token)) from None
                error = self._scrub_with(exc.message, token)
                yield ev.Warning(error)
                continue
            self.token = self.proof_token = token
            for e in checked.events:
                yield e
            if checked.zone:
                self.session = self.session.with_answers(zone=checked.zone)
                yield ev.Info(f"The provider holds the domain in the zone {checked.zone}; external-dns filters on it.")
            return

    @staticmethod
    def _scrub_with(text: str, token: str | None) -> str:
        if token and len(token) >= 4:
            return text.replace(token, "***")
        return text

    # -- plan and confirm ---------------------------------------------------------------------------
    async def review(self) -> AsyncIterator[ev.Event | Back | Confirm]:
        yield ev.Stage("review")
        assert self.session is not None
        answers = self.session.answers
        planner = self.engine.plan_removal if self.o.remove else self.engine.plan
        self.plan = plan = await _in_thread(planner, self.chosen, answers=answers)
        actions: tuple[str, ...] = ()
        if any(s.step == "prerequisites" for s in plan.steps):
            actions = tuple(await _in_thread(self._outside_actions, plan))
        uncommitted: list[str] = []
        unpushed = False
        if self.o.commit:
            uncommitted, unpushed = await _in_thread(self.engine.git_pending, plan)
        review = Review(
            tuple(self.chosen),
            plan,
            actions,
            token_given=self.token is not None,
            uncommitted=tuple(uncommitted),
            unpushed=unpushed and self.o.push,
        )
        for e in _plan_events(review):
            yield e
        answer = await self.d.confirm(review)
        if isinstance(answer, Confirm) and answer.write and review.attention and not answer.accept_attention:
            if not self.d.interactive:
                raise UserError(_attention_message(review))
            left_out = {a.step for a in review.attention}
            rest = plan.without(left_out)
            yield ev.Info(
                f"Left out {', '.join(sorted(left_out))}: its changes to a controller other apps use were not accepted."
            )
            if not rest:
                yield Confirm(write=False)
                return
            self.chosen = rest
            self.plan = await _in_thread(self.engine.plan, rest, answers=answers)
        yield answer

    def _outside_actions(self, plan: Plan) -> list[str]:
        from wizard.outside import prerequisite_actions

        assert self.session is not None
        return prerequisite_actions(
            self.session.layout, self.session.answers, cluster=self.o.cluster, kube=self.kube
        ).describe()

    # -- write, watch --------------------------------------------------------------------------------
    async def write(self, confirm: Confirm) -> AsyncIterator[ev.Event]:
        from wizard.engine import RunOptions

        yield ev.Stage("write")
        assert self.session is not None and self.plan is not None
        commit = confirm.commit and self.o.commit
        options = RunOptions(
            commit=commit,
            push=commit and self.o.push,
            token=self.token,
            replace_token=self.o.replace_token,
            cluster=self.o.cluster,
            kube=self.kube,
        )
        writes = self.engine.run(self.plan, options, answers=self.session.answers)
        async for e in _iterate_in_thread(writes, self.s.cancel):
            yield e
        if self.s.cancel.is_set():
            raise Cancelled(
                "Stopped on request after the last complete file; nothing is half-written. Re-running "
                "edge-wizard continues from what is on disk."
            )

    async def watch(self, watcher: Watcher, sha: str) -> AsyncIterator[ev.Event]:
        assert self.session is not None
        layout = self.session.layout
        yield ev.Stage("watch")
        try:
            async for e in watcher.follow(layout, self.plan, sha, timeout=self.o.timeout):
                if isinstance(e, ev.Done):
                    self.done_url = e.url
                    self.done_message = e.message
                    continue
                yield e
        except (StepFailed, WaitTimeout):
            yield ev.Stage("diagnose")
            try:
                findings = await self.s.doctor(layout, self.kube, True)
            except WizardError:  # the diagnosis is a bonus; never hide the failure behind it
                findings = []
            for f in findings:
                if f.severity in ("error", "warning"):
                    yield f
            raise
        finally:
            if self.kube is not None:
                await self.kube.aclose()

    # -- prove ----------------------------------------------------------------------------------------
    def will_prove(self) -> bool:
        """Prove when the smoke test is set up and the run follows a cluster (a kubeconfig was found), or
        a prover was injected (the demo's replay); a run without a cluster ends when Flux is followed."""
        if not (self.o.prove and self.o.watch and self.o.push and self.o.commit and self.s.prover is not None):
            return False
        live = self.report.cluster is not None or self.s.prover is not _default_prover
        return live and "smoke-test" in self.set_up()

    def set_up(self) -> set[str]:
        done = set(self.chosen)
        if self.session is not None:
            done |= set(self.session.answers.steps or ())
        return done

    async def choose_staging(self) -> AsyncIterator[ev.Event]:
        """The smoke test goes on letsencrypt-staging first, unless the issuer was given (answers file,
        state file: a promoted smoke test stays on production), --skip-staging, or it will not be proven."""
        assert self.session is not None
        if "smoke-test" not in self.chosen or self.o.skip_staging or not self.will_prove():
            return
        given = "smoke_test_issuer" in self.o.overrides or "smoke_test_issuer" in await _in_thread(self.engine.prefill)
        if given:
            return
        self.staging_first = True
        self.session = self.session.with_answers(smoke_test_issuer=STAGING)
        yield ev.Info(
            "The smoke test is written with letsencrypt-staging first; once its certificate is proven it is switched "
            "to letsencrypt-production (a second commit), so retries never burn production rate limits."
        )

    async def prove(self, issuer: str | None) -> AsyncIterator[ev.Event]:
        from wizard.prove import ProveOptions

        assert self.s.prover is not None
        yield ev.Stage("prove")
        target = await _in_thread(proof_target, self.s, self.o, issuer)
        base = self.o.proof or ProveOptions(cluster=self.o.cluster)
        popts = dataclasses.replace(base, timeout=self.o.timeout) if self.o.proof is None else base
        if self.proof_token and not popts.token:  # the token given in this run: the record is read at the provider
            popts = dataclasses.replace(popts, token=self.proof_token)
        async for e in _prove(self.s, target, popts, self.kube):
            if isinstance(e, ev.Proof) and e.proven:
                self.done_url = f"https://{target.host}/"
                self.done_message = "The edge is proven: " + _proven_text(target)
            yield e
        if self.kube is not None:
            await self.kube.aclose()

    async def promote(self) -> AsyncIterator[ev.Event | Confirm | Back]:
        """The staging proof passed: the smoke test with letsencrypt-production, shown and confirmed."""
        yield ev.Info("Staging is proven. Next: the smoke test with letsencrypt-production (a second commit and push).")
        assert self.session is not None
        self.session = self.session.with_answers(smoke_test_issuer=PRODUCTION)
        self.chosen = ["smoke-test"]
        self.token = None  # the smoke test has no Secret; the DNS token Secret is not touched again
        async for r in self.review():
            yield r

"""The flow: the order of every stage of a run, in one place (UI-free).

    async for event in run_flow(services, decisions, options):
        render(event)          # the last event is Done (exit 0) or Failed (its exit_code)

Stages: preflight (repository, then cluster) -> answers -> step table (computed once) -> token
(checked with the provider, asked again when rejected) -> plan (once) -> confirm (the diff and every
action outside the repository) -> write/encrypt/commit/push (:meth:`Engine.run`) -> watch Flux ->
diagnosis on failure -> Done. Front ends implement :class:`Decisions` (what a person or the flags
answer) and render :mod:`wizard.events`; they never call the engine, the provider checks, the
watcher or doctor themselves. Services (:class:`Services`) are injected: the demo swaps in a
no-network token checker and the replay watcher.

Blocking work (GitPython, sops, file IO) runs in worker threads, so a front end's event loop stays
responsive; the watch is async. Models: flux2's ``pkg/bootstrap.Run`` and harlequin's ``query.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from wizard import events as ev
from wizard import preflight
from wizard import questions as Q
from wizard.errors import Cancelled, StepFailed, UserError, WaitTimeout, WizardError

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.engine import Engine
    from wizard.kube import KubeConnector
    from wizard.plan import Plan
    from wizard.prove import ProveOptions, Target
    from wizard.repo import Layout
    from wizard.secrets import SecretWriter

T = TypeVar("T")
TOKEN_ATTEMPTS = 3


class Back:
    """Returned by a decision to go back one stage (the TUI's Back buttons)."""

    def __repr__(self) -> str:
        return "BACK"


BACK = Back()


# -- what the flow asks --------------------------------------------------------------------------
@dataclass(frozen=True)
class AnswersRequest:
    questions: Sequence[Q.Question]
    prefill: Mapping[str, Any]
    error: str | None = None  # the engine refused the previous answers (cross-field check)


@dataclass(frozen=True)
class TokenRequest:
    provider: str
    help: str
    path: str  # the Secret file the token goes into
    exists: bool  # the Secret exists already: no token keeps it
    attempt: int = 1
    error: str | None = None  # why the previous token was refused


@dataclass(frozen=True)
class Review:
    steps: tuple[str, ...]
    plan: Plan
    actions: tuple[str, ...]  # what the run does outside the repository
    token_given: bool = False
    uncommitted: tuple[str, ...] = ()  # managed files an earlier --no-commit run left: committed now
    unpushed: bool = False  # the branch has commits the remote does not have yet: pushed now

    @property
    def empty(self) -> bool:
        """Nothing to write, commit, push or do outside the repository: no need to ask."""
        return not (self.plan.pending or self.writes_secret or self.actions or self.uncommitted or self.unpushed)

    @property
    def attention(self) -> tuple[ev.Attention, ...]:
        """Changes that need their own confirmation (``Confirm.accept_attention``), one per step."""
        return tuple(
            ev.Attention(step=s.step, heading=s.attention_heading, items=tuple(s.attention))
            for s in self.plan.attention
        )

    @property
    def writes_secret(self) -> bool:
        return any(not s.exists or self.token_given for s in self.plan.secrets)


@dataclass(frozen=True)
class Confirm:
    write: bool = True
    commit: bool = True  # commit and push (False: write the files only)
    # the Review's attention items are accepted too (False: the steps they belong to are left out,
    # or, for a non-interactive front end, the run stops with exit 2 naming the flag)
    accept_attention: bool = False


class Decisions(Protocol):
    """What a front end answers. ``interactive`` front ends may be asked again (a rejected token,
    blocked steps); the others get one chance and the flow fails with exit 2."""

    interactive: bool

    async def preflight(self, checks: Sequence[ev.Check]) -> bool:
        """True: go on; False: check again (nothing blocking is ever passed as True)."""
        ...

    async def answers(self, request: AnswersRequest) -> dict[str, Any] | Back: ...

    async def steps(self, rows: Sequence[ev.StepRow]) -> list[str] | Back: ...

    async def leave_out(self, blocked: Sequence[ev.StepRow]) -> bool:
        """Some chosen steps are blocked: True leaves them out, False goes back to the choice."""
        ...

    async def token(self, request: TokenRequest) -> str | None | Back:
        """The DNS token; None keeps the existing Secret (only offered when it exists)."""
        ...

    async def confirm(self, review: Review) -> Confirm | Back: ...


# -- what the flow uses ----------------------------------------------------------------------------
class Watcher(Protocol):
    needs_cluster: bool

    def follow(
        self, layout: Layout, plan: Plan | None, sha: str | None, *, timeout: float
    ) -> AsyncIterator[ev.Event]: ...


@dataclass(frozen=True)
class TokenChecked:
    events: tuple[ev.Event, ...]
    zone: str | None = None  # the provider's zone for the domain, when it names one


# (answers, token, strict): strict (non-interactive) runs stop when the check cannot be made
TokenChecker = Callable[["Answers", str, bool], TokenChecked]
ClusterChecks = Callable[["KubeConnector", "Options"], Awaitable[tuple[list[ev.Check], Any, bool]]]


def check_token_with_provider(answers: Answers, token: str, strict: bool = True) -> TokenChecked:
    """The provider's API says whether the token can manage the zone (UserError when not). When the
    check cannot be made (network, 5xx), a ``strict`` run stops (StepFailed, saying how to go on
    without it); an interactive one is told it continues unchecked."""
    from wizard.providers import check_nameservers, check_token

    answers.require(("domain", "dns_provider"), "checking the DNS token")
    result = check_token(answers.dns_provider or "", answers.domain or "", token, zone=answers.zone)
    if result.warning:
        if strict:
            raise StepFailed(result.message)  # "... Pass --skip-token-check to continue without the check."
        return TokenChecked((ev.Warning(result.continuing()),))
    out: list[ev.Event] = [ev.Info(result.message)]
    if result.zone and result.nameservers:
        problem = check_nameservers(result.zone, result.nameservers)
        if problem:
            out.append(ev.Warning(problem))
    zone = result.zone if answers.zone is None and result.zone and result.zone != answers.resolved_zone else None
    return TokenChecked(tuple(out), zone)


async def _real_cluster_checks(kube: KubeConnector, options: Options) -> tuple[list[ev.Check], Any, bool]:
    return await preflight.cluster_checks(kube, watch=options.watch)


def _default_engine(**kwargs: Any) -> Engine:
    from wizard.engine import Engine

    return Engine(**kwargs)


def _default_watcher(kube: KubeConnector | None) -> Watcher:
    from wizard.flux import FluxWatcher

    return FluxWatcher(kube)


async def _default_doctor(layout: Layout | None, kube: KubeConnector | None, cluster: bool) -> list[ev.Finding]:
    from wizard import doctor

    findings = await doctor.diagnose_async(layout, kube=kube, cluster=cluster)
    return [f.to_event() for f in findings]


def _default_prover(target: Target, options: ProveOptions, kube: KubeConnector | None) -> AsyncIterator[ev.Event]:
    from wizard.prove import prove

    return prove(target, options, kube)


Prover = Callable[["Target", "ProveOptions", "KubeConnector | None"], AsyncIterator[ev.Event]]
STAGING, PRODUCTION = "letsencrypt-staging", "letsencrypt-production"


@dataclass
class Services:
    engine: Callable[..., Engine] = _default_engine
    secret_writer: SecretWriter | None = None
    check_token: TokenChecker = check_token_with_provider
    cluster_checks: ClusterChecks = _real_cluster_checks
    watcher: Callable[[KubeConnector | None], Watcher] = _default_watcher
    doctor: Callable[[Layout | None, KubeConnector | None, bool], Awaitable[list[ev.Finding]]] = _default_doctor
    cancel: threading.Event = field(default_factory=threading.Event)
    prover: Prover | None = _default_prover  # None: never prove (the run ends when Flux is ready)


@dataclass(frozen=True)
class Options:
    repo: str | None = None
    answers_file: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[str, ...] = ()  # asked for on the command line
    commit: bool = True
    push: bool = True
    watch: bool = True
    cluster: bool = True  # False (--no-cluster): never write to the cluster
    kubeconfig: str | None = None
    context: str | None = None
    timeout: float = 1200.0
    skip_token_check: bool = False
    replace_token: bool = False
    split_flux_files: bool = False  # move each step's Flux Kustomization out of a shared file into its own
    unavailable: Mapping[str, str] = field(default_factory=dict)  # step -> why it cannot run here
    debug: bool = False  # let unexpected exceptions through (tracebacks) instead of one Failed event
    prove: bool = True  # after Flux is ready, prove the edge (the smoke test's host over HTTPS)
    proof: ProveOptions | None = None  # how (verify's flags); None: the defaults, within ``timeout``
    host: str | None = None  # verify --host: the host to prove (default: the smoke test's)
    skip_staging: bool = False  # run --skip-staging: the smoke test goes straight to letsencrypt-production
    remove: bool = False  # run STEP --remove: delete the steps' files, commit, push, wait until Flux pruned them


# -- helpers -----------------------------------------------------------------------------------------
async def _in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def _iterate_in_thread(gen: Iterator[ev.Event], cancel: threading.Event) -> AsyncIterator[ev.Event]:
    """Run a blocking generator (the engine's writes) in a worker thread, in lockstep with the consumer:
    the next file is written only after the consumer is done with the previous event. So when the
    consumer stops (Ctrl-C while rendering, a quit, ``cancel``), nothing was written that it did not
    see, and the thread stops before the next file."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    go_on = threading.Event()
    stop = threading.Event()

    def put(kind: str, value: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is gone: nobody listens any more
            stop.set()

    def pump() -> None:
        try:
            for item in gen:
                put("event", item)
                go_on.wait()
                go_on.clear()
                if stop.is_set() or cancel.is_set():
                    break
        except BaseException as exc:  # handed to the event loop, raised there
            put("error", exc)
        else:
            put("end", None)
        finally:
            gen.close()  # type: ignore[attr-defined]

    worker = threading.Thread(target=pump, name="edge-wizard-write", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = await queue.get()
            if kind == "event":
                yield value
                go_on.set()  # the consumer is done with it: write the next file
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        go_on.set()
        worker.join(timeout=60)


def _blocked_message(blocked: Sequence[ev.StepRow]) -> str:
    parts = [f"{r.step}: {r.problem}" for r in blocked]
    return (
        f"These steps cannot run on this repository as it is, so nothing was written: {' '.join(parts)} "
        "Fix what each says, or run the other steps by name (edge-wizard run STEP ...)."
    )


def step_rows(engine: Engine, unavailable: Mapping[str, str]) -> list[ev.StepRow]:
    """Each step with its state, computed once (wizard.steptable: each step planned alone, as
    ``run STEP`` would; ``blocked`` with the reason when it cannot plan)."""
    from wizard.steptable import step_table

    if engine.layout is None or engine.answers is None:
        engine.load()
    assert engine.layout is not None and engine.answers is not None
    return [
        ev.StepRow(step=r.step, title=r.title, state=r.state, summary=r.summary, problem=r.problem or "")
        for r in step_table(engine.layout, engine.answers, unavailable=unavailable)
    ]


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
        self.engine: Engine | None = None
        self.rows: list[ev.StepRow] = []
        self.chosen: list[str] = []
        self.token: str | None = None
        self.plan: Plan | None = None
        self.values: dict[str, Any] = {}  # the last answers given (kept when going back to them)
        self.done_url = ""
        self.done_message = ""
        self.staging_first = False  # the smoke test is written with letsencrypt-staging first, then promoted
        self.proof_token: str | None = None  # the DNS token given in this run: the proof reads the record with it

    def new_engine(self, overrides: Mapping[str, Any] | None = None) -> Engine:
        merged = {**self.o.overrides, **(overrides or {})}
        engine = self.s.engine(
            repo=self.o.repo, answers_file=self.o.answers_file, overrides=merged, secret_writer=self.s.secret_writer
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
            base = self.new_engine()
            checks, layout = await _in_thread(preflight.repo_checks, base, commit=self.o.commit)
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
        self.engine = base

    # -- answers, steps, token -------------------------------------------------------------------------
    async def ask_answers(self, error: str | None = None) -> AsyncIterator[ev.Event]:
        yield ev.Stage("answers")
        from wizard import steps as steps_mod

        assert self.engine is not None
        prefill = {**(await _in_thread(self.engine.prefill)), **self.values}
        while True:
            request = AnswersRequest(Q.for_steps(list(steps_mod.NAMES)), prefill, error)
            values = await self.d.answers(request)
            if isinstance(values, Back):
                continue  # nothing before the answers to go back to
            self.values = dict(values)
            engine = self.new_engine(Q.to_overrides(values))
            try:
                await _in_thread(engine.load)
            except UserError as exc:
                if not self.d.interactive:
                    raise
                error, prefill = exc.message, {**prefill, **values}
                continue
            self.engine = engine
            return

    async def steps_table(self) -> AsyncIterator[ev.Event]:
        yield ev.Stage("steps")
        assert self.engine is not None
        self.rows = await _in_thread(step_rows, self.engine, self.o.unavailable)
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
        assert self.engine is not None and self.engine.answers is not None
        probe = await _in_thread(self.engine.plan, self.chosen)
        secrets = probe.secrets
        self.token = None
        if not secrets:
            return
        yield ev.Stage("token")
        from wizard import redact
        from wizard.providers.tokens import validate_token

        answers = self.engine.answers
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
                self.engine = self.new_engine({**self._answer_overrides(), "zone": checked.zone})
                await _in_thread(self.engine.load)
                yield ev.Info(f"The provider holds the domain in the zone {checked.zone}; external-dns filters on it.")
            return

    def _answer_overrides(self) -> dict[str, Any]:
        assert self.engine is not None
        return dict(self.engine.overrides)

    @staticmethod
    def _scrub_with(text: str, token: str | None) -> str:
        if token and len(token) >= 4:
            return text.replace(token, "***")
        return text

    # -- plan and confirm ---------------------------------------------------------------------------
    async def review(self) -> AsyncIterator[ev.Event | Back | Confirm]:
        yield ev.Stage("review")
        assert self.engine is not None
        planner = self.engine.plan_removal if self.o.remove else self.engine.plan
        self.plan = plan = await _in_thread(planner, self.chosen)
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
            self.plan = await _in_thread(self.engine.plan, rest)
        yield answer

    def _outside_actions(self, plan: Plan) -> list[str]:
        from wizard.outside import prerequisite_actions

        assert self.engine is not None and self.engine.layout is not None and self.engine.answers is not None
        return prerequisite_actions(
            self.engine.layout, self.engine.answers, cluster=self.o.cluster, kube=self.kube
        ).describe()

    # -- write, watch --------------------------------------------------------------------------------
    async def write(self, confirm: Confirm) -> AsyncIterator[ev.Event]:
        from wizard.engine import RunOptions

        yield ev.Stage("write")
        assert self.engine is not None and self.plan is not None
        commit = confirm.commit and self.o.commit
        options = RunOptions(
            commit=commit,
            push=commit and self.o.push,
            token=self.token,
            replace_token=self.o.replace_token,
            cluster=self.o.cluster,
            kube=self.kube,
        )
        async for e in _iterate_in_thread(self.engine.run(self.plan, options), self.s.cancel):
            yield e
        if self.s.cancel.is_set():
            raise Cancelled(
                "Stopped on request after the last complete file; nothing is half-written. Re-running "
                "edge-wizard continues from what is on disk."
            )

    async def watch(self, watcher: Watcher, sha: str) -> AsyncIterator[ev.Event]:
        assert self.engine is not None and self.engine.layout is not None
        yield ev.Stage("watch")
        try:
            async for e in watcher.follow(self.engine.layout, self.plan, sha, timeout=self.o.timeout):
                if isinstance(e, ev.Done):
                    self.done_url = e.url
                    self.done_message = e.message
                    continue
                yield e
        except (StepFailed, WaitTimeout):
            yield ev.Stage("diagnose")
            try:
                findings = await self.s.doctor(self.engine.layout, self.kube, True)
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
        if self.engine is not None and self.engine.answers is not None:
            done |= set(self.engine.answers.steps or ())
        return done

    async def choose_staging(self) -> AsyncIterator[ev.Event]:
        """The smoke test goes on letsencrypt-staging first, unless the issuer was given (answers file,
        state file: a promoted smoke test stays on production), --skip-staging, or it will not be proven."""
        assert self.engine is not None
        if "smoke-test" not in self.chosen or self.o.skip_staging or not self.will_prove():
            return
        given = "smoke_test_issuer" in self.o.overrides or "smoke_test_issuer" in await _in_thread(self.engine.prefill)
        if given:
            return
        self.staging_first = True
        self.engine = self.new_engine({**self._answer_overrides(), "smoke_test_issuer": STAGING})
        await _in_thread(self.engine.load)
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
        self.engine = self.new_engine({**self._answer_overrides(), "smoke_test_issuer": PRODUCTION})
        await _in_thread(self.engine.load)
        self.chosen = ["smoke-test"]
        self.token = None  # the smoke test has no Secret; the DNS token Secret is not touched again
        async for r in self.review():
            yield r


async def run_flow(services: Services, decisions: Decisions, options: Options) -> AsyncIterator[ev.Event]:
    """Every stage of ``edge-wizard run`` (and the interactive front ends), in order. The last event is
    :class:`~wizard.events.Done` or :class:`~wizard.events.Failed`. KeyboardInterrupt propagates."""
    run = _Run(services, decisions, options)
    try:
        async for e in _stages(run):
            yield e
    except WizardError as exc:
        yield ev.Failed(run.scrub(str(exc)), exc.exit_code)
    except (KeyboardInterrupt, asyncio.CancelledError, GeneratorExit):
        raise
    except Exception as exc:
        if options.debug:
            raise
        yield ev.Failed(run.scrub(unexpected(exc)), 1)


def unexpected(exc: BaseException) -> str:
    """An exception edge-wizard did not expect, in one sentence (a bug: never a traceback)."""
    text = " ".join(str(exc).split())[:300]
    return (
        f"Unexpected error ({type(exc).__name__}{': ' + text if text else ''}). This is an edge-wizard bug: run "
        "again with --debug to see where it happened, and report it. Files written so far are complete (every "
        "write is atomic); re-running continues from them."
    )


async def _stages(run: _Run) -> AsyncIterator[ev.Event]:
    async for e in run.preflight():
        yield e
    if run.o.remove:
        async for e in _remove_stages(run):
            yield e
        return
    stage = "answers"
    confirm: Confirm | None = None
    while confirm is None:
        if stage == "answers":
            async for e in run.ask_answers():
                yield e
            async for e in run.steps_table():
                yield e
            stage = "steps"
        elif stage == "steps":
            stage = "token" if await run.choose_steps() else "answers"
        elif stage == "token":
            stage = "review"
            async for t in run.ask_token():
                if isinstance(t, Back):
                    stage = "steps"
                else:
                    yield t
            if stage == "review":
                async for e in run.choose_staging():
                    yield e
        else:
            stage = "steps"
            async for r in run.review():
                if isinstance(r, Confirm):
                    confirm = r
                elif not isinstance(r, Back):
                    yield r
    if not confirm.write:
        yield ev.Done("No changes were made.", outcome="declined")
        return

    wrote = pushed = False
    async for e in run.write(confirm):
        wrote |= isinstance(e, ev.FileWritten | ev.Committed) or (isinstance(e, ev.SecretEncrypted) and e.changed)
        pushed |= isinstance(e, ev.Pushed)
        yield e
    assert run.engine is not None
    sha = run.engine.pushed_sha
    up_to_date = "Nothing to change: the repository is up to date"
    if not (confirm.commit and run.o.commit):
        if not wrote:
            yield ev.Done(up_to_date + ".", outcome="nothing-to-do")
            return
        steps = " ".join(run.chosen)
        yield ev.Done(
            f"Files written, not committed. Review them with `git diff`; then `edge-wizard run {steps} --yes` commits "
            "and pushes them.",
            outcome="written",
        )
        return
    if not run.o.push or not sha:
        what = "Committed" if wrote else up_to_date + "; the last commit is"
        yield ev.Done(f"{what} not pushed (--no-push). `edge-wizard run` pushes it later.", outcome="committed")
        return
    # what happened to the remote, said as it is: pushed now, or already there
    where = f"Pushed {sha[:10]}" if pushed else f"{up_to_date}; the remote already has {sha[:10]}"
    if not run.o.watch:
        yield ev.Done(
            f"{where}; not followed (--no-watch). `edge-wizard watch` follows it.",
            outcome="pushed" if pushed else "nothing-to-do",
            sha=sha,
        )
        return
    watcher = run.s.watcher(run.kube)
    if watcher.needs_cluster and run.report.cluster is None:
        yield ev.Done(
            f"{where}; not followed: no kubeconfig was found, so edge-wizard cannot watch Flux apply it. Flux applies "
            "it on its next sync; follow it later with `edge-wizard watch` (KUBECONFIG set).",
            outcome="pushed" if pushed else "nothing-to-do",
            sha=sha,
        )
        return
    async for e in run.watch(watcher, sha):
        yield e
    if not run.will_prove():
        yield ev.Done(
            run.done_message or f"Flux reconciled {sha[:10]}.", url=run.done_url, outcome="reconciled", sha=sha
        )
        return
    async for e in _prove_stages(run, watcher, sha):
        yield e


async def _remove_stages(run: _Run) -> AsyncIterator[ev.Event]:
    """``run STEP --remove``: no answers, no token: the removal plan, shown and confirmed, written,
    committed and pushed; then follow Flux until what the steps set up is pruned from the cluster."""
    from wizard import steps as steps_mod

    if not run.o.steps:
        removable = " ".join(s.name for s in steps_mod.ALL if s.removable)
        raise UserError(f"--remove needs the step to remove, e.g. `edge-wizard run {removable} --remove`.")
    steps_mod.select(list(run.o.steps))  # unknown names: UserError
    run.chosen = [n for n in steps_mod.NAMES if n in run.o.steps]
    what = " and ".join(run.chosen)
    confirm: Confirm | None = None
    async for r in run.review():
        if isinstance(r, Confirm):
            confirm = r
        elif not isinstance(r, Back):
            yield r
    assert run.plan is not None
    if not run.plan.pending and confirm is not None:
        yield ev.Done(f"Nothing to remove: {what} is not in the repository.", outcome="nothing-to-do")
        return
    if confirm is None or not confirm.write:
        yield ev.Done("No changes were made.", outcome="declined")
        return
    pushed = False
    async for e in run.write(confirm):
        pushed |= isinstance(e, ev.Pushed)
        yield e
    assert run.engine is not None
    sha = run.engine.pushed_sha
    if not (confirm.commit and run.o.commit):
        yield ev.Done(
            f"Files removed, not committed. Review with `git status`; `edge-wizard run {' '.join(run.chosen)} --remove "
            "--yes` commits and pushes the removal.",
            outcome="written",
        )
        return
    if not run.o.push or not sha:
        yield ev.Done(
            "Removal committed, not pushed (--no-push). `edge-wizard run` pushes it later.", outcome="committed"
        )
        return
    watcher = run.s.watcher(run.kube)
    if not run.o.watch or (watcher.needs_cluster and run.report.cluster is None):
        why = "--no-watch" if not run.o.watch else "no kubeconfig was found"
        yield ev.Done(
            f"Pushed {sha[:10]}; not followed ({why}): Flux prunes {what} on its next sync. `edge-wizard watch` "
            "follows it.",
            outcome="pushed" if pushed else "nothing-to-do",
            sha=sha,
        )
        return
    from wizard.flux.targets import removed_objects

    async for e in run.watch(watcher, sha):  # ends once every removed object is gone from the cluster
        yield e
    gone = ", ".join(f"{t.kind} {t.namespace}/{t.name}" for t in removed_objects(run.plan)) or "its objects"
    answers = run.engine.answers
    if "smoke-test" in run.chosen and answers is not None and answers.resolved_host:
        yield ev.Info(
            f"external-dns runs with policy upsert-only, so it never deletes records: the record of "
            f"{answers.resolved_host} stays at {answers.dns_provider or 'your DNS provider'} until you delete it there."
        )
    yield ev.Done(f"Removed {what}: Flux reconciled {sha[:10]} and pruned {gone}.", outcome="removed", sha=sha)


async def _prove_stages(run: _Run, watcher: Watcher, sha: str) -> AsyncIterator[ev.Event]:
    """Prove; after a staging proof, promote to production (shown and confirmed), follow and prove again."""
    async for e in run.prove(STAGING if run.staging_first else None):
        yield e
    if not run.staging_first:
        yield ev.Done(run.done_message, url=run.done_url, outcome="proven", sha=sha)
        return
    confirm: Confirm | None = None
    async for r in run.promote():
        if isinstance(r, Confirm):
            confirm = r
        elif not isinstance(r, Back):
            yield r
    if confirm is None or not confirm.write:
        yield ev.Done(
            "The edge is proven with a Let's Encrypt staging certificate (browsers do not trust it). `edge-wizard run "
            "smoke-test` switches it to letsencrypt-production.",
            url=run.done_url,
            outcome="proven",
            sha=sha,
        )
        return
    async for e in run.write(confirm):
        yield e
    assert run.engine is not None
    sha = run.engine.pushed_sha or sha
    async for e in run.watch(watcher, sha):
        yield e
    async for e in run.prove(PRODUCTION):
        yield e
    yield ev.Done(run.done_message, url=run.done_url, outcome="proven", sha=sha)


# -- the read-only flows (steps, plan, watch) -----------------------------------------------------------
async def steps_flow(services: Services, options: Options) -> AsyncIterator[ev.Event]:
    """``edge-wizard steps``: the step table."""
    run = _Run(services, ReadOnlyDecisions(), options)
    try:
        run.engine = run.new_engine()
        await _in_thread(run.engine.load)
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
        run.engine = engine = run.new_engine()
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
        run.engine = engine = run.new_engine()
        layout, _ = await _in_thread(engine.load)
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


def _proven_text(target: Target) -> str:
    stage = "a Let's Encrypt staging" if target.issuer == "letsencrypt-staging" else "a trusted"
    return f"{target.host} answers over HTTPS with {stage} certificate:"


async def _prove(
    services: Services, target: Target, popts: ProveOptions, kube: KubeConnector | None
) -> AsyncIterator[ev.Event]:
    """The proof's events; on failure the doctor's findings (when a cluster is there) before the error."""
    prover = services.prover or _default_prover
    try:
        async for e in prover(target, popts, kube):
            yield e
    except (StepFailed, WaitTimeout):
        if kube is not None:
            yield ev.Stage("diagnose")
            try:
                findings = await services.doctor(None, kube, True)
            except WizardError:
                findings = []
            for f in findings:
                if f.severity in ("error", "warning"):
                    yield f
        raise


def proof_target(services: Services, options: Options, issuer: str | None) -> Target:
    """What to prove, from the repository (the smoke test's host, its issuer, the firewall policy) and
    --host; without a repository only --host (then the issuer is taken as production)."""
    from wizard.prove import Target

    try:
        engine = services.engine(
            repo=options.repo, answers_file=options.answers_file, overrides=dict(options.overrides)
        )
        layout, answers = engine.load()
    except UserError:
        if options.host:
            return Target(host=_check_host(options.host), issuer=issuer or "letsencrypt-production")
        raise
    host = options.host or answers.resolved_host
    if not host:
        raise UserError(
            "There is no host to prove: the answers have no domain (nor smoke_test_host). Pass --host podinfo.apps."
            "example.com, or run `edge-wizard run smoke-test` first."
        )
    policy = layout.abs(layout.firewall_policy) if layout.firewall_policy else None
    return Target(
        host=_check_host(host),
        zone=answers.resolved_zone,
        issuer=issuer or written_issuer(layout) or answers.smoke_test_issuer,
        policy_file=policy,
        policy_rel=layout.firewall_policy or "",
        owner=answers.resolved_owner,
        provider=answers.dns_provider or "",
    )


def written_issuer(layout: Layout) -> str | None:
    """The ClusterIssuer the smoke test is written with (its Ingress annotation), or None."""
    import re

    path = layout.abs(f"{layout.components_dir}/smoke-test/podinfo.yaml")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    m = re.search(r"cert-manager\.io/cluster-issuer:\s*[\"']?([a-z0-9-]+)", text)
    return m.group(1) if m else None


def _check_host(host: str) -> str:
    import re

    h = host.strip().rstrip(".").lower()
    if not re.fullmatch(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}", h):
        raise UserError(
            f"--host {host!r} is not a DNS name. The proof resolves it and asks for https://HOST/, so give the "
            "smoke test's host name, e.g. --host podinfo.apps.example.com."
        )
    return h


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


class ReadOnlyDecisions:
    """The decisions of the read-only flows (steps, plan, watch, doctor): nothing is asked, nothing
    is confirmed. Subclass it for a scripted front end (the unattended demo)."""

    interactive = False

    async def preflight(self, checks: Sequence[ev.Check]) -> bool:
        return True

    async def answers(self, request: AnswersRequest) -> dict[str, Any] | Back:
        return {}

    async def steps(self, rows: Sequence[ev.StepRow]) -> list[str] | Back:
        return [r.step for r in rows]

    async def leave_out(self, blocked: Sequence[ev.StepRow]) -> bool:
        return False

    async def token(self, request: TokenRequest) -> str | None | Back:
        return None

    async def confirm(self, review: Review) -> Confirm | Back:
        return Confirm(write=False)

"""What a front end implements and receives: the :class:`Decisions` it answers (with the requests
the flow hands it) and the :class:`Options` it starts a run with. Front ends render
:mod:`wizard.events` and never call the engine, the provider checks, the watcher or doctor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from wizard import events as ev
from wizard import questions as Q

if TYPE_CHECKING:
    from wizard.plan import Plan, SecretChange
    from wizard.prove import ProveOptions


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
            ev.Attention(step=s.step, heading=s.attention_heading, items=tuple(s.attention), flag=s.attention_flag)
            for s in self.plan.attention
        )

    @property
    def writes_secret(self) -> bool:
        return any(not s.exists or self.token_given for s in self.plan.secrets)

    def events(self) -> list[ev.Event]:
        """What the review shows, as events: warnings, migrations, changes that need their own
        confirmation, each file's diff, each Secret, every action outside the repository."""
        out: list[ev.Event] = [ev.Warning(w) for w in self.plan.warnings]
        out += [ev.Migration(step=step, message=note) for step, note in self.plan.notes]
        out += list(self.attention)
        for c in self.plan.pending:
            out.append(ev.FileChange(path=c.path, status=c.status, steps=c.steps, diff=c.diff()))
        for s in self.plan.secrets:
            out.append(ev.SecretChange(path=s.path, status=self._secret_status(s), namespace=s.namespace, name=s.name))
        out.extend(ev.OutsideAction(a) for a in self.actions)
        if self.uncommitted:
            out.append(
                ev.Info(
                    "Also commits what an earlier run wrote but did not commit: " + ", ".join(self.uncommitted) + "."
                )
            )
        if self.unpushed:
            out.append(ev.Info("Also pushes the commits the remote does not have yet."))
        return out

    def _secret_status(self, s: SecretChange) -> str:
        if not s.exists:
            return "new"
        if s.needs_token:
            return "rekey"
        return "replace" if self.token_given else "exists"

    def attention_message(self) -> str:
        """Why a run that cannot ask (the CLI) stops at the changes that need their own confirmation."""
        parts = [f"{a.heading}: " + "; ".join(a.items) + "." for a in self.attention]
        steps = " ".join(a.step for a in self.attention)
        flags = " ".join(dict.fromkeys(a.flag for a in self.attention))
        return (
            " ".join(parts)
            + " These changes need their own confirmation, so nothing was written. Review them with `edge-wizard plan`, "
            f"then run again with {flags} to apply them, or leave the {steps} step out "
            f"(edge-wizard run STEP ... without {steps})."
        )


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

    async def cluster(self, clusters: Sequence[tuple[str, str]]) -> str:
        """The repository holds several clusters and none was named: (name, what Flux starts from) of
        each; the name of the one to set up. Asked only of ``interactive`` front ends."""
        ...


@dataclass(frozen=True)
class Options:
    repo: str | None = None
    answers_file: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[str, ...] = ()  # asked for on the command line
    skip: tuple[str, ...] = ()  # --skip STEP: left out of the run (whatever else is chosen)
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

    async def cluster(self, clusters: Sequence[tuple[str, str]]) -> str:
        return ""  # never asked: not interactive (an unnamed cluster of several is a UserError naming them)

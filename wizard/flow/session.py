"""The state of one run: what stays for the whole run (:class:`Run`) and what the stages hand on
to each other as values (:class:`Session`: each stage takes one and returns the next).

A changed answer (the zone the provider names, the smoke test's issuer) is a new session value,
``session.with_answers(zone=...)``; the engine is made and loaded once per run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard import events as ev
from wizard import preflight
from wizard.flow.contract import Decisions, Options
from wizard.flow.lockstep import Emit
from wizard.flow.services import Services, default_prover

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.engine import Engine
    from wizard.kube import KubeConnector
    from wizard.plan import Plan
    from wizard.repo import Layout


@dataclass
class Run:
    """What every stage of one run uses: the injected services, the front end's decisions, the
    options, where events go (``emit``), the run's one engine; and what preflight found (the
    cluster connection and the report, set once by preflight)."""

    services: Services
    decisions: Decisions
    options: Options
    emit: Emit
    engine: Engine
    kube: KubeConnector | None = None
    report: preflight.Report = field(default_factory=preflight.Report)
    tokens: list[str] = field(default_factory=list, repr=False)  # given in this run: never in a Failed text

    @classmethod
    def start(cls, services: Services, decisions: Decisions, options: Options, emit: Emit) -> Run:
        engine = services.engine(
            repo=options.repo,
            answers_file=options.answers_file,
            overrides=dict(options.overrides),
            secret_writer=services.secret_writer,
        )
        engine.split_flux_files = options.split_flux_files
        return cls(services, decisions, options, emit, engine)

    def scrub(self, text: str) -> str:
        for token in self.tokens:
            if len(token) >= 4:
                text = text.replace(token, "***")
        return text

    def will_prove(self, session: Session) -> bool:
        """Prove when the smoke test is set up and the run follows a cluster (a kubeconfig was found), or
        a prover was injected (the demo's replay); a run without a cluster ends when Flux is followed."""
        o, s = self.options, self.services
        if not (o.prove and o.watch and o.push and o.commit and s.prover is not None):
            return False
        live = self.report.cluster is not None or s.prover is not default_prover
        return live and "smoke-test" in session.set_up


@dataclass(frozen=True)
class Session:
    """The run's state as values: the layout and the answers (the state file < the answers file <
    the flags < what was typed < what the run learned), the step table, the chosen steps, the DNS
    token given, and the plan once reviewed."""

    layout: Layout
    answers: Answers
    typed: Mapping[str, Any] = field(default_factory=dict)  # the answers typed (kept when going back to them)
    rows: tuple[ev.StepRow, ...] = ()
    chosen: tuple[str, ...] = ()
    token: str | None = field(default=None, repr=False)  # for this write (None: the Secret is kept)
    proof_token: str | None = field(default=None, repr=False)  # given in this run: the proof reads the record
    staging_first: bool = False  # the smoke test is written with letsencrypt-staging first, then promoted
    plan: Plan | None = None

    def with_answers(self, **changes: Any) -> Session:
        """This session with answers changed, checked like the answers file's (UserError). A None
        value changes nothing (as in the answers file). The layout stays: ``paths``, ``sops_secret``
        and ``cluster``, which it is discovered with, are not changed within a run."""
        fixed = set(changes) & {"paths", "sops_secret", "cluster"}
        if fixed:
            raise ValueError(f"{', '.join(sorted(fixed))}: the layout is discovered with it, once per run")
        return dataclasses.replace(self, answers=self.answers.changed(**changes))

    def written(self) -> Session:
        """This session once its plan is written: the answers know the steps the state file now records,
        so a later plan in the same run (the promotion to production) records them again, not fewer."""
        if self.plan is None or self.plan.recorded is None:
            return self
        steps, removed = self.plan.recorded
        return dataclasses.replace(
            self, answers=dataclasses.replace(self.answers, steps=steps or None, removed=removed or None)
        )

    @property
    def set_up(self) -> set[str]:
        """The steps set up after this run: the chosen ones and those of earlier runs."""
        return set(self.chosen) | set(self.answers.steps or ())

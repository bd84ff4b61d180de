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

Modules: ``contract`` (what a front end implements and receives), ``services`` (what is injected),
``session`` (the run: ``Run``, what stays; ``Session``, its state as values), ``stages`` (one async
function per stage: it emits its events and returns its result), ``run`` (the order), ``outcome``
(how a run ends), ``prove``, ``remove``, ``commands`` (steps, plan, watch, doctor, verify),
``lockstep`` (events in lockstep with the consumer).
"""

from __future__ import annotations

from wizard.flow.commands import doctor_flow, plan_flow, steps_flow, verify_flow, watch_flow
from wizard.flow.contract import (
    BACK,
    AnswersRequest,
    Back,
    Confirm,
    Decisions,
    Options,
    ReadOnlyDecisions,
    Review,
    TokenRequest,
)
from wizard.flow.outcome import unexpected
from wizard.flow.prove import proof_target, written_issuer
from wizard.flow.run import run_flow
from wizard.flow.services import (
    ClusterChecks,
    Prover,
    Services,
    TokenChecked,
    TokenChecker,
    Watcher,
    check_token_with_provider,
)
from wizard.flow.session import Run, Session
from wizard.flow.stages import PRODUCTION, STAGING, TOKEN_ATTEMPTS, step_rows

__all__ = [
    "BACK",
    "PRODUCTION",
    "STAGING",
    "TOKEN_ATTEMPTS",
    "AnswersRequest",
    "Back",
    "ClusterChecks",
    "Confirm",
    "Decisions",
    "Options",
    "Prover",
    "ReadOnlyDecisions",
    "Review",
    "Run",
    "Services",
    "Session",
    "TokenChecked",
    "TokenChecker",
    "TokenRequest",
    "Watcher",
    "check_token_with_provider",
    "doctor_flow",
    "plan_flow",
    "proof_target",
    "run_flow",
    "step_rows",
    "steps_flow",
    "unexpected",
    "verify_flow",
    "watch_flow",
    "written_issuer",
]

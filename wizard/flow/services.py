"""The services a run uses, injected (the demo swaps in a no-network token checker, the replay
watcher and prover): the engine, the secret writer, the token check, the cluster checks, the
watcher, doctor, the prover, and the cancel flag."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from wizard import events as ev
from wizard import preflight
from wizard.errors import StepFailed

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.engine import Engine
    from wizard.flow.contract import Options
    from wizard.kube import KubeConnector
    from wizard.plan import Plan
    from wizard.prove import ProveOptions, Target
    from wizard.repo import Layout
    from wizard.secrets import SecretWriter


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


def default_prover(target: Target, options: ProveOptions, kube: KubeConnector | None) -> AsyncIterator[ev.Event]:
    from wizard.prove import prove

    return prove(target, options, kube)


Prover = Callable[["Target", "ProveOptions", "KubeConnector | None"], AsyncIterator[ev.Event]]


@dataclass
class Services:
    engine: Callable[..., Engine] = _default_engine
    secret_writer: SecretWriter | None = None
    check_token: TokenChecker = check_token_with_provider
    cluster_checks: ClusterChecks = _real_cluster_checks
    watcher: Callable[[KubeConnector | None], Watcher] = _default_watcher
    doctor: Callable[[Layout | None, KubeConnector | None, bool], Awaitable[list[ev.Finding]]] = _default_doctor
    cancel: threading.Event = field(default_factory=threading.Event)
    prover: Prover | None = default_prover  # None: never prove (the run ends when Flux is ready)

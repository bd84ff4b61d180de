"""Prove the edge: the record, the addresses, port 80, the certificate and HTTPS 200 — checked.

    async for event in prove(target, ProveOptions(...), kube):   # ProofCheck..., Proof
        ...                                                       # raises StepFailed / WaitTimeout

A round makes every check once (:mod:`wizard.prove.rounds`); rounds repeat, polling, while a check
fails in a way that waiting can fix (the record not there yet, the certificate still issuing) and
the deadline allows. A failure waiting does not fix (an untrusted chain, a rate limit, a staging
certificate on the production check) stops at once. Each check is an event with what was seen and
the fix; the last event is the :class:`~wizard.events.Proof` summary.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from wizard import events as ev
from wizard.errors import StepFailed, WaitTimeout
from wizard.prove.rounds import ProveOptions, Round, Target, one_round

if TYPE_CHECKING:
    from wizard.kube import KubeConnector

__all__ = ["ProveOptions", "Target", "prove"]


async def _with_external_dns(checks: list[ev.ProofCheck], kube: KubeConnector) -> list[ev.ProofCheck]:
    """A record that is missing or wrong: its fix starts with what external-dns's pods say now."""
    from wizard.prove import cluster
    from wizard.prove.rounds import EXTERNAL_DNS_CHECKS

    if not any(c.status == "fail" and c.check in EXTERNAL_DNS_CHECKS for c in checks):
        return checks
    state = await cluster.external_dns_state(kube)
    if not state:
        return checks
    return [
        dataclasses.replace(c, fix=f"external-dns now: {state}. {c.fix}")
        if c.status == "fail" and c.check in EXTERNAL_DNS_CHECKS
        else c
        for c in checks
    ]


async def prove(target: Target, options: ProveOptions, kube: KubeConnector | None) -> AsyncIterator[ev.Event]:
    from wizard.prove import cluster

    deadline = time.monotonic() + options.timeout
    poll = min(options.poll, max(0.2, options.timeout / 5))
    said = ""
    while True:
        view = None
        if options.cluster and kube is not None:
            view = await cluster.read(kube, target.namespace, target.certificate)
        rnd: Round = await asyncio.to_thread(one_round, target, options, view)
        if rnd.proof.proven or rnd.final or time.monotonic() + poll >= deadline:
            break
        waiting = rnd.first_failure()
        if waiting and waiting.seen != said:
            said = waiting.seen
            yield ev.Info(f"waiting ({waiting.check}): {waiting.seen}")
        await asyncio.sleep(min(poll, max(0.0, deadline - time.monotonic())))
    if not rnd.proof.proven and options.cluster and kube is not None:
        rnd.checks = await _with_external_dns(rnd.checks, kube)
    for c in rnd.checks:
        yield c
    yield rnd.proof
    if rnd.proof.proven:
        return
    failed = [c for c in rnd.checks if c.status == "fail"]
    what = "; ".join(f"{c.check}: {c.seen}" for c in failed) or "a check failed"
    if rnd.waiting_only and not rnd.final:
        raise WaitTimeout(
            f"The edge of {target.host} was not proven within {options.timeout:g}s: {what}. The fixes are above; "
            f"`edge-wizard verify --timeout 10m` waits longer."
        )
    raise StepFailed(
        f"The edge of {target.host} is not proven: {what}. The fixes are above; `edge-wizard verify` checks again."
    )

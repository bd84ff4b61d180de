"""The demo's proof: a replayed one, labelled, so ``make demo`` shows the prove stage without a network.

Nothing is resolved or requested: every check and the proof carry ``replayed``, so every front end
says "replayed, not checked" where a live run says "proven".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from wizard import events as ev

if TYPE_CHECKING:
    from wizard.kube import KubeConnector
    from wizard.prove import ProveOptions, Target

ADDRESS = "203.0.113.10"  # TEST-NET-3: never a real node


def replay_prover(pace: float = 1.0):  # type: ignore[no-untyped-def]
    async def prove(target: Target, options: ProveOptions, kube: KubeConnector | None) -> AsyncIterator[ev.Event]:
        staging = target.issuer == "letsencrypt-staging"
        issuer = "(STAGING) Let's Encrypt, (STAGING) Tenuous Tomato R13" if staging else "Let's Encrypt, R13"
        lines = [
            ("addresses", f"{target.host} resolves to {ADDRESS} (the node's ExternalIP)"),
            ("port-80", f"http://{target.host}/ reaches the ingress controller (HTTP 308)"),
            ("certificate", f"Certificate podinfo/podinfo-tls is Ready ({target.issuer})"),
            ("https", f"https://{target.host}/ answered HTTP 200 from podinfo; issuer {issuer}"),
        ]
        for name, seen in lines:
            await asyncio.sleep(0.3 * pace)
            yield ev.ProofCheck(name, "ok", seen, replayed=True)
        yield ev.Proof(
            host=target.host,
            proven=True,
            issuer=target.issuer,
            addresses=(ADDRESS,),
            cert_issuer=issuer,
            names=(target.host,),
            not_after="90 days from now",
            verified=not staging,
            status=200,
            seconds=0.042,
            replayed=True,
        )

    return prove

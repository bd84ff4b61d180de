"""What a proof proves (the target, from the repository and --host) and the proof's events with
the diagnosis on failure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from wizard import events as ev
from wizard.errors import StepFailed, UserError, WaitTimeout, WizardError
from wizard.flow.contract import Options
from wizard.flow.services import Services, _default_prover

if TYPE_CHECKING:
    from wizard.kube import KubeConnector
    from wizard.prove import ProveOptions, Target
    from wizard.repo import Layout

STAGING, PRODUCTION = "letsencrypt-staging", "letsencrypt-production"


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

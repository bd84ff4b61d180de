"""The prove stages: what a proof proves (the target, from the repository and --host), the proof
with the diagnosis on failure, and after a staging proof the promotion to production (reviewed,
written, followed and proven again)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from wizard import events as ev
from wizard.errors import StepFailed, UserError, WaitTimeout
from wizard.flow import outcome, stages
from wizard.flow.contract import Back, Confirm, Options
from wizard.flow.lockstep import in_thread
from wizard.flow.outcome import Reached
from wizard.flow.services import Services, Watcher, default_prover
from wizard.flow.session import Run, Session
from wizard.flow.stages import PRODUCTION, STAGING

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.kube import KubeConnector
    from wizard.prove import ProveOptions, Target
    from wizard.repo import Layout


async def prove_and_promote(run: Run, session: Session, watcher: Watcher, sha: str, reached: Reached) -> ev.Done:
    """Prove; after a staging proof, promote to production (shown and confirmed), follow and prove again."""
    reached = await prove(run, session, STAGING if session.staging_first else None) or reached
    if not session.staging_first:
        return outcome.proven(reached, sha)
    promoted = await promote(run, session)
    if isinstance(promoted, Back) or not promoted[1].write:
        return outcome.staging_only(reached, sha)
    written = await stages.write(run, *promoted)
    sha = written.sha or sha
    reached = await stages.watch(run, promoted[0], watcher, sha) or reached
    reached = await prove(run, session, PRODUCTION) or reached
    return outcome.proven(reached, sha)


async def promote(run: Run, session: Session) -> tuple[Session, Confirm] | Back:
    """The staging proof passed: the smoke test with letsencrypt-production, shown and confirmed."""
    await run.emit(
        ev.Info("Staging is proven. Next: the smoke test with letsencrypt-production (a second commit and push).")
    )
    promoted = session.with_answers(smoke_test_issuer=PRODUCTION)
    # the smoke test has no Secret; the DNS token Secret is not touched again
    return await stages.review(run, dataclasses.replace(promoted, chosen=("smoke-test",), token=None))


async def prove(run: Run, session: Session, issuer: str | None) -> Reached | None:
    """The proof of the smoke test's host (with ``issuer``, else the one written); what it reached
    when proven. The DNS token given in this run reads the record at the provider."""
    from wizard.prove import ProveOptions

    await run.emit(ev.Stage("prove"))
    target = await in_thread(target_of, session.layout, session.answers, run.options.host, issuer)
    base = run.options.proof or ProveOptions(cluster=run.options.cluster)
    popts = dataclasses.replace(base, timeout=run.options.timeout) if run.options.proof is None else base
    if session.proof_token and not popts.token:
        popts = dataclasses.replace(popts, token=session.proof_token)
    proof = await prove_target(run, target, popts, run.kube)
    if run.kube is not None:
        await run.kube.aclose()
    if proof is None:
        return None
    said = "in the recording, " if proof.replayed else "The edge is proven: "  # a replay proves nothing
    return Reached(said + proven_text(target), f"https://{target.host}/", proof.replayed)


async def prove_target(run: Run, target: Target, popts: ProveOptions, kube: KubeConnector | None) -> ev.Proof | None:
    """The proof's events (returns the Proof that said proven, else None); on failure the doctor's
    findings (when a cluster is there) before the error."""
    prover = run.services.prover or default_prover
    proven: ev.Proof | None = None
    try:
        async for e in prover(target, popts, kube):
            if isinstance(e, ev.Proof) and e.proven:
                proven = e
            await run.emit(e)
    except (StepFailed, WaitTimeout):
        if kube is not None:
            await stages.diagnose(run, None, kube)
        raise
    return proven


def proven_text(target: Target) -> str:
    stage = "a Let's Encrypt staging" if target.issuer == STAGING else "a trusted"
    return f"{target.host} answers over HTTPS with {stage} certificate:"


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
            return Target(host=_check_host(options.host), issuer=issuer or PRODUCTION)
        raise
    return target_of(layout, answers, options.host, issuer)


def target_of(layout: Layout, answers: Answers, host: str | None, issuer: str | None) -> Target:
    """The proof's target from a layout and answers (``host``: --host, else the smoke test's)."""
    from wizard.prove import Target

    host = host or answers.resolved_host
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
    """--host (or the smoke test's host) as the proof asks for it: the one DNS name rule
    (wizard.answers.validate_domain), after forgiving spaces, a trailing dot and upper case."""
    from wizard.answers import validate_domain

    h = host.strip().rstrip(".").lower()
    if validate_domain(h, "--host") is not None:
        raise UserError(
            f"--host {host!r} is not a DNS name. The proof resolves it and asks for https://HOST/, so give the "
            "smoke test's host name, e.g. --host podinfo.apps.example.com."
        )
    return h

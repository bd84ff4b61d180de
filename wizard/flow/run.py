"""The order of ``edge-wizard run`` (and the interactive front ends): every stage, in one place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from wizard import events as ev
from wizard.errors import WizardError
from wizard.flow.contract import Back, Confirm, Decisions, Options
from wizard.flow.prove import PRODUCTION, STAGING
from wizard.flow.remove import _remove_stages
from wizard.flow.services import Services, Watcher
from wizard.flow.stages import _Run


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

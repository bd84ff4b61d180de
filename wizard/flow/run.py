"""The order of ``edge-wizard run`` and of the interactive front ends, top-down: each stage is one
call that emits its events and returns its result (flux2's ``pkg/bootstrap.Run`` is the model)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import aclosing
from typing import Any

from wizard import events as ev
from wizard.errors import WizardError
from wizard.flow import outcome, stages
from wizard.flow.contract import Back, Confirm, Decisions, Options
from wizard.flow.lockstep import Channel
from wizard.flow.outcome import Reached
from wizard.flow.prove import prove_and_promote
from wizard.flow.remove import remove
from wizard.flow.services import Services
from wizard.flow.session import Run, Session


async def order(run: Run) -> ev.Done:
    """Every stage of a run, in order; its Done (a WizardError ends it as Failed)."""
    session = await stages.preflight(run)
    if run.options.remove:
        return await remove(run, session)
    session, confirm = await choose(run, session)
    if not confirm.write:
        return outcome.declined()
    written = await stages.write(run, session, confirm)
    session = session.written()
    done = outcome.before_watch(run.options, session.chosen, written)
    if done is not None:
        return done
    assert written.sha is not None
    watcher = run.services.watcher(run.kube)
    if watcher.needs_cluster and run.report.cluster is None:
        return outcome.not_followed(written)
    reached = await stages.watch(run, session, watcher, written.sha) or Reached()
    if not run.will_prove(session):
        return outcome.reconciled(reached, written.sha)
    return await prove_and_promote(run, session, watcher, written.sha, reached)


async def choose(run: Run, base: Session) -> tuple[Session, Confirm]:
    """Answers -> step table -> steps -> token -> review, until the review is answered. Going back
    from the token or the review returns to the steps, from the steps to the answers (each time
    from the values before: nothing a later stage changed is kept)."""
    typed: dict[str, Any] = {}
    while True:
        answered = await stages.step_table(run, await stages.answers(run, base, typed))
        typed = dict(answered.typed)
        while True:
            chosen = await stages.choose_steps(run, answered)
            if isinstance(chosen, Back):
                break  # to the answers
            given = await stages.token(run, chosen)
            if isinstance(given, Back):
                continue  # to the steps
            reviewed = await stages.review(run, await stages.staging(run, given))
            if not isinstance(reviewed, Back):
                return reviewed


def run_flow(services: Services, decisions: Decisions, options: Options) -> AsyncIterator[ev.Event]:
    """Every stage of ``edge-wizard run`` (and the interactive front ends), in order. The last event is
    :class:`~wizard.events.Done` or :class:`~wizard.events.Failed`. KeyboardInterrupt propagates."""
    return events_of(order, services, decisions, options, catch_all=True)


async def events_of(
    body: Callable[[Run], Coroutine[Any, Any, ev.Done | ev.Failed]],
    services: Services,
    decisions: Decisions,
    options: Options,
    *,
    catch_all: bool = False,
) -> AsyncIterator[ev.Event]:
    """The events of ``body`` on a new run, then its Done; a WizardError as Failed (its exit code),
    with ``catch_all`` any other exception too (a bug: exit 1, unless --debug)."""
    channel = Channel()
    flow = Run.start(services, decisions, options, channel.emit)
    try:
        # closed with this generator: a consumer that stops has stopped the run when aclose returns
        async with aclosing(channel.events(body(flow))) as events:
            async for e in events:
                yield e
    except WizardError as exc:
        yield ev.Failed(flow.scrub(str(exc)), exc.exit_code)
    except (KeyboardInterrupt, asyncio.CancelledError, GeneratorExit):
        raise
    except Exception as exc:
        if not catch_all or options.debug:
            raise
        yield ev.Failed(flow.scrub(outcome.unexpected(exc)), 1)

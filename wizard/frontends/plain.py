"""Plain mode: the flow with questionary prompts, for terminals where the full-screen UI does not fit
(``edge-wizard --plain``; automatically when stdout is not a terminal but stdin is).

The same flow as the TUI and the CLI (:func:`wizard.flow.run_flow`), the same question declarations
(:mod:`wizard.questions`); this module only answers the decisions with prompts and prints the events
as lines. Every prompt uses ``unsafe_ask_async()`` so Ctrl-C propagates; it is caught once, in
:func:`run_plain`, which says what was (not) written and exits 130.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import questionary

from wizard import events as ev
from wizard import questions as Q
from wizard.flow import AnswersRequest, Back, Confirm, Options, Review, Services, TokenRequest, run_flow
from wizard.frontends.lines import attention_question, plain_line
from wizard.redact import show

Out = Callable[[str], None]
INTERRUPTED = 130
# The checkbox shows each step's state; the plan's diff is printed before "Write these changes?".
NOT_PRINTED = (ev.StepRow,)


def _echo(text: str = "") -> None:
    print(text, flush=True)


class PlainDecisions:
    interactive = True

    def __init__(self, out: Out) -> None:
        self.out = out

    async def preflight(self, checks: Sequence[ev.Check]) -> bool:
        return True  # the checks were printed; a blocking one stops the flow with its fix

    async def answers(self, request: AnswersRequest) -> dict[str, Any] | Back:
        if request.error:
            self.out(f"✗ {request.error}")
        so_far = dict(request.prefill)
        values: dict[str, Any] = {}
        for q in request.questions:
            if q.kind == "password":  # the token: asked once the chosen steps need it
                continue
            value = await ask(q, so_far, self.out)
            so_far[q.key] = value
            values[q.key] = value
        return values

    async def steps(self, rows: Sequence[ev.StepRow]) -> list[str] | Back:
        choices = [
            questionary.Choice(
                title=f"{r.title} ({r.state})",
                value=r.step,
                checked=r.state not in ("up to date", "blocked", "removed"),
            )
            for r in rows
        ]
        for r in rows:
            if r.state == "blocked":
                self.out(f"  {r.step} is blocked: {r.problem}")
        picked = await questionary.checkbox(
            "Steps to run",
            choices=choices,
            validate=lambda sel: True if sel else "Pick at least one step (space toggles, enter accepts).",
        ).unsafe_ask_async()
        order = [r.step for r in rows]
        return [n for n in order if n in (picked or [])]

    async def cluster(self, clusters: Sequence[tuple[str, str]]) -> str:
        for name, how in clusters:
            self.out(f"  {name}: {how}")
        choice = await questionary.select(
            "This repository holds several clusters. Which one do you set up?",
            choices=[name for name, _ in clusters],
        ).unsafe_ask_async()
        return str(choice)

    async def leave_out(self, blocked: Sequence[ev.StepRow]) -> bool:
        for r in blocked:
            self.out(f"✗ {r.step} cannot run: {r.problem}")
        names = ", ".join(r.step for r in blocked)
        return bool(
            await questionary.confirm(f"Leave out {names} and run the others?", default=False).unsafe_ask_async()
        )

    async def token(self, request: TokenRequest) -> str | None | Back:
        if request.error:
            self.out(f"✗ {request.error}")
        if request.exists and request.attempt == 1:
            replace = await questionary.confirm(
                f"{request.path} exists. Replace the DNS token?", default=False
            ).unsafe_ask_async()
            if not replace:
                return None
        q = next(q for q in Q.QUESTIONS if q.key == "token")
        value = await ask(q, {"dns_provider": request.provider}, self.out, help_text=request.help)
        return str(value).strip()

    async def confirm(self, review: Review) -> Confirm | Back:
        if review.empty:
            self.out("Nothing to change: the repository is up to date.")
            return Confirm()
        if review.plan.pending or review.writes_secret or review.actions:
            if not await questionary.confirm("Write these changes?", default=False).unsafe_ask_async():
                return Confirm(write=False)
        else:
            self.out("Nothing new to write.")
        accept = False
        if review.attention:
            for a in review.attention:
                self.out(show(plain_line(a)))
            names = ", ".join(a.step for a in review.attention)
            accept = bool(
                await questionary.confirm(
                    f"{attention_question(review.attention)} (no: leave out {names})", default=False
                ).unsafe_ask_async()
            )
        commit = bool(await questionary.confirm("Commit and push them?", default=True).unsafe_ask_async())
        return Confirm(write=True, commit=commit, accept_attention=accept)


class _Progress:
    """What this run changed on disk, for the message after Ctrl-C or a failure. The engine writes
    the plan as one transaction, so the first FileWritten means every planned file is on disk."""

    def __init__(self) -> None:
        self.planned: list[str] = []
        self.written: list[str] = []
        self.committed = False

    def see(self, e: ev.Event) -> None:
        if isinstance(e, ev.FileChange) or (isinstance(e, ev.SecretChange) and e.status != "exists"):
            self.planned.append(e.path)
        if isinstance(e, ev.FileWritten | ev.SecretEncrypted) and not self.written:
            self.written = list(self.planned)
        if isinstance(e, ev.SecretEncrypted) and not e.changed and e.path in self.written:
            self.written.remove(e.path)  # it already held this token: not rewritten
        if isinstance(e, ev.Committed):
            self.committed = True

    def report(self, out: Out, *, after_error: bool = False) -> None:
        if not self.written:
            if not after_error:
                out("No changes were made.")
            return
        state = "written and committed" if self.committed else "written (not committed)"
        out(f"These files were already {state}:")
        for path in self.written:
            out(f"  {path}")
        out("Re-running edge-wizard is safe: it continues from what is on disk.")


def run_plain(
    options: Options,
    *,
    debug: bool = False,
    out: Out = _echo,
    services: Services | None = None,
    record: list[ev.Event] | None = None,
    wrap: Callable[[AsyncIterator[ev.Event]], AsyncIterator[ev.Event]] | None = None,
) -> int:
    """Run the interactive plain-mode wizard; returns the exit code (0, 1, 2, 3 or 130).
    ``record`` collects every event of the flow (tests compare front ends with it); ``wrap`` (the
    demo's captions) sees the flow's events first."""
    progress = _Progress()
    flow = run_flow(services or Services(), PlainDecisions(out), options)
    if wrap is not None:
        flow = wrap(flow)

    async def go(events: AsyncIterator[ev.Event]) -> int:
        code = 0
        async for e in events:
            if record is not None:
                record.append(e)
            progress.see(e)
            if isinstance(e, ev.Failed):
                code = e.exit_code
                out(show(plain_line(e)))
                progress.report(out, after_error=True)
                continue
            if isinstance(e, ev.Done):
                code = 0
            if not isinstance(e, NOT_PRINTED):
                text = plain_line(e)
                if text:
                    out(show(text))
        return code

    try:
        return asyncio.run(go(flow))
    except KeyboardInterrupt:
        out("")
        out("Interrupted.")
        progress.report(out)
        return INTERRUPTED


# -- rendering one declared question with questionary ---------------------------------------------
async def ask(q: Q.Question, so_far: dict[str, Any], out: Out = _echo, *, help_text: str | None = None) -> Any:
    """Render ``q`` as a questionary prompt (validated by ``q.check``) and return the answer."""
    text = q.help if help_text is None else help_text
    if text:
        out(f"  {text}")

    def validate(value: Any) -> bool | str:
        err = q.check(value, so_far)
        return True if err is None else err

    default = q.default_for(so_far)
    if q.kind == "select":
        choices = [questionary.Choice(title=label, value=value) for value, label in q.choices]
        known = {value for value, _ in q.choices}
        return await questionary.select(
            q.label, choices=choices, default=default if default in known else None
        ).unsafe_ask_async()
    if q.kind == "confirm":
        return bool(await questionary.confirm(q.label, default=bool(default)).unsafe_ask_async())
    if q.kind == "password":
        return await questionary.password(q.label, validate=validate).unsafe_ask_async()
    value = await questionary.text(
        q.label, default="" if default is None else str(default), validate=validate
    ).unsafe_ask_async()
    return value.strip() if isinstance(value, str) else value

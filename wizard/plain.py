"""Plain mode: the wizard's flow with questionary prompts, for terminals where the full-screen UI
does not fit (``edge-wizard --plain``; automatically when stdout is not a terminal but stdin is).

Same flow as the Textual UI, from the same declarations (wizard.questions) and the same engine:
steps to run -> answers -> DNS token (masked) -> diff -> confirm -> engine events as plain lines.

Every prompt uses ``unsafe_ask()`` so Ctrl-C propagates; it is caught once, in :func:`run_plain`,
which says what was (not) written and exits 130.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import questionary

from wizard import questions as Q
from wizard import steps as steps_mod
from wizard.engine import Engine, RunOptions
from wizard.errors import UserError, WizardError
from wizard.events import Committed, Event, FileWritten, SecretEncrypted
from wizard.plan import Plan
from wizard.render import plain_line

Out = Callable[[str], None]
TOKEN_ATTEMPTS = 3
INTERRUPTED = 130


def _echo(text: str = "") -> None:
    print(text, flush=True)


def run_plain(
    *,
    repo: str | None = None,
    answers_file: str | None = None,
    context: str | None = None,
    debug: bool = False,
    out: Out = _echo,
    engine_factory: Callable[..., Engine] = Engine,
) -> int:
    """Run the interactive plain-mode wizard; returns the exit code (0, 1, 2, 3 or 130)."""
    flow = _Flow(repo=repo, answers_file=answers_file, context=context, out=out, engine_factory=engine_factory)
    try:
        return flow.run()
    except KeyboardInterrupt:
        out("")
        out("Interrupted.")
        flow.report_written()
        return INTERRUPTED
    except WizardError as exc:
        if debug:
            raise
        out(f"✗ {exc}")
        flow.report_written(after_error=True)
        return exc.exit_code


class _Flow:
    def __init__(
        self,
        *,
        repo: str | None,
        answers_file: str | None,
        context: str | None,
        out: Out,
        engine_factory: Callable[..., Engine],
    ) -> None:
        self.repo = repo
        self.answers_file = answers_file
        self.context = context
        self.out = out
        self.engine_factory = engine_factory
        self.written: list[str] = []  # files on disk changed by this run, in order
        self.committed = False

    # -- the flow -------------------------------------------------------------------------------
    def run(self) -> int:
        base = self.engine_factory(repo=self.repo, answers_file=self.answers_file)
        prefill = base.prefill()
        selected = self.choose_steps(base, prefill)
        values = self.ask_answers(selected, prefill)

        engine = self.engine_factory(repo=self.repo, answers_file=self.answers_file, overrides=Q.to_overrides(values))
        plan = engine.plan(selected)
        token = self.ask_token(engine, plan, values)
        if token is not None:
            plan = engine.plan(selected)  # the provider may have named a longer zone

        self.show_plan(plan, token)
        if not plan.pending and not (token and plan.secrets):
            self.out("Nothing to change: the repository is up to date.")
            return 0
        if not questionary.confirm("Write these changes?", default=False).unsafe_ask():
            self.out("No changes were made.")
            return 0
        commit = bool(questionary.confirm("Commit and push them?", default=True).unsafe_ask())

        options = RunOptions(commit=commit, push=commit, watch=False, token=token, context=self.context)
        for event in engine.run(plan, options):
            self.on_event(event)
        if not commit:
            self.out(
                "Files written, not committed. Review them with `git diff`; then "
                f"`edge-wizard run {' '.join(selected)} --yes` commits and pushes them."
            )
        return 0

    # -- steps ----------------------------------------------------------------------------------
    def choose_steps(self, engine: Engine, prefill: dict[str, Any]) -> list[str]:
        choices = []
        for step in steps_mod.select(None):
            state = self.step_state(engine, step.name)
            choices.append(
                questionary.Choice(title=f"{step.title} ({state})", value=step.name, checked=state != "up to date")
            )
        picked = questionary.checkbox(
            "Steps to run",
            choices=choices,
            validate=lambda sel: True if sel else "Pick at least one step (space toggles, enter accepts).",
        ).unsafe_ask()
        return [n for n in steps_mod.NAMES if n in (picked or [])]

    @staticmethod
    def step_state(engine: Engine, name: str) -> str:
        try:
            return engine.plan([name]).step_state(name)
        except UserError:
            return "needs answers"

    # -- answers --------------------------------------------------------------------------------
    def ask_answers(self, selected: list[str], prefill: dict[str, Any]) -> dict[str, Any]:
        so_far = dict(prefill)
        values: dict[str, Any] = {}
        for q in Q.for_steps(selected):
            if q.kind == "password":  # the token: asked once the plan says it is needed
                continue
            value = ask(q, so_far, self.out)
            so_far[q.key] = value
            values[q.key] = value
        return values

    def ask_token(self, engine: Engine, plan: Plan, values: dict[str, Any]) -> str | None:
        if not plan.secrets:
            return None
        q = next(q for q in Q.QUESTIONS if q.key == "token")
        if all(s.exists for s in plan.secrets):
            paths = ", ".join(s.path for s in plan.secrets)
            if not questionary.confirm(f"{paths} exists. Replace the DNS token?", default=False).unsafe_ask():
                return None
        so_far = {**values, "dns_provider": engine.answers.dns_provider if engine.answers else None}
        for attempt in range(1, TOKEN_ATTEMPTS + 1):
            token = str(ask(q, so_far, self.out, help_text=Q.token_help(so_far))).strip()
            try:
                events = engine.check_token(token)
            except UserError as exc:
                if attempt == TOKEN_ATTEMPTS:
                    raise
                self.out(f"✗ {_scrub(str(exc), token)}")
                continue
            for event in events:
                self.emit(event, token)
            return token
        return None  # pragma: no cover - the loop returns or raises

    # -- plan and run ---------------------------------------------------------------------------
    def show_plan(self, plan: Plan, token: str | None) -> None:
        for w in plan.warnings:
            self.out(f"⚠ {w}")
        for change in plan.pending:
            self.out(change.diff().rstrip("\n"))
        for secret in plan.secrets:
            if not secret.exists:
                state = "new"
            elif token:
                state = "exists; re-encrypted with the new token if it changed"
            else:
                state = "exists; kept as is"
            self.out(
                f"# {secret.path}: sops-encrypted Secret {secret.namespace}/{secret.name} ({state}; "
                "its value is never shown)"
            )

    def on_event(self, event: Event) -> None:
        if isinstance(event, FileWritten) or (isinstance(event, SecretEncrypted) and event.changed):
            self.written.append(event.path)
        if isinstance(event, Committed):
            self.committed = True
        self.emit(event)

    def emit(self, event: Event, token: str | None = None) -> None:
        text = plain_line(event)
        if text:
            self.out(_scrub(text, token) if token else text)

    def report_written(self, *, after_error: bool = False) -> None:
        if not self.written:
            if not after_error:
                self.out("No changes were made.")
            return
        state = "written and committed" if self.committed else "written (not committed)"
        self.out(f"These files were already {state}:")
        for path in self.written:
            self.out(f"  {path}")
        self.out("Re-running edge-wizard is safe: it continues from what is on disk.")


# -- rendering one declared question with questionary ---------------------------------------------
def ask(q: Q.Question, so_far: dict[str, Any], out: Out = _echo, *, help_text: str | None = None) -> Any:
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
        return questionary.select(q.label, choices=choices, default=default if default in known else None).unsafe_ask()
    if q.kind == "confirm":
        return bool(questionary.confirm(q.label, default=bool(default)).unsafe_ask())
    if q.kind == "password":
        return questionary.password(q.label, validate=validate).unsafe_ask()
    value = questionary.text(q.label, default="" if default is None else str(default), validate=validate).unsafe_ask()
    return value.strip() if isinstance(value, str) else value


def _scrub(text: str, token: str | None) -> str:
    from wizard.redact import show  # the one scrubber

    return show(text, [token])

"""The step table beside what planning each step through the engine says (wizard.steptable)."""

from __future__ import annotations

from pathlib import Path

from wizard.engine import Engine
from wizard.errors import WizardError
from wizard.steps import NAMES
from wizard.steptable import StepRow, step_table


def engine_states(repo: Path, answers: Path | None) -> dict[str, str]:
    """What front ends computed before: one full engine plan per step."""
    engine = Engine(repo=repo, answers_file=str(answers) if answers else None)
    engine.load()
    out = {}
    for name in NAMES:
        try:
            out[name] = engine.plan([name]).step_state(name)
        except WizardError:
            out[name] = "blocked"
    return out


def table(repo: Path, answers: Path | None) -> list[StepRow]:
    layout, ans = Engine(repo=repo, answers_file=str(answers) if answers else None).load()
    return step_table(layout, ans)

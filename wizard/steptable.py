"""The step table: each step with its state (new / changes / up to date / blocked), UI-free.

Every front end shows it (``edge-wizard steps``, the plain prompts, the TUI's steps screen); it is
computed here once per layout and answers. Each step is planned on its own, exactly as
``edge-wizard run STEP`` would plan it, but as cheaply as that can be: the layout is discovered
once (and reads through the shared index), assets are read as data only (their comments and
layout matter only to the text written, with the C loader, once per process), and a file a step
creates or changes is never rendered to text unless the step reads it back: its state does not
depend on the text.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard import catalog, yamlio
from wizard.answers import Answers
from wizard.errors import NotApplicable, WizardError
from wizard.plan import FileChange, Plan, Workspace
from wizard.repo import Layout

# removed: taken out again (`run STEP --remove`, recorded in the state file); `run` without step names
# leaves it out, `run STEP` adds it back
# not applicable: nothing to do on this repository (no Cilium host policy): left out of `run` without step
# names; in place: what the cluster has does the step's job (another edge stack)
STATES = ("new", "changes", "up to date", "in place", "not applicable", "blocked", "removed")


@dataclass(frozen=True)
class StepRow:
    step: str
    title: str
    summary: str
    state: str  # one of STATES
    problem: str = ""  # why the step is blocked (what to do), empty otherwise

    def to_json(self) -> dict[str, str]:
        return {
            "step": self.step,
            "title": self.title,
            "state": self.state,
            "summary": self.summary,
            "problem": self.problem,
        }


@functools.lru_cache(maxsize=64)
def _parsed(text: str, source: str) -> yamlio.YamlDoc:
    """Each repository file's text is parsed round-trip once per process (steps get copies)."""
    return yamlio.parse(text, source=source)


@dataclass(frozen=True)
class _KnownChange(FileChange):
    """A file a step created or changed (so its status is known) whose new text was not rendered."""

    @property
    def status(self) -> str:
        return "new" if self.old is None else "changed"


class _StateWorkspace(Workspace):
    """A workspace that keeps written documents unrendered until someone reads them back."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._docs: dict[str, Any] = {}

    def write_doc(self, rel: str, doc: Any, step: str) -> None:
        super().write(
            rel, "", step
        )  # (clears a pending delete of rel)  # the owner is recorded now; the text only on a read
        self._docs[rel] = doc

    def write(self, rel: str, text: str, step: str) -> None:
        self._docs.pop(rel, None)
        super().write(rel, text, step)

    def read(self, rel: str) -> str | None:
        if rel in self._docs:
            self._pending[rel] = yamlio.render(self._docs.pop(rel))
        return super().read(rel)

    def read_doc(self, rel: str) -> Any | None:
        if rel in self._docs:  # a document this plan wrote: hand it back, no render and re-parse
            return self._docs[rel]
        text = super().read(rel)
        return None if text is None else copy.deepcopy(_parsed(text, rel))

    def prepare_edit(self, doc: Any) -> None:
        """Nothing: a state is not a text, so where a comment would land does not matter here."""

    def changes(self) -> list[FileChange]:
        out: list[FileChange] = []
        for c in super().changes():
            out.append(_KnownChange(c.path, c.old, "", c.steps) if c.path in self._docs and not c.deleted else c)
        return out


def step_state(layout: Layout, answers: Answers, step: Any) -> StepRow:
    """One row: plan ``step`` alone (no state file, nothing rendered that need not be)."""
    from wizard.steps import Context

    try:
        ws = _StateWorkspace(layout.root)
        with catalog.unrendered():
            sp = step.plan(Context(layout=layout, answers=answers, ws=ws))
        state, problem = Plan(steps=[sp], changes=ws.changes()).step_state(step.name), sp.in_place
        if state == "new" and step.name in (answers.removed or ()):
            state = "removed"
            problem = f"removed (run {step.name} --remove); `edge-wizard run {step.name}` adds it back"
    except NotApplicable as exc:
        state, problem = "not applicable", str(exc)
    except WizardError as exc:  # a step that cannot plan yet (missing answer, two policies, ...)
        state, problem = "blocked", str(exc)
    return StepRow(step.name, step.title, step.summary, state, problem)


def step_table(
    layout: Layout,
    answers: Answers,
    steps: Sequence[str] | None = None,
    *,
    unavailable: Mapping[str, str] | None = None,
) -> list[StepRow]:
    """The rows of ``steps`` (default: all), in the canonical order. A step named in
    ``unavailable`` (step -> reason, e.g. from preflight) is ``blocked`` without planning it."""
    from wizard import index
    from wizard import steps as steps_mod

    rows = []
    with index.for_root(layout.root).snapshot():  # the steps plan in memory: the tree is walked once
        for s in steps_mod.select(list(steps) if steps else None):
            reason = (unavailable or {}).get(s.name)
            rows.append(
                StepRow(s.name, s.title, s.summary, "blocked", reason) if reason else step_state(layout, answers, s)
            )
    return rows


__all__ = ["STATES", "StepRow", "step_state", "step_table"]

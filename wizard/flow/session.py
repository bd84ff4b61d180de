"""The run's state as values: each stage takes a :class:`Session` and hands on the next.

A changed answer (the zone the provider names, the smoke test's issuer) is a new session value,
``session.with_answers(zone=...)``; the engine is made and loaded once per run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.repo import Layout


@dataclass(frozen=True)
class Session:
    """The layout and the answers (the state file < the answers file < the flags < what was typed <
    what the run learned)."""

    layout: Layout
    answers: Answers

    def with_answers(self, **changes: Any) -> Session:
        """This session with answers changed, checked like the answers file's (UserError). A None
        value changes nothing (as in the answers file). The layout stays: ``paths``, ``sops_secret``
        and ``cluster``, which it is discovered with, are not changed within a run."""
        fixed = set(changes) & {"paths", "sops_secret", "cluster"}
        if fixed:
            raise ValueError(f"{', '.join(sorted(fixed))}: the layout is discovered with it, once per run")
        return dataclasses.replace(self, answers=self.answers.changed(**changes))

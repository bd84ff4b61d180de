"""What the screens share during one run of the wizard (plain data, no Textual)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.engine import Engine
from wizard.plan import Plan

EngineFactory = Callable[..., Engine]


@dataclass
class Session:
    engine_factory: EngineFactory
    repo: str | None
    answers_file: str | None
    context: str | None = None
    debug: bool = False
    engine: Engine | None = None
    values: dict[str, Any] = field(default_factory=dict)
    # The DNS token: in memory only, handed to engine.check_token and RunOptions.token.
    token: str | None = field(default=None, repr=False)
    steps: list[str] = field(default_factory=list)
    plan: Plan | None = None
    pushed_sha: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def new_engine(self, overrides: dict[str, Any] | None = None) -> Engine:
        return self.engine_factory(repo=self.repo, answers_file=self.answers_file, overrides=overrides)

    def base_engine(self) -> Engine:
        if self.engine is None:
            self.engine = self.new_engine()
        return self.engine

    @property
    def root(self) -> Path | None:
        e = self.engine
        return e.layout.root if e is not None and e.layout is not None else None

    def scrub(self, text: str) -> str:
        """Remove the token from any text that is about to be shown; shorten home paths to ~."""
        from wizard.redact import show  # the one scrubber

        text = show(text, [self.token])
        home = str(Path.home())
        if len(home) > 1:
            for h in {home, os.path.realpath(home)}:
                text = text.replace(h + "/", "~/")
        return text

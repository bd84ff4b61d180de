"""CLI output: plain lines (no colour, no spinners) or one JSON object per event (``--json``)."""

from __future__ import annotations

import json
import sys
from typing import Any

from wizard import events as ev
from wizard.frontends.lines import plain_line
from wizard.redact import scrub, show

# What a text stream shows of the plan: the diff is for `plan` and the confirmation prompt.
QUIET_IN_RUN = (ev.StepRow, ev.FileChange, ev.SecretChange, ev.OutsideAction, ev.Migration, ev.Attention)


class OutputClosed(Exception):
    """The reader of our output went away (``edge-wizard steps | head -1``): stop, quietly."""


def _print(text: str, stream: Any) -> None:
    # one write for the line and its newline: under PYTHONUNBUFFERED (containers, CI) print() makes
    # two, and whoever reads a pipe is woken twice per line
    try:
        stream.write(text + "\n")
        stream.flush()
    except BrokenPipeError:
        raise OutputClosed from None


class Out:
    def __init__(self, json_mode: bool, *, show_plan: bool = True, show_checks: bool = True) -> None:
        self.json = json_mode
        self.show_plan = show_plan
        self.show_checks = show_checks
        self.exit_code = 0

    def line(self, text: str = "") -> None:
        if not self.json:
            _print(show(text), sys.stdout)

    def obj(self, data: dict[str, Any]) -> None:
        if self.json:
            _print(scrub(json.dumps(data, sort_keys=True)), sys.stdout)

    def error(self, text: str, code: int) -> None:
        self.event(ev.Failed(text, code))

    def event(self, e: ev.Event) -> None:
        if isinstance(e, ev.Failed):
            self.exit_code = e.exit_code
        elif isinstance(e, ev.Done):
            self.exit_code = 0
        if self.json:
            self.obj(e.to_json())
            return
        if not self.show_plan and isinstance(e, QUIET_IN_RUN):
            return
        if isinstance(e, ev.Check) and (not self.show_checks or e.status == "ok"):
            return
        text = plain_line(e)
        if not text:
            return
        stream = sys.stderr if isinstance(e, ev.Failed | ev.Warning) else sys.stdout
        _print(show(text), stream)

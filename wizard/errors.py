"""Errors that front ends turn into exit codes.

Every message is one paragraph that says what was seen, why it matters and what to do next.
"""

from __future__ import annotations


class WizardError(Exception):
    """Base class: carries the exit code the CLI uses."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} {self.hint}"


class UserError(WizardError):
    """Bad input, usage or repository layout. Nothing was written. Exit code 2."""

    exit_code = 2


class NotApplicable(UserError):
    """A step has nothing to do on this repository as it is (no Cilium host policy for the firewall
    rule): shown as "not applicable" and left out of a run without step names; named on the command
    line it is refused like bad input (exit 2), with the reason."""


class StepFailed(WizardError):
    """A step or a later stage (encrypt, commit, push, reconcile) failed. Exit code 1."""

    exit_code = 1


class WaitTimeout(WizardError):
    """Waiting for the cluster timed out. Exit code 3."""

    exit_code = 3


class Cancelled(WizardError):
    """The person stopped the run (a front end's quit while writing). Exit code 130."""

    exit_code = 130

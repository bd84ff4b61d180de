"""The base of every stage screen.

Decision screens (answers, steps, token, review, preflight's Continue) resolve :attr:`answer`, a
future the app awaits for the flow; view screens (write, reconcile, done) only receive the flow's
events through :meth:`on_flow_event`. The app replaces one stage screen with the next, so nothing
flashes in between while the flow works.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from wizard import events as ev

if TYPE_CHECKING:
    from wizard.frontends.tui.app import WizardApp


class WizardScreen(Screen[Any]):
    stage = ""

    def __init__(self) -> None:
        super().__init__()
        self.answer: asyncio.Future[Any] | None = None

    @property
    def wizard(self) -> WizardApp:
        return self.app  # type: ignore[return-value]

    def expect(self) -> asyncio.Future[Any]:
        """A fresh future for the next answer of this screen."""
        self.answer = asyncio.get_running_loop().create_future()
        return self.answer

    def give(self, value: Any) -> bool:
        """Answer the flow (once per question); False if no question is pending."""
        if self.answer is None or self.answer.done():
            return False
        self.answer.set_result(value)
        return True

    @property
    def asking(self) -> bool:
        return self.answer is not None and not self.answer.done()

    def on_flow_event(self, event: ev.Event) -> None:
        """Hook: a view screen shows the flow's events."""

    def on_flow_failed(self, failed: ev.Failed) -> None:
        """Hook: the flow stopped while this screen was shown."""

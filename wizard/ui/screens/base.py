"""The base of every stage screen: the one place worker failures become the error dialog."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from wizard.ui.app import WizardApp


class WizardScreen(Screen[Any]):
    """Workers started by a screen report here (Worker.StateChanged does not bubble)."""

    stage = ""

    @property
    def wizard(self) -> WizardApp:
        return self.app  # type: ignore[return-value]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.worker_failed(event.worker.error)
            self.wizard.show_error(event.worker.error)

    def worker_failed(self, error: BaseException) -> None:
        """Hook: let the screen reset its own state (buttons, spinners) after a failure."""

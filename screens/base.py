"""What every Grid Kiosk screen shares: typed access to the app, and worker failures shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.screen import Screen
from textual.worker import Worker, WorkerState

from kiosk.errors import describe

if TYPE_CHECKING:
    from kiosk.app import KioskApp


class KioskScreen(Screen[Any]):
    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A screen's worker failed: say so in the interface's language (the traceback goes to
        the log). ``Worker.StateChanged`` does not bubble to the app, so every screen handles
        its own; screens that need more override this."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(describe(event.worker.error), severity="error", timeout=8)

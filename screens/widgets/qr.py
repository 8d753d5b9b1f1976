"""The household's label on screen: its QR code in half-block characters, black on white
whatever the theme (with the standard quiet zone, so a phone reads it off the screen), and
the readable code under it. A household without a label gets one on first show (docs/qr.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from db.labels import Label, active_household_label, ensure_household_label
from kiosk.i18n import t
from kiosk.qr.payload import Payload, make
from kiosk.qr.terminal import qr_text

if TYPE_CHECKING:
    from kiosk.app import KioskApp


class HouseholdQR(Vertical):
    """The label panel of the household screen (``#household-qr``)."""

    DEFAULT_CSS = """
    HouseholdQR {
        height: auto;
        width: 100%;
        padding: 0 1;
    }
    HouseholdQR > .qr-title {
        text-style: bold;
        color: $accent;
    }
    HouseholdQR > #qr-code {
        width: auto;
        height: auto;
    }
    HouseholdQR > #qr-readable {
        width: 29;
        text-align: center;
        text-style: bold;
        color: $text;
    }
    HouseholdQR > #qr-hint {
        color: $text-muted;
    }
    """

    class Ready(Message):
        """The household's label is known (handled by HouseholdQR)."""

        def __init__(self, payload: Payload, generation: int) -> None:
            super().__init__()
            self.payload = payload
            self.generation = generation

    def __init__(self, household_id: str, *, id: str = "household-qr") -> None:
        super().__init__(id=id)
        self.household_id = household_id
        self.payload: Payload | None = None

    def compose(self) -> ComposeResult:
        yield Static(t("qr.ui.panel_title"), classes="qr-title")
        yield Static(t("ui.loading"), id="qr-code")
        yield Static("", id="qr-readable")
        yield Static("", id="qr-hint")

    def on_mount(self) -> None:
        self.load()

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    @work(thread=True, exclusive=True, group="household-qr", exit_on_error=False)
    def load(self) -> None:
        hid = self.household_id
        label: Label | None = active_household_label(self.kiosk.read(), hid)
        if label is None:
            try:
                label = self.kiosk.write(lambda ctx: ensure_household_label(ctx, hid))
            except KeyError:
                return  # the household is gone; the screen says so
        self.post_message(self.Ready(make("HH", label.code), label.generation))

    def on_worker_state_changed(self, event) -> None:
        # Worker.StateChanged does not bubble: this widget's failures are shown here.
        from textual.worker import WorkerState

        from kiosk.errors import describe

        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.query_one("#qr-code", Static).update(describe(event.worker.error))

    def on_household_qr_ready(self, message: Ready) -> None:
        self.payload = message.payload
        self.query_one("#qr-code", Static).update(qr_text(message.payload.text))
        self.query_one("#qr-readable", Static).update(message.payload.readable)
        self.query_one("#qr-hint", Static).update(
            t("qr.ui.generation", generation=message.generation))

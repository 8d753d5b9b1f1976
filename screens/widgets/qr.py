"""The household's label on screen: its QR code in half-block characters, black on white
whatever the theme (with the standard quiet zone, so a phone reads it off the screen), and
the readable code under it. A household without a label gets one on first show (docs/qr.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from db.labels import Label, active_household_label, ensure_household_label
from kiosk.i18n import t
from kiosk.qr.encode import qr_matrix
from kiosk.qr.payload import Payload, make
from kiosk.qr.terminal import half_block_lines, qr_text

if TYPE_CHECKING:
    from kiosk.app import KioskApp


class HouseholdQR(Static):
    """The label panel of the household screen (``#household-qr``): one widget, so the screen
    mounts no faster or slower for it than for a line of text."""

    DEFAULT_CSS = """
    HouseholdQR {
        height: auto;
        width: auto;
        padding: 0 1;
    }
    """

    class Ready(Message):
        """The household's label is known (handled by HouseholdQR)."""

        def __init__(self, payload: Payload, generation: int) -> None:
            super().__init__()
            self.payload = payload
            self.generation = generation

    def __init__(self, household_id: str, *, id: str = "household-qr") -> None:
        super().__init__(self._panel(Text(t("ui.loading"), style="dim")), id=id)
        self.household_id = household_id
        self.payload: Payload | None = None

    @staticmethod
    def _panel(*parts: Text) -> Text:
        title = Text(t("qr.ui.panel_title"), style="bold")
        return Text("\n").join([title, *parts])

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
            self.update(self._panel(Text(describe(event.worker.error), style="red")))

    def on_household_qr_ready(self, message: Ready) -> None:
        self.payload = message.payload
        code = qr_text(message.payload.text)
        width = code.cell_len if "\n" not in code.plain else max(
            len(line) for line in code.plain.splitlines())
        readable = Text(message.payload.readable.center(width), style="bold")
        hint = Text(t("qr.ui.generation", generation=message.generation), style="dim")
        self.update(self._panel(code, readable, hint))

    @property
    def code_lines(self) -> list[str]:
        """The half-block lines of the code as drawn (empty until the label is known)."""
        if self.payload is None:
            return []
        return half_block_lines(qr_matrix(self.payload.text))

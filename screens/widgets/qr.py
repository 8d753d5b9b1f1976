"""The household's label on screen: its QR code in half-block characters, black on white
whatever the theme (with the standard quiet zone, so a phone reads it off the screen), and
the readable code under it. A household without a label gets one on first show (docs/qr.md).

The household screen hands it the label it read with the household (:meth:`HouseholdQR.show`);
only a household without a label yet makes the panel load (and write) one in a worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from db.labels import Label, active_household_label, ensure_household_label
from kiosk.core.i18n import t
from kiosk.qr.encode import qr_matrix
from kiosk.qr.payload import Payload, make
from kiosk.qr.terminal import half_block_lines, qr_text

if TYPE_CHECKING:
    from kiosk.app.shell import KioskApp


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

        def __init__(self, household_id: str, payload: Payload, generation: int) -> None:
            super().__init__()
            self.household_id = household_id
            self.payload = payload
            self.generation = generation

    def __init__(self, household_id: str | None = None, *, id: str = "household-qr") -> None:
        """``household_id`` None: the panel waits for :meth:`show`."""
        super().__init__(self._loading(), id=id)
        self.household_id = household_id
        self.payload: Payload | None = None

    @classmethod
    def _loading(cls) -> Text:
        return cls._panel(Text(t("ui.loading"), style="dim"))

    @staticmethod
    def _panel(*parts: Text) -> Text:
        title = Text(t("qr.ui.panel_title"), style="bold")
        return Text("\n").join([title, *parts])

    def on_mount(self) -> None:
        if self.household_id is not None and self.payload is None:
            self.load(self.household_id)

    def show(self, household_id: str, label: Label | None) -> None:
        """Show ``household_id``'s label; None: it has none yet, one is made in a worker."""
        self.household_id = household_id
        if label is not None:
            self._show(make("HH", label.code), label.generation)
            return
        self.payload = None
        self.update(self._loading())
        self.load(household_id)

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    @work(thread=True, exclusive=True, group="household-qr", exit_on_error=False)
    def load(self, hid: str) -> None:
        label: Label | None = active_household_label(self.kiosk.read(), hid)
        if label is None:
            try:
                label = self.kiosk.write(lambda ctx: ensure_household_label(ctx, hid))
            except KeyError:
                return  # the household is gone; the screen says so
        self.post_message(self.Ready(hid, make("HH", label.code), label.generation))

    def on_worker_state_changed(self, event) -> None:
        # Worker.StateChanged does not bubble: this widget's failures are shown here.
        from textual.worker import WorkerState

        from kiosk.core.errors import describe

        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.update(self._panel(Text(describe(event.worker.error), style="red")))

    def on_household_qr_ready(self, message: Ready) -> None:
        if message.household_id == self.household_id:  # not a label of a household shown before
            self._show(message.payload, message.generation)

    def _show(self, payload: Payload, generation: int) -> None:
        self.payload = payload
        code = qr_text(payload.text)
        width = (
            code.cell_len
            if "\n" not in code.plain
            else max(len(line) for line in code.plain.splitlines())
        )
        readable = Text(payload.readable.center(width), style="bold")
        hint = Text(t("qr.ui.generation", generation=generation), style="dim")
        self.update(self._panel(code, readable, hint))

    @property
    def code_lines(self) -> list[str]:
        """The half-block lines of the code as drawn (empty until the label is known)."""
        if self.payload is None:
            return []
        return half_block_lines(qr_matrix(self.payload.text))

"""A yes/no question in a modal: ``ConfirmScreen(message)`` returns True or False."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from kiosk.core.i18n import t, term


class ConfirmScreen(ModalScreen[bool]):
    """Ask before doing something that cannot be undone. ``y``/Enter on Yes confirms,
    ``n``/Escape declines."""

    #: what the acting worker needs to open it (None: the mode's or the caller's check)
    PERMISSION: ClassVar[str | None] = None

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
    }
    ConfirmScreen > Vertical {
        width: 60;
        max-width: 90%;
        height: auto;
        border: thick $warning 60%;
        background: $surface;
        padding: 1 2;
    }
    ConfirmScreen #confirm-message {
        margin-bottom: 1;
    }
    ConfirmScreen Horizontal {
        height: auto;
        align-horizontal: right;
    }
    ConfirmScreen Button {
        margin-left: 2;
    }
    """

    BINDINGS = [
        Binding(
            "y",
            "answer(True)",
            term("visits.confirm.yes"),
            id="confirm.yes",
            tooltip=term("visits.confirm.yes"),
        ),
        Binding(
            "n,escape",
            "answer(False)",
            term("visits.confirm.no"),
            id="confirm.no",
            tooltip=term("visits.confirm.no"),
        ),
    ]

    def __init__(self, message: str, *, yes: str | None = None, no: str | None = None) -> None:
        super().__init__()
        self.message = message
        self.yes_label = yes or t("visits.confirm.yes")
        self.no_label = no or t("visits.confirm.no")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.message, id="confirm-message")
            with Horizontal():
                yield Button(self.no_label, id="confirm-no")
                yield Button(self.yes_label, id="confirm-yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()  # the safe answer is the default

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

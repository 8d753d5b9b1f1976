"""The lock screen: over everything, opaque, showing only who is signed in and a PIN field.

It comes after ``lock_minutes`` without a key or mouse event, or at once with Ctrl+L
(``KioskApp.lock``). The screens under it stay as they were (a half-typed visit is still there
after unlocking, and saved as a draft anyway); nothing of them is drawn while it is up, and
the app refuses every other screen, mode and key. The same worker's PIN unlocks it, with the
same growing delay as signing in; "switch worker" signs them out to the sign-in screen.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import Length
from textual.widgets import Button, Input, Label, Static

from db.workers import Worker
from kiosk.core.i18n import t, term
from kiosk.security.roles import role_label
from screens.base import PIN_MAX, GateScreen
from screens.widgets.footer import KioskFooter


class LockScreen(GateScreen, ModalScreen[None]):
    #: what the acting worker needs to open it (None: the mode's or the caller's check)
    PERMISSION: ClassVar[str | None] = None
    AUTO_FOCUS = "#gate-pin"

    BINDINGS = [
        Binding(
            "ctrl+o",
            "switch_worker",
            term("signin.switch"),
            id="lock.switch_worker",
            tooltip=term("signin.switch_hint"),
        ),
    ]

    # A modal screen (the app's own keys are out of reach) with an opaque background, so
    # nothing of the screens below shows through (tests/test_lock.py reads the frame).
    DEFAULT_CSS = """
    LockScreen { align: center middle; background: $background; }
    #lock-box {
        width: 56; max-width: 100%; height: auto;
        border: round $accent; padding: 0 2; background: $surface;
    }
    #lock-title { text-style: bold; color: $accent; width: 100%; content-align: center middle;
                  margin: 1 0 0 0; }
    #lock-who { margin: 1 0 0 0; }
    #lock-prompt { color: $text-muted; }
    #lock-box Label { margin: 1 0 0 0; }
    #gate-status { height: auto; min-height: 1; margin: 1 0 0 0; color: $text-muted; }
    #gate-status.-error { color: $error; }
    #lock-buttons { height: auto; margin: 1 0 1 0; }
    #lock-buttons Button { margin: 0 2 0 0; }
    """

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.worker = worker

    def compose(self) -> ComposeResult:
        w = self.worker
        with Vertical(id="lock-box"):
            yield Static(t("signin.locked"), id="lock-title")
            yield Static(
                t("signin.locked_who", name=w.name, role=role_label(w.role)), id="lock-who"
            )
            yield Static(t("signin.locked_prompt"), id="lock-prompt")
            yield Label(t("signin.pin"))
            yield Input(
                placeholder=t("signin.pin_placeholder"),
                password=True,
                restrict=r"[0-9]*",
                max_length=PIN_MAX,
                id="gate-pin",
                validators=[Length(minimum=1)],
                compact=True,
            )
            yield Static("", id="gate-status")
            with Horizontal(id="lock-buttons"):
                yield Button(t("signin.unlock"), id="lock-unlock", variant="primary", compact=True)
                yield Button(
                    t("signin.switch"),
                    id="lock-switch",
                    compact=True,
                    tooltip=t("signin.switch_hint"),
                )
        yield KioskFooter()

    @on(Input.Submitted, "#gate-pin")
    @on(Button.Pressed, "#lock-unlock")
    def submit(self) -> None:
        self.check_pin(self.worker.name, self.query_one("#gate-pin", Input).value, unlock=True)

    def accepted(self, worker: Worker) -> None:
        self.kiosk.unlock(worker)

    @on(Button.Pressed, "#lock-switch")
    def action_switch_worker(self) -> None:
        self.kiosk.call_later(self.kiosk.sign_out)  # drops this screen too: not from inside it

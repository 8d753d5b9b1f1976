"""The first run on a computer nobody can sign in to yet (no administrator with a PIN): instead
of a sign-in nobody can pass, two ways on.

* **This PC is the community office:** the office's name, the first administrator and their
  PIN (twice). The administrator is signed in at once and the office set-up opens
  (screens/office/setup.py: grids, roster, workers, the hub and the laptops' codes).
* **This is a grid worker's laptop:** the office hub's address and the enrolment code the
  office gave (typed, or scanned from the QR code the office set-up shows): the laptop is
  enrolled, syncs its grid and its workers, and the sign-in screen follows.

Nothing here shows personal data: there is none on the computer yet.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from db.errors import UserError
from db.workers import Worker
from kiosk.core.errors import describe
from kiosk.core.i18n import t, term
from screens.base import PIN_MAX, GateScreen
from screens.widgets.footer import KioskFooter


class SetupScreen(GateScreen):
    PERMISSION: ClassVar[str | None] = None
    DEFAULT_CSS = """
    SetupScreen { align: center middle; }
    #setup-box {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; padding: 0 2; background: $surface;
    }
    #setup-box .title { margin: 1 0 0 0; }
    #setup-box Label { color: $text-muted; }
    #setup-box Button { margin: 1 0 0 0; }
    #gate-status { height: auto; min-height: 1; margin: 1 0 0 0; color: $text-muted; }
    #gate-status.-error { color: $error; }
    """
    BINDINGS = [
        Binding(
            "ctrl+s",
            "create_office",
            term("setup.create"),
            id="setup.create",
            tooltip=term("setup.create_hint"),
            priority=True,
        ),  # fmt: skip
        Binding(
            "ctrl+e",
            "enrol",
            term("setup.enrol"),
            id="setup.enrol",
            tooltip=term("setup.enrol_hint"),
            priority=True,
        ),  # fmt: skip
    ]

    class Done(Message):
        """The office's administrator exists (``worker``), or the laptop is enrolled and
        synced (``worker`` None)."""

        def __init__(self, worker: Worker | None, said: str) -> None:
            super().__init__()
            self.worker = worker
            self.said = said

    class Failed(Message):
        def __init__(self, said: str) -> None:
            super().__init__()
            self.said = said

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="setup-box"):
            yield Static(f"{t('app.title')} · {t('setup.title')}", classes="title")
            yield Static(t("setup.intro"))
            yield Static(t("setup.office_title"), classes="title")
            yield Label(t("setup.office_name"))
            yield Input(id="setup-office", compact=True, max_length=64,
                        placeholder=t("setup.office_placeholder"))  # fmt: skip
            yield Label(t("setup.admin_name"))
            yield Input(id="setup-admin", compact=True, max_length=32)
            yield Label(t("setup.pin"))
            yield Input(id="gate-pin", password=True, restrict=r"[0-9]*", max_length=PIN_MAX,
                        compact=True, placeholder=t("signin.pin_placeholder"))  # fmt: skip
            yield Label(t("setup.pin_again"))
            yield Input(id="setup-pin2", password=True, restrict=r"[0-9]*", max_length=PIN_MAX,
                        compact=True)  # fmt: skip
            yield Button(t("setup.create"), id="setup-create", variant="primary", compact=True)
            yield Static(t("setup.laptop_title"), classes="title")
            yield Label(t("setup.hub"))
            yield Input(id="setup-hub", compact=True, max_length=200,
                        placeholder="http://192.168.1.10:8765")  # fmt: skip
            yield Label(t("setup.code"))
            yield Input(id="setup-code", compact=True, max_length=64)
            yield Button(t("setup.enrol"), id="setup-enrol", compact=True)
            yield Static("", id="gate-status")
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one("#setup-office", Input).focus()

    @on(Input.Submitted)
    def next_field(self, event: Input.Submitted) -> None:
        if event.input.id == "setup-pin2":
            self.action_create_office()
        elif event.input.id == "setup-code":
            self.action_enrol()
        else:
            self.focus_next()

    @on(Button.Pressed, "#setup-create")
    def create_pressed(self) -> None:
        self.action_create_office()

    @on(Button.Pressed, "#setup-enrol")
    def enrol_pressed(self) -> None:
        self.action_enrol()

    def _value(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value

    def action_create_office(self) -> None:
        if self._value("gate-pin") != self._value("setup-pin2"):
            self.show_status(t("setup.pins_differ"), error=True)
            self.query_one("#setup-pin2", Input).value = ""
            self.query_one("#setup-pin2", Input).focus()
            return
        self.show_status(t("setup.creating"))
        self.create_office(self._value("setup-office"), self._value("setup-admin"),
                           self._value("gate-pin"))  # fmt: skip

    @work(thread=True, exclusive=True, group="setup", exit_on_error=False)
    def create_office(self, office: str, name: str, pin: str) -> None:
        from kiosk.households.setup import first_administrator

        try:
            worker = self.kiosk.write(lambda ctx: first_administrator(ctx, office, name, pin))
        except UserError as exc:
            self.post_message(self.Failed(describe(exc)))
            return
        self.post_message(self.Done(worker, t("setup.created", name=worker.name)))

    def action_enrol(self) -> None:
        hub, code = self._value("setup-hub").strip(), self._value("setup-code").strip()
        if not hub or not code:
            self.show_status(t("setup.enrol_needs"), error=True)
            return
        self.show_status(t("setup.enrolling"))
        self.enrol(hub, code)

    @work(thread=True, exclusive=True, group="setup", exit_on_error=False)
    def enrol(self, hub: str, code: str) -> None:
        from kiosk.sync.client import enrol, run_sync

        settings = self.kiosk.runtime.settings
        try:
            resp = enrol(self.kiosk.ctx, hub, code)
            report = run_sync(
                self.kiosk.ctx,
                batch_size=settings.sync_batch,
                timeout=settings.sync_timeout,
                write=self.kiosk.write,
                reader=self.kiosk.read(),
            )
        except UserError as exc:
            self.post_message(self.Failed(describe(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - the hub unreachable...: said on the screen
            self.post_message(self.Failed(describe(exc)))
            return
        self.post_message(
            self.Done(None, t("setup.enrolled", name=resp.name, pulled=report.as_dict()["pulled"]))
        )

    def on_setup_screen_failed(self, message: Failed) -> None:
        self.show_status(message.said, error=True)

    def on_setup_screen_done(self, message: Done) -> None:
        self.kiosk.setup_done(message.worker, message.said)

    def accepted(self, worker: Worker) -> None:  # no PIN is checked here
        pass

"""F10 at the counter: an administrator's name and PIN end ``kiosk resident``."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from kiosk.core.errors import UserError
from kiosk.core.i18n import t


class AdminExitScreen(ModalScreen[None]):
    """Name and PIN, checked as at sign-in (kiosk/security/session.py: the growing wait, the
    audit entry); only an enabled administrator ends the counter. Escape goes back."""

    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [Binding("escape", "dismiss_exit", show=False, id="resident.admin_back")]
    DEFAULT_CSS = """
    AdminExitScreen { align: center middle; }
    #admin-box { width: 56; height: auto; border: round $warning; padding: 0 2; background: $surface; }
    #admin-box Label { margin: 1 0 0 0; }
    #admin-title { text-style: bold; color: $warning; width: 100%; content-align: center middle; }
    #admin-status { height: auto; min-height: 1; margin: 1 0; }
    #admin-status.-error { color: $error; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(id="admin-box"):
            yield Static(t("resident.admin.title"), id="admin-title")
            yield Label(t("signin.name"))
            yield Input(id="admin-name", max_length=32, compact=True)
            yield Label(t("signin.pin"))
            yield Input(
                id="admin-pin", password=True, restrict=r"[0-9]*", max_length=12, compact=True
            )
            yield Static("", id="admin-status")

    def on_mount(self) -> None:
        self.query_one("#admin-name", Input).focus()

    def show_message(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#admin-status", Static)
        status.update(text)
        status.set_class(error, "-error")

    def action_dismiss_exit(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "admin-name":
            self.query_one("#admin-pin", Input).focus()
            return
        name = self.query_one("#admin-name", Input).value
        pin = event.value
        self.query_one("#admin-pin", Input).value = ""
        self.show_message(t("resident.admin.checking"))
        self._check(name, pin)

    @work(thread=True, exclusive=True, group="admin-exit", exit_on_error=False)
    def _check(self, name: str, pin: str) -> None:
        from kiosk.security.roles import ADMIN
        from kiosk.security.session import attempt

        app: Any = self.app
        try:
            worker = attempt(app.read(), app.write, name, pin, remember=False)
        except UserError as exc:
            self.app.call_from_thread(self.show_message, exc.message(), error=True)
            return
        if worker.role != ADMIN:
            self.app.call_from_thread(
                self.show_message, t("resident.admin.not_admin", name=worker.name), error=True
            )
            return
        self.app.call_from_thread(app.admin_verified, worker)

"""The base of every screen that saves a form: one error line above the fields, in the
interface's words; the wrong field marked, focused and scrolled into view; everything typed
kept (a refused save changes no field)."""

from __future__ import annotations

from typing import ClassVar

from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from screens.base import KioskScreen


class FormScreen(KioskScreen):
    #: what the acting worker needs to open it (kiosk/security/roles.py; None: anyone)
    PERMISSION: ClassVar[str | None] = None
    #: the id of the form's error line (``Static("", id=...)`` in its compose)
    ERROR_ID: ClassVar[str] = "form-error"

    class Invalid(Message):
        """Saving was refused: ``field`` is wrong, ``message`` says why (posted by the save
        worker, handled on the screen)."""

        def __init__(self, field: str, message: str) -> None:
            super().__init__()
            self.field = field
            self.message = message

    def field_widget(self, field: str) -> Widget | None:
        """The widget that holds ``field`` (a validation error's field name), if any."""
        return None

    def on_form_screen_invalid(self, message: Invalid) -> None:
        self.query_one(f"#{self.ERROR_ID}", Static).update(message.message)
        for w in self.query(".-invalid"):
            w.remove_class("-invalid")
        widget = self.field_widget(message.field)
        if widget is not None:
            widget.add_class("-invalid")
            widget.focus()
            widget.scroll_visible()
        self.after_invalid()

    def after_invalid(self) -> None:
        """What a form does once a refusal is shown (the visit form saves its draft)."""

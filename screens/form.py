"""The base of every screen that saves a form: one error line above the fields, in the
interface's words; the wrong field marked, focused and scrolled into view; everything typed
kept (a refused save changes no field)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from screens.base import KioskScreen


class FormScreen(KioskScreen):
    #: what the acting worker needs to open it (kiosk/security/roles.py; None: anyone)
    PERMISSION: ClassVar[str | None] = None
    #: the id of the form's error line (``Static("", id=...)`` in its compose)
    ERROR_ID: ClassVar[str] = "form-error"
    #: the field the error line speaks of, if it speaks
    error_field: str | None = None

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
        self.show_error(message.field, message.message, focus=True)
        self.after_invalid()

    def show_error(self, field: str, message: str, *, focus: bool) -> None:
        """Say what is wrong above the fields and mark its field; a save's refusal also
        focuses it, a rule broken while typing does not take the cursor away."""
        # the words may be a form's own (a questionnaire's message): never read as markup
        self.query_one(f"#{self.ERROR_ID}", Static).update(Text(message))
        for w in self.query(".-invalid"):
            w.remove_class("-invalid")
        self.error_field = field
        widget = self.field_widget(field)
        if widget is not None:
            widget.add_class("-invalid")
            if focus:
                widget.focus()
            widget.scroll_visible()

    def clear_error(self) -> None:
        self.query_one(f"#{self.ERROR_ID}", Static).update("")
        for w in self.query(".-invalid"):
            w.remove_class("-invalid")
        self.error_field = None

    def after_invalid(self) -> None:
        """What a form does once a refusal is shown (the visit form saves its draft)."""

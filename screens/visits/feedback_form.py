"""Community feedback not tied to a household: category, source, text, place, anonymity, and
photos (paths or a folder, prepared on the save's worker thread and written with it)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Header, Input, Label, Select, Static, TextArea

from db.feedback import SOURCES
from kiosk.core.errors import UserError
from kiosk.core.i18n import t, term
from kiosk.domain.feedback import FeedbackInvalid
from screens.form import FormScreen
from screens.photos.picker import PhotoPathsInput
from screens.visits.visit_form import category_options
from screens.widgets.footer import KioskFooter


class FeedbackFormScreen(FormScreen):
    """Record one piece of community feedback. Result: its id, or None."""

    #: what the acting worker needs to open it (kiosk/security/roles.py); the app checks
    PERMISSION: ClassVar[str | None] = "feedback.record"
    ERROR_ID = "feedback-error"

    DEFAULT_CSS = """
    FeedbackFormScreen .field-label { color: $text-muted; padding: 0 1; margin-top: 1; }
    FeedbackFormScreen #feedback-text { height: 5; }
    FeedbackFormScreen #feedback-photos { margin-top: 1; }
    FeedbackFormScreen #feedback-error { color: $error; padding: 0 1; height: auto; }
    FeedbackFormScreen .-invalid { border: tall $error; }
    """

    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            term("visits.save"),
            id="feedback.save",
            tooltip=term("visits.save"),
            priority=True,
        ),
        Binding(
            "escape", "app.pop_screen", term("ui.back"), id="feedback.back", tooltip=term("ui.back")
        ),
    ]

    class Saved(Message):
        """Feedback stored (handled by FeedbackFormScreen, which closes)."""

        def __init__(self, feedback_id: str, photos: int = 0) -> None:
            super().__init__()
            self.feedback_id = feedback_id
            self.photos = photos

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(t("visits.feedback.new"), classes="title")
        yield Static(t("visits.feedback.hint"), classes="muted")
        yield Static("", id="feedback-error")
        with VerticalScroll():
            yield Label(t("visits.feedback.category"), classes="field-label")
            yield Select(
                category_options(), prompt=t("visits.category_prompt"), id="feedback-category"
            )
            yield Label(t("visits.feedback.source"), classes="field-label")
            yield Select(
                [(t(f"visits.feedback.sources.{s}"), s) for s in SOURCES],
                allow_blank=False,
                value="stall",
                id="feedback-source",
            )
            yield Label(t("visits.feedback.text"), classes="field-label")
            yield TextArea(id="feedback-text", soft_wrap=True)
            yield Input(placeholder=t("visits.feedback.place"), id="feedback-place")
            yield Checkbox(t("visits.feedback.anonymous"), value=True, id="feedback-anonymous")
            yield Input(placeholder=t("visits.feedback.raised_by"), id="feedback-raised-by")
            # a path typed or pasted (a phone's folder, a card): prepared when saved
            yield Label(t("photos.ui.label"), classes="field-label")
            yield PhotoPathsInput(placeholder=t("photos.ui.placeholder"), id="feedback-photos")
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one("#feedback-category", Select).focus()

    def collect(self) -> dict[str, Any]:
        cat = self.query_one("#feedback-category", Select).value
        src = self.query_one("#feedback-source", Select).value
        return {
            "category": cat if isinstance(cat, str) else "",
            "source": src if isinstance(src, str) else "other",
            "text": self.query_one("#feedback-text", TextArea).text,
            "place": self.query_one("#feedback-place", Input).value,
            "anonymous": self.query_one("#feedback-anonymous", Checkbox).value,
            "raised_by": self.query_one("#feedback-raised-by", Input).value,
            "photos": self.query_one("#feedback-photos", Input).value,
        }

    def action_save(self) -> None:
        self.save(self.collect())

    @work(thread=True, exclusive=True, group="feedback-save", exit_on_error=False)
    def save(self, form: dict[str, Any]) -> None:
        from db.areas import grid_by_code
        from db.feedback import save_feedback
        from kiosk.domain.categories import load_categories
        from kiosk.domain.feedback import validate_feedback
        from kiosk.photos.attach import attach_prepared_to_feedback, photo_paths, prepare_files

        worker = self.kiosk.worker
        grid = grid_by_code(self.kiosk.read(), worker.grids[0]) if worker and worker.grids else None
        try:
            fb = validate_feedback(
                form,
                categories=load_categories(self.kiosk.runtime.settings),
                grid_id=grid.id if grid else None,
            )
        except FeedbackInvalid as exc:
            self.post_message(self.Invalid(exc.field, exc.message()))
            return
        try:
            # every path there and at most 12, then each file made fit to store, here on the
            # worker's thread and before the write: a bad file writes nothing, said in the form
            photos = prepare_files(
                photo_paths(form.get("photos") or ""), self.kiosk.runtime.settings
            )
        except UserError as exc:
            self.post_message(self.Invalid("photos", exc.message()))
            return

        def write(ctx) -> str:
            fid = save_feedback(ctx, fb)
            attach_prepared_to_feedback(ctx, fid, photos)
            return fid

        self.post_message(self.Saved(self.kiosk.write(write), len(photos)))

    def field_widget(self, field: str) -> Widget | None:
        ids = {
            "category": "#feedback-category",
            "text": "#feedback-text",
            "place": "#feedback-place",
            "raised_by": "#feedback-raised-by",
            "source": "#feedback-source",
            "photos": "#feedback-photos",
        }
        return self.query_one(ids[field]) if field in ids else None

    def on_feedback_form_screen_saved(self, message: Saved) -> None:
        if message.photos:
            self.notify(t("visits.feedback.photos_saved", n=message.photos))
        else:
            self.notify(t("visits.feedback.saved"))
        self.dismiss(message.feedback_id)

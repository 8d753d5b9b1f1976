"""The form for one action on a case: only the fields that action needs, each with its label
above it. What the rules refuse (no department, a deadline before registration...) is said
in the form, next to its field, once, and everything typed stays."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from db.case_fold import RATINGS
from kiosk.core.errors import UserError
from kiosk.core.i18n import t, term
from screens.photos.picker import PhotoPathsInput

#: Which fields each event type asks for.
FIELDS: dict[str, tuple[str, ...]] = {
    "assign": ("department", "person", "due", "note"),
    "progress": ("note", "photos"),
    "resolve": ("note", "photos"),
    "resolve_on_spot": ("note", "photos"),
    "follow_up": ("unreached", "rating", "note"),
    "rate": ("rating", "note"),
    "reopen": ("note",),
    "escalate": ("level", "note"),
    "close": ("note",),
    "repeat_of": ("of", "note"),
}


#: The field a refusal is about (the rule's catalogue key → the field to mark and focus).
RULE_FIELDS = {
    "cases.rule.assign_needs_department": "department",
    "cases.rule.unknown_department": "department",
    "cases.rule.bad_due": "due",
    "cases.rule.due_before_registration": "due",
    "cases.rule.repeat_needs_case": "of",
    "cases.rule.repeat_of_self": "of",
    "cases.error.not_found": "of",
    "cases.rule.bad_rating": "rating",
    "cases.rule.bad_level": "level",
    "cases.rule.close_needs_rating": "note",
    "photos.error.not_found": "photos",
    "photos.error.empty_folder": "photos",
    "photos.error.too_many": "photos",
    "cases.rule.after_photo_required": "photos",
}


class CaseActionScreen(ModalScreen[dict | None]):
    """Asks for an action's details; returns them as a dict (None when cancelled)."""

    #: what the acting worker needs to open it (None: the mode's or the caller's check)
    PERMISSION: ClassVar[str | None] = None

    BINDINGS = [
        Binding(
            "escape", "cancel", term("ui.back"), id="case_action.cancel", tooltip=term("ui.back")
        ),
        Binding(
            "ctrl+s",
            "submit",
            term("cases.ui.save"),
            id="case_action.submit",
            tooltip=term("cases.ui.save"),
        ),
    ]

    DEFAULT_CSS = """
    CaseActionScreen { align: center middle; }
    #action-form {
        width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; padding: 0 1; background: $surface;
    }
    #action-form Input, #action-form Select, #action-form Checkbox { margin: 0 0 1 0; }
    #action-form .field-label { color: $text-muted; }
    #action-error { color: $error; height: auto; }
    #action-form .-invalid { border: tall $error; }
    #action-buttons { height: auto; align-horizontal: right; }
    """

    def __init__(
        self,
        event_type: str,
        number: str,
        departments: list[str] | None = None,
        validate: Callable[[dict], object] | None = None,
        due: str = "",
        photo_required: bool = False,
    ) -> None:
        """``departments``: the case's community's list (offered as the name is typed);
        ``due``: the deadline the case gets unless another is typed; ``photo_required``: the
        case's community resolves it only with a photo of the repair (said on the field)."""
        super().__init__()
        self.event_type = event_type
        self.number = number
        self.departments = departments or []
        self.due = due
        self.photo_required = photo_required
        #: raises a UserError for what the rules refuse (the form stays open)
        self.validate = validate

    def compose(self) -> ComposeResult:
        fields = FIELDS.get(self.event_type, ("note",))
        with Vertical(id="action-form"):
            yield Label(f"{self.number} · {t('cases.action.' + self.event_type)}", classes="title")
            yield Static("", id="action-error")
            if "department" in fields:
                yield Label(t("cases.col.department"), classes="field-label")
                yield Input(
                    placeholder=t(
                        "cases.ui.department_hint" if self.departments else "cases.col.department"
                    ),
                    id="f-department",
                    value=self.departments[0] if len(self.departments) == 1 else "",
                    suggester=SuggestFromList(self.departments, case_sensitive=False),
                    compact=True,
                )
            if "person" in fields:
                yield Label(t("cases.col.person"), classes="field-label")
                yield Input(placeholder=t("cases.col.person"), id="f-person", compact=True)
            if "due" in fields:
                yield Label(t("cases.col.due"), classes="field-label")
                yield Input(
                    self.due,
                    placeholder=t("cases.ui.due_placeholder"),
                    id="f-due",
                    compact=True,
                )
            if "unreached" in fields:
                yield Checkbox(t("cases.detail.unreached"), id="f-unreached", compact=True)
            if "rating" in fields:
                yield Label(t("ledger.col.rating"), classes="field-label")
                yield Select(
                    [(t(f"cases.rating.{r}"), r) for r in RATINGS],
                    prompt=t("ledger.col.rating"),
                    id="f-rating",
                    compact=True,
                )
            if "level" in fields:
                yield Label(t("cases.col.level"), classes="field-label")
                yield Select(
                    [(t(f"cases.level.{n}"), n) for n in (1, 2, 3)],
                    prompt=t("cases.col.level"),
                    id="f-level",
                    compact=True,
                )
            if "of" in fields:
                yield Label(t("cases.ui.of_placeholder"), classes="field-label")
                yield Input(placeholder=t("cases.ui.of_placeholder"), id="f-of", compact=True)
            if "note" in fields:
                yield Label(t("cases.ui.note_placeholder"), classes="field-label")
                yield Input(placeholder=t("cases.ui.note_placeholder"), id="f-note", compact=True)
            if "photos" in fields:
                # a path typed or pasted (a phone's folder, a card): prepared when saved
                label = "photos.ui.label_required" if self.photo_required else "photos.ui.label"
                yield Label(t(label), classes="field-label", id="f-photos-label")
                yield PhotoPathsInput(
                    placeholder=t("photos.ui.placeholder"), id="f-photos", compact=True
                )
            with Horizontal(id="action-buttons"):
                yield Button(t("cases.ui.save"), id="save", variant="primary", compact=True)
                yield Button(t("ui.back"), id="cancel", compact=True)

    def on_mount(self) -> None:
        first = self.query("Input, Select, Checkbox").first()
        first.focus()

    def values(self) -> dict:
        out: dict = {}
        for widget in self.query("Input"):
            if widget.id:
                out[widget.id[2:]] = widget.value  # type: ignore[attr-defined]
        for sel in self.query(Select):
            v = sel.value
            out[sel.id[2:]] = None if v == Select.NULL else v  # type: ignore[index]
        for box in self.query(Checkbox):
            out[box.id[2:]] = box.value  # type: ignore[index]
        return out

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#save")
    def save(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        values = self.values()
        if self.validate is not None:
            try:
                self.validate(values)
            except UserError as exc:
                self.refused(exc)
                return
        self.dismiss(values)

    def refused(self, exc: UserError) -> None:
        """Say what is wrong in the form, once, and mark the field it is about."""
        self.query_one("#action-error", Static).update(exc.message())
        for w in self.query(".-invalid"):
            w.remove_class("-invalid")
        field = RULE_FIELDS.get(exc.key)
        found = self.query(f"#f-{field}") if field else None
        if found:
            widget = found.first()
            widget.add_class("-invalid")
            widget.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

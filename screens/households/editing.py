"""Editing at the door: a member (numbers, birth year, relation, care tags, moved out or
died), a new member, the household (care tags, note, moved out or empty), and a household
found on the walk. Each form saves with Ctrl+S through kiosk/households/editing.py on a
thread; a refusal says what is wrong above the fields and puts the cursor on it, keeping
everything typed. Result (None when left with Esc): the household as saved, read again on
the save's thread, for the member and household forms (the household screen shows it in the
very frame the form leaves); the new household's id for a household found on the walk.

Phone and ID numbers are not shown in full: the field is empty with the masked number as
its placeholder, and what is typed replaces it ("-" clears it). A number to verify (待核实)
says so next to its field.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Header, Input, Label, Select, SelectionList, Static, TextArea

from db.errors import UserError
from db.households import CARE_TAGS, HOUSEHOLD_STATUSES, MEMBER_STATUSES, Household, Member
from kiosk.core.errors import describe
from kiosk.core.i18n import t, term
from kiosk.domain import present
from kiosk.domain.masking import mask
from kiosk.households.editing import (
    NewHousehold,
    edit_household,
    edit_member,
    member_leaves,
    member_returns,
    new_member,
    register_household,
)
from screens.form import FormScreen
from screens.widgets.footer import KioskFooter

_FORM_CSS = """
{name} .edit-row {{ height: auto; }}
{name} .edit-row Label {{ width: 16; padding: 0 1; color: $text-muted; }}
{name} .edit-row Input, {name} .edit-row Select {{ width: 1fr; }}
{name} .edit-row SelectionList {{ width: 1fr; height: auto; max-height: 6; }}
{name} .edit-row TextArea {{ width: 1fr; height: 4; }}
{name} .edit-note {{ padding: 0 1 0 17; color: $warning; height: auto; }}
{name} #edit-error {{ color: $error; padding: 0 1; height: auto; }}
{name} .-invalid {{ background: $error 30%; }}
"""


def _row(label: str, widget: Widget) -> Horizontal:
    return Horizontal(Label(label), widget, classes="edit-row")


def _status_rows(
    options: list[tuple[str, str]], status: str, day: str, ids: tuple[str, str]
) -> list[Horizontal]:
    """Whether they live here (``options``, '' first) and since when: a member's or a
    household's."""
    return [
        _row(
            t("household.form.status"),
            Select(options, value=status, allow_blank=False, id=ids[0], compact=True),
        ),
        _row(
            t("household.form.date"),
            Input(
                day,
                placeholder=t("household.form.date_hint"),
                id=ids[1],
                compact=True,
                max_length=20,
            ),
        ),
    ]


def _tags_list(chosen: tuple[str, ...] | list[str] | str, widget_id: str) -> SelectionList:
    if isinstance(chosen, str):
        chosen = chosen.split()
    return SelectionList[str](
        *[(t(f"tag.{code}"), code, code in chosen) for code in CARE_TAGS],
        id=widget_id,
        compact=True,
    )


class EditForm(FormScreen):
    """What the four forms share: the error line, Ctrl+S, Esc, Enter to the next field, the
    save on a thread with a refusal shown on the form."""

    PERMISSION: ClassVar[str | None] = "household.edit"
    ERROR_ID = "edit-error"
    #: form field name -> widget id
    FIELDS: ClassVar[dict[str, str]] = {}

    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            term("household.form.save"),
            id="household_edit.save",
            tooltip=term("household.form.save"),
            priority=True,
        ),
        Binding(
            "escape",
            "app.pop_screen",
            term("ui.back"),
            id="household_edit.back",
            tooltip=term("ui.back"),
        ),
    ]

    class Saved(Message):
        """The edit was written (handled by the form: say so and close)."""

        def __init__(self, result: object, message: str) -> None:
            super().__init__()
            self.result = result
            self.message = message

    def field_widget(self, field: str) -> Widget | None:
        wid = self.FIELDS.get(field)
        return self.query_one(f"#{wid}") if wid else None

    @on(Input.Submitted)
    def next_field(self) -> None:
        self.focus_next()

    def action_save(self) -> None:
        self.clear_error()
        self.save(self.collect())

    def collect(self) -> dict[str, Any]:
        raise NotImplementedError

    def write(self, form: dict[str, Any], today: date) -> tuple[object, str]:
        """Write ``form`` (on the save thread): the form's result and what to say."""
        raise NotImplementedError

    def saved_household(self, household_id: str) -> Household:
        """The household as saved, read on the save's thread."""
        from db.households import get_household

        h = get_household(self.kiosk.read(), household_id)
        assert h is not None
        return h

    @work(thread=True, exclusive=True, group="household-edit", exit_on_error=False)
    def save(self, form: dict[str, Any]) -> None:
        try:
            result, message = self.write(form, date.today())
        except UserError as exc:
            self.post_message(self.Invalid(getattr(exc, "field", ""), describe(exc)))
            return
        self.post_message(self.Saved(result, message))

    def on_edit_form_saved(self, message: Saved) -> None:
        self.notify(message.message)
        self.dismiss(message.result)

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def _select(self, widget_id: str) -> str:
        value = self.query_one(f"#{widget_id}", Select).value
        return value if isinstance(value, str) else ""

    def _tags(self, widget_id: str) -> list[str]:
        return list(self.query_one(f"#{widget_id}", SelectionList).selected)


def _number_placeholder(field: str, value: str, doubtful: bool) -> str:
    if not value:
        return t("household.form.number_empty")
    key = "household.form.number_to_verify" if doubtful else "household.form.number_now"
    return t(key, masked=mask(field, value))


class MemberFormScreen(EditForm):
    """Edit a member, or add one to ``household`` (``member`` None)."""

    PERMISSION: ClassVar[str | None] = "household.edit"

    DEFAULT_CSS = _FORM_CSS.format(name="MemberFormScreen")
    FIELDS: ClassVar[dict[str, str]] = {
        "name": "m-name",
        "relation": "m-relation",
        "gender": "m-gender",
        "birth_year": "m-birth-year",
        "phone": "m-phone",
        "id_number": "m-id-number",
        "tags": "m-tags",
        "status": "m-status",
        "date": "m-left-on",
    }

    def __init__(self, household: Household, member: Member | None = None) -> None:
        super().__init__()
        self.household = household
        self.member = member

    def compose(self) -> ComposeResult:
        m = self.member
        yield Header()
        title = (
            t("household.form.title_member", name=m.name)
            if m
            else t("household.form.title_new_member", address=present.address(self.household))
        )
        yield Static(title, classes="title")
        yield Static("", id="edit-error")
        with VerticalScroll():
            yield _row(
                t("col.name"), Input(m.name if m else "", id="m-name", compact=True, max_length=64)
            )
            yield _row(
                t("col.relation"),
                Input(
                    m.relation if m else "",
                    placeholder=t("household.form.relation_hint"),
                    suggester=SuggestFromList(list(present.RELATIONS), case_sensitive=True),
                    id="m-relation",
                    compact=True,
                    max_length=32,
                ),
            )
            yield _row(
                t("col.gender"),
                Select(
                    [(present.gender_label(g), g) for g in present.GENDERS],
                    value=m.gender if m and m.gender in present.GENDERS else Select.NULL,
                    prompt=t("household.form.not_given"),
                    id="m-gender",
                    compact=True,
                ),
            )
            yield _row(
                t("col.birth_year"),
                Input(
                    str(m.birth_year or "") if m else "",
                    placeholder=t("household.form.birth_hint"),
                    id="m-birth-year",
                    compact=True,
                    max_length=16,
                ),
            )
            for field, wid in (("phone", "m-phone"), ("id_number", "m-id-number")):
                value = getattr(m, field) if m else ""
                doubtful = bool(m and m.doubtful(field))
                yield _row(
                    t(f"col.{field}"),
                    Input(
                        placeholder=_number_placeholder(field, value, doubtful),
                        id=wid,
                        compact=True,
                        max_length=32,
                    ),
                )
                if doubtful:
                    yield Static(
                        t("household.form.verify_note", mark=present.TO_VERIFY),
                        classes="edit-note",
                    )
            yield _row(t("col.tags"), _tags_list(m.tags if m else "", "m-tags"))
            if m is not None:
                yield from _status_rows(
                    [(t("member.status.present"), "")]
                    + [(t(f"member.status.{s}"), s) for s in MEMBER_STATUSES],
                    m.status,
                    m.left_on,
                    ("m-status", "m-left-on"),
                )
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one("#m-name" if self.member is None else "#m-phone", Input).focus()

    def collect(self) -> dict[str, Any]:
        form: dict[str, Any] = {
            "name": self._value("m-name"),
            "relation": self._value("m-relation"),
            "gender": self._select("m-gender"),
            "birth_year": self._value("m-birth-year"),
            "tags": self._tags("m-tags"),
        }
        for field, wid in (("phone", "m-phone"), ("id_number", "m-id-number")):
            typed = self._value(wid).strip()
            if typed:  # empty: unchanged; "-": cleared
                form[field] = "" if typed == "-" else typed
        if self.member is not None:
            form["status"] = self._select("m-status")
            form["date"] = self._value("m-left-on")
        return form

    def write(self, form: dict[str, Any], today: date) -> tuple[object, str]:
        m = self.member
        status, day = form.pop("status", ""), form.pop("date", "")

        def run(ctx: Any) -> tuple[str, str]:
            if m is None:
                mid = new_member(ctx, self.household.id, form, today=today)
                return mid, t("household.edit.added_member", name=form["name"].strip())
            changes = edit_member(ctx, m.id, form, today=today)
            if status and (status != m.status or day.strip() != m.left_on):
                member_leaves(ctx, m.id, status, day, today=today)
                changes["status"] = status
            elif not status and m.status:
                member_returns(ctx, m.id)
                changes["status"] = status
            if not changes:
                return m.id, t("household.edit.nothing_changed")
            return m.id, t("household.edit.saved_member", name=form.get("name") or m.name)

        _mid, said = self.kiosk.write(run)
        return self.saved_household(self.household.id), said


class HouseholdFormScreen(EditForm):
    """A household's care tags, note, and whether anybody lives there."""

    PERMISSION: ClassVar[str | None] = "household.edit"

    DEFAULT_CSS = _FORM_CSS.format(name="HouseholdFormScreen")
    FIELDS: ClassVar[dict[str, str]] = {
        "tags": "h-tags",
        "note": "h-note",
        "status": "h-status",
        "status_on": "h-status-on",
    }

    def __init__(self, household: Household) -> None:
        super().__init__()
        self.household = household

    def compose(self) -> ComposeResult:
        h = self.household
        yield Header()
        yield Static(
            t("household.form.title_household", address=present.address(h)), classes="title"
        )
        yield Static("", id="edit-error")
        with VerticalScroll():
            yield _row(t("col.tags"), _tags_list(h.tags, "h-tags"))
            yield _row(t("household.form.note"), TextArea(h.note, id="h-note", soft_wrap=True))
            yield from _status_rows(
                [(t("household.status.lived_in"), "")]
                + [(t(f"household.status.{s}"), s) for s in HOUSEHOLD_STATUSES],
                h.status,
                h.status_on,
                ("h-status", "h-status-on"),
            )
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one("#h-tags", SelectionList).focus()

    def collect(self) -> dict[str, Any]:
        return {
            "tags": self._tags("h-tags"),
            "note": self.query_one("#h-note", TextArea).text,
            "status": self._select("h-status"),
            "status_on": self._value("h-status-on"),
        }

    def write(self, form: dict[str, Any], today: date) -> tuple[object, str]:
        hid = self.household.id
        if form["status"] == self.household.status and (
            form["status_on"].strip() == self.household.status_on
        ):
            form.pop("status_on")  # the day is asked only when the status says something

        changes = self.kiosk.write(lambda ctx: edit_household(ctx, hid, form, today=today))
        said = t("household.edit.saved_household" if changes else "household.edit.nothing_changed")
        return self.saved_household(hid), said


class NewHouseholdScreen(EditForm):
    """Register a household found on the walk, in one of the worker's grids."""

    PERMISSION: ClassVar[str | None] = "household.edit"

    DEFAULT_CSS = _FORM_CSS.format(name="NewHouseholdScreen")
    FIELDS: ClassVar[dict[str, str]] = {
        "grid": "n-grid",
        "compound": "n-compound",
        "building": "n-building",
        "unit": "n-unit",
        "room": "n-room",
        "name": "n-head",
        "phone": "n-phone",
        "id_number": "n-id-number",
        "tags": "n-tags",
    }

    def __init__(self, grids: list[tuple[str, str]], compounds: list[str]) -> None:
        """``grids``: (code, name) of the grids the worker may register in; ``compounds``:
        their compounds' names, offered as the name is typed."""
        super().__init__()
        self.grids = grids
        self.compounds = compounds

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(t("household.form.title_new"), classes="title")
        yield Static("", id="edit-error")
        with VerticalScroll():
            if len(self.grids) > 1:
                yield _row(
                    t("col.grid"),
                    Select(
                        [(f"{code} {name}", code) for code, name in self.grids],
                        value=self.grids[0][0],
                        allow_blank=False,
                        id="n-grid",
                        compact=True,
                    ),
                )
            yield _row(
                t("col.compound"),
                Input(
                    placeholder=t("household.form.compound_hint"),
                    suggester=SuggestFromList(self.compounds, case_sensitive=True),
                    id="n-compound",
                    compact=True,
                    max_length=40,
                ),
            )
            for field, wid in (("building", "n-building"), ("unit", "n-unit"), ("room", "n-room")):
                yield _row(
                    t(f"household.form.{field}"),
                    Input(
                        placeholder=t(f"household.form.{field}_hint"),
                        id=wid,
                        compact=True,
                        max_length=32,
                    ),
                )
            yield _row(
                t("household.form.head"),
                Input(
                    placeholder=t("household.form.head_hint"),
                    id="n-head",
                    compact=True,
                    max_length=64,
                ),
            )
            for field, wid in (("phone", "n-phone"), ("id_number", "n-id-number")):
                yield _row(
                    t(f"col.{field}"),
                    Input(
                        placeholder=t("household.form.number_empty"),
                        id=wid,
                        compact=True,
                        max_length=32,
                    ),
                )
            yield _row(t("col.tags"), _tags_list((), "n-tags"))
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one("#n-compound", Input).focus()

    def collect(self) -> dict[str, Any]:
        grid = self._select("n-grid") if len(self.grids) > 1 else self.grids[0][0]
        return {
            "grid": grid,
            "compound": self._value("n-compound"),
            "building": self._value("n-building"),
            "unit": self._value("n-unit"),
            "room": self._value("n-room"),
            "head": {
                "name": self._value("n-head"),
                "phone": self._value("n-phone"),
                "id_number": self._value("n-id-number"),
            },
            "tags": self._tags("n-tags"),
        }

    def write(self, form: dict[str, Any], today: date) -> tuple[object, str]:
        from db.areas import grid_by_code
        from db.households import get_household

        grid = grid_by_code(self.kiosk.read(), form.pop("grid"))
        if grid is None:
            raise UserError("cli.households.no_grid", grid="")
        new = NewHousehold(**form)
        hid = self.kiosk.write(lambda ctx: register_household(ctx, grid, new, today=today))
        h = get_household(self.kiosk.read(), hid)
        assert h is not None
        return hid, t("household.edit.registered", address=present.address(h))

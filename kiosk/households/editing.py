"""Editing households at the door: a member's numbers, birth year, relation and care tags; a
member moving in, moving out or dying; a household moving out or leaving its flat empty; a
household found on the walk. One service for the household screen's forms and the
``kiosk households edit|add`` and ``kiosk members add|edit|leave|return`` commands.

Typed values are read with the roster's own cell rules (kiosk/households/roster/fields.py), so
"3栋", "138 0013 8000" and "110101195003127715" mean the same here as in a street office's
sheet, and a refusal says the same thing. Only what changed is checked: a number a roster
gave that did not check out (待核实) stays as typed until somebody types a new one, and a
new one that checks out clears its mark. Nobody is ever deleted: leaving is a status with a
date (docs/household-editing.md). Every write goes through db/households.py, so it is stamped,
logged to the outbox and merged per field like any other edit.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from db.areas import Grid, compound_by_name, get_or_create_compound
from db.context import WriteContext
from db.errors import UserError
from db.households import (
    CARE_TAGS,
    HOUSEHOLD_STATUSES,
    MEMBER_STATUSES,
    DuplicateAddress,
    Member,
    MemberInput,
    add_member,
    create_household,
    find_by_address,
    get_household,
    household_of_member,
    update_household,
    update_member,
)
from kiosk.households.roster.fields import (
    CellError,
    cell_text,
    parse_birth_year,
    parse_building,
    parse_gender,
    parse_id_number,
    parse_name,
    parse_phone,
    parse_relation,
    parse_room,
    parse_tags,
    parse_unit,
)

#: the fields of a member's form, in the order the form shows them
MEMBER_FORM = ("name", "relation", "gender", "birth_year", "phone", "id_number", "tags")
MAX_COMPOUND_CHARS = 40
MAX_NOTE_CHARS = 2_000


class EditInvalid(UserError):
    """An edit that cannot be saved; ``field`` names the form field that is wrong."""

    def __init__(self, key: str, /, field: str, **params: object) -> None:
        super().__init__(key, exit_code=2, **params)
        self.field = field


def _cell(field: str, parse, value: object):  # type: ignore[no-untyped-def]
    """``parse(value)``, a refusal in the roster's words naming ``field``."""
    try:
        return parse(value)
    except CellError as exc:
        raise EditInvalid(f"roster.reason.{exc.code}", field=field, **exc.params) from None


def parse_day(value: object, today: _dt.date, *, field: str = "date") -> str:
    """A day typed at the door (2026-12-03, 2026/12/3, 2026.12.3, 20261203, or empty for
    today) as an ISO date; never after today, never before 1900."""
    text = cell_text(value).replace(" ", "")
    if not text or text.lower() in ("today", "今天", "今日"):
        return today.isoformat()
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text) or re.fullmatch(
        r"(\d{4})(\d{2})(\d{2})", text
    )
    try:
        day = _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
    except ValueError:
        day = None
    if day is None:
        raise EditInvalid("household.edit.bad_date", field=field, value=text[:20])
    if day > today or day.year < 1900:
        raise EditInvalid("household.edit.date_range", field=field, value=day.isoformat())
    return day.isoformat()


def care_tags(value: object, *, field: str = "tags") -> str:
    """Care tags as stored (codes, space-separated, sorted) from codes or the words a roster
    uses (独居, 70岁以上, 残疾人...); a word not understood is refused, naming it."""
    if isinstance(value, str | type(None)):
        codes, unknown = parse_tags(value)
    else:
        codes, unknown = [], []
        for item in value:  # type: ignore[attr-defined]
            item_codes, item_unknown = parse_tags(item)
            codes += item_codes
            unknown += item_unknown
    if unknown:
        raise EditInvalid("household.edit.unknown_tag", field=field, words="、".join(unknown)[:60])
    return " ".join(sorted(set(codes) & set(CARE_TAGS)))


def _text(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return "" if value is None else str(value).strip()


def clean_member(
    form: Mapping[str, object], current: Member | None, today: _dt.date
) -> dict[str, object]:
    """The member fields ``form`` changes (every field, for a new member), checked.

    Only fields present in ``form`` are looked at, and only those whose value differs from
    ``current`` are checked: a number kept as typed from a roster (待核实) is not refused
    again when somebody edits the member's relation. A changed phone or ID number that
    checks out clears its 待核实 mark. A valid ID number fills an empty birth year and
    gender, and is refused when it contradicts the ones given."""
    out: dict[str, object] = {}

    def changed(name: str) -> bool:
        if name not in form:
            return False
        if current is None:
            return True
        now = getattr(current, name)
        return _text(form, name) != ("" if now is None else str(now))

    if current is None or changed("name"):
        name = _cell("name", parse_name, _text(form, "name"))
        if not name:
            raise EditInvalid("roster.reason.missing_name", field="name")
        out["name"] = name
    if changed("relation"):
        out["relation"] = _cell("relation", parse_relation, _text(form, "relation"))
    if changed("gender"):
        out["gender"] = _cell("gender", parse_gender, _text(form, "gender"))
    if changed("birth_year"):
        text = _text(form, "birth_year")
        out["birth_year"] = _cell("birth_year", lambda v: parse_birth_year(v, today), text or None)
    flags = set(current.to_verify.split()) if current else set()
    if changed("phone"):
        phone, _more = _cell("phone", parse_phone, _text(form, "phone"))
        out["phone"] = phone
        flags.discard("phone")
    if changed("id_number"):
        number = _cell("id_number", lambda v: parse_id_number(v, today), _text(form, "id_number"))
        out["id_number"] = number.number if number else ""
        flags.discard("id_number")
        if number is not None:
            birth = out.get("birth_year", current.birth_year if current else None)
            if birth is None:
                out["birth_year"] = number.birth_year
            elif birth != number.birth_year:
                raise EditInvalid("roster.reason.id_birth_mismatch", field="id_number")
            gender = out.get("gender", current.gender if current else "")
            if not gender:
                out["gender"] = number.gender
            elif gender != number.gender:
                raise EditInvalid("roster.reason.id_gender_mismatch", field="id_number")
    if "birth_year" in out and "id_number" not in out and current and current.id_number:
        # a new birth year must agree with the ID number already known (unless that one is
        # itself to verify)
        if not current.doubtful("id_number"):
            try:
                known = parse_id_number(current.id_number, today)
            except CellError:
                known = None
            if known is not None and out["birth_year"] not in (None, known.birth_year):
                raise EditInvalid("roster.reason.id_birth_mismatch", field="birth_year")
    if "tags" in form:
        tags = care_tags(form["tags"])
        if current is None or tags != current.tags:
            out["tags"] = tags
    verify = " ".join(sorted(flags))
    if current is not None and verify != current.to_verify:
        out["to_verify"] = verify
    return out


def _member_or_refuse(ctx: WriteContext, member_id: str) -> Member:
    hid = household_of_member(ctx.conn, member_id)
    household = get_household(ctx.conn, hid) if hid else None
    member = next((m for m in household.members if m.id == member_id), None) if household else None
    if member is None:
        raise UserError("household.edit.no_member", exit_code=2, id=member_id[:64])
    return member


def edit_member(
    ctx: WriteContext, member_id: str, form: Mapping[str, object], *, today: _dt.date
) -> dict[str, object]:
    """Change what ``form`` changes of a member (inside a transaction); returns the changes."""
    current = _member_or_refuse(ctx, member_id)
    changes = clean_member(form, current, today)
    if changes:
        update_member(ctx, member_id, **changes)
    return changes


def new_member(
    ctx: WriteContext, household_id: str, form: Mapping[str, object], *, today: _dt.date
) -> str:
    """Add somebody who moved in, or was born, to a household; returns their id."""
    if get_household(ctx.conn, household_id) is None:
        raise UserError("cli.households.not_found", exit_code=2, id=household_id[:64])
    fields = clean_member(form, None, today)
    return add_member(ctx, household_id, MemberInput(**fields))  # type: ignore[arg-type]


def member_leaves(
    ctx: WriteContext, member_id: str, status: str, on: object, *, today: _dt.date
) -> str:
    """A member moved out (``moved_out``) or died (``deceased``) on the day ``on``: their row
    stays, with the status and the date; lists and figures stop counting them. Returns the
    day recorded (ISO)."""
    if status not in MEMBER_STATUSES:
        raise EditInvalid("household.edit.bad_member_status", field="status", value=status[:20])
    _member_or_refuse(ctx, member_id)
    day = parse_day(on, today)
    update_member(ctx, member_id, status=status, left_on=day)
    return day


def member_returns(ctx: WriteContext, member_id: str) -> bool:
    """A member marked as gone lives here again (a mistake put right, or back home)."""
    _member_or_refuse(ctx, member_id)
    return update_member(ctx, member_id, status="", left_on="")


def edit_household(
    ctx: WriteContext,
    household_id: str,
    form: Mapping[str, object],
    *,
    today: _dt.date,
) -> dict[str, object]:
    """Change a household's care tags, note, and whether somebody lives there (``status``:
    '' lived in, ``moved_out``, ``vacant``; ``status_on`` the day, today when empty)."""
    household = get_household(ctx.conn, household_id)
    if household is None:
        raise UserError("cli.households.not_found", exit_code=2, id=household_id[:64])
    changes: dict[str, object] = {}
    if "tags" in form:
        tags = care_tags(form["tags"])
        if tags != " ".join(household.tags):
            changes["tags"] = tags
    if "note" in form:
        note = _text(form, "note")
        if len(note) > MAX_NOTE_CHARS:
            raise EditInvalid("roster.reason.note_too_long", field="note", max=MAX_NOTE_CHARS)
        if note != household.note:
            changes["note"] = note
    if "status" in form:
        status = _text(form, "status")
        if status not in ("", *HOUSEHOLD_STATUSES):
            raise EditInvalid(
                "household.edit.bad_household_status", field="status", value=status[:20]
            )
        on = parse_day(form.get("status_on"), today, field="status_on") if status else ""
        if status != household.status or (status and "status_on" in form):
            changes["status"] = status
            if on != household.status_on:
                changes["status_on"] = on
    if changes:
        update_household(ctx, household_id, **changes)
    return changes


@dataclass(frozen=True)
class NewHousehold:
    """A household found on the walk, as typed."""

    compound: str
    building: str
    unit: str
    room: str
    head: Mapping[str, object]
    tags: object = ""
    note: str = ""


def clean_address(compound: str, building: str, unit: str, room: str) -> tuple[str, ...]:
    """The compound's name and building-unit-room as stored, with the roster's rules (3栋,
    2单元, 501室 are 3, 2, 501)."""
    name = cell_text(compound)
    if not name:
        raise EditInvalid("roster.reason.missing_compound", field="compound")
    if len(name) > MAX_COMPOUND_CHARS or name.isdigit():
        raise EditInvalid("roster.reason.bad_compound", field="compound")
    parts = (
        _cell("building", parse_building, building),
        _cell("unit", parse_unit, unit),
        _cell("room", parse_room, room),
    )
    for field, value in zip(("building", "unit", "room"), parts, strict=True):
        if not value:
            raise EditInvalid("roster.reason.missing_address", field=field)
    return (name, *parts)


def register_household(ctx: WriteContext, grid: Grid, new: NewHousehold, *, today: _dt.date) -> str:
    """Register a household found on the walk in ``grid`` (its compound too, when new), with
    its head; returns its id. An address already registered is refused, naming it."""
    name, building, unit, room = clean_address(new.compound, new.building, new.unit, new.room)
    head = dict(new.head)
    head.setdefault("relation", "户主")
    members = [MemberInput(**clean_member(head, None, today))]  # type: ignore[arg-type]
    tags = care_tags(new.tags)
    note = cell_text(new.note)
    if len(note) > MAX_NOTE_CHARS:
        raise EditInvalid("roster.reason.note_too_long", field="note", max=MAX_NOTE_CHARS)
    known = compound_by_name(ctx.conn, grid.id, name)
    if known is not None:
        existing = find_by_address(ctx.conn, known.id, building, unit, room)
        if existing:
            _refuse_duplicate(ctx, existing)
    compound = get_or_create_compound(ctx, grid.id, name)
    try:
        return create_household(
            ctx,
            grid_id=grid.id,
            compound_id=compound.id,
            building=building,
            unit=unit,
            room=room,
            tags=tags.split(),
            note=note,
            members=members,
        )
    except DuplicateAddress as exc:
        _refuse_duplicate(ctx, exc.household_id)
        raise  # not reached


def _refuse_duplicate(ctx: WriteContext, household_id: str) -> None:
    from kiosk.domain import present

    h = get_household(ctx.conn, household_id)
    assert h is not None
    key = "household.edit.duplicate_left" if h.status else "household.edit.duplicate"
    raise EditInvalid(key, field="room", address=present.address(h), id=h.id)

"""How records read to a person: addresses, care tags, masked numbers (shared by CLI and screens).

A household whose personal data was erased on request reads as "已删除个人信息" with its
compound and building only (kiosk/security/privacy.py, docs/security.md)."""

from __future__ import annotations

from collections.abc import Callable

from db.households import Household, Member
from db.search import SearchHit
from kiosk.core.i18n import t
from kiosk.domain.masking import forgotten_label, mask


def address(h: Household, *, with_compound: bool = True) -> str:
    return address_of(
        h.compound if with_compound else None, h.building, h.unit, h.room, forgotten=h.forgotten
    )


def address_of(
    compound: str | None, building: str, unit: str, room: str, *, forgotten: bool = False
) -> str:
    """An address from its parts (``compound`` None: without it); a forgotten household's
    reads "compound building · 已删除个人信息"."""
    if forgotten:
        return t(
            "privacy.forgotten_address",
            compound=compound or "",
            building=building,
            label=forgotten_label(),
        )
    if compound is None:
        return t("address.short", building=building, unit=unit, room=room)
    return t("address.full", compound=compound, building=building, unit=unit, room=room)


def address_writer() -> Callable[[str, str, str, str, bool], str]:
    """:func:`address_of` (with the compound) for many rows of one export: the language's
    address pattern looked up once, not for each of 100,000 rows."""
    full = t("address.full")  # the pattern, its {placeholders} unfilled

    def write(compound: str, building: str, unit: str, room: str, forgotten: bool) -> str:
        if forgotten:
            return address_of(compound, building, unit, room, forgotten=True)
        return full.format(compound=compound, building=building, unit=unit, room=room)

    return write


def head(h: Household) -> str:
    """The head of household as lists show it."""
    return forgotten_label() if h.forgotten else h.head_name


def tags(codes: tuple[str, ...] | list[str] | str) -> str:
    if isinstance(codes, str):
        codes = codes.split()
    return t("role.separator").join(t(f"tag.{c}") for c in codes) if codes else ""


#: Relations to the head and genders as rosters write them (kiosk/households/roster/fields.py
#: brings the spellings to these), and their catalogue keys: shown in the interface's language.
RELATIONS = {
    "户主": "head", "配偶": "spouse", "子": "son", "女": "daughter", "父亲": "father",
    "母亲": "mother", "孙子": "grandson", "孙女": "granddaughter", "儿媳": "daughter_in_law",
    "女婿": "son_in_law", "兄弟": "brother", "姐妹": "sister", "其他": "other",
}  # fmt: skip
GENDERS = {"男": "male", "女": "female"}


def relation_label(text: str | None) -> str:
    """A member's relation to the head as the interface says it (an unusual one as written)."""
    code = RELATIONS.get(text or "")
    return t(f"relation.{code}") if code else (text or "")


def gender_label(text: str | None) -> str:
    code = GENDERS.get(text or "")
    return t(f"gender.{code}") if code else (text or "")


#: after a number kept as typed from a roster that does not check out (待核实)
TO_VERIFY = "⚠"


def marked(text: str, doubtful: bool) -> str:
    """``text`` (a masked number) with the to-verify mark when it is doubtful."""
    return f"{text} {TO_VERIFY}" if doubtful and text else text


def member_status(m: Member, *, short: bool = False) -> str:
    """What became of a member who no longer lives here ("已迁出 2026-11-02"); '' while
    they do. ``short``: as a suffix to their name in a list."""
    if not m.status:
        return ""
    key = "member.status.suffix" if short else "member.status.line"
    return t(key, status=t(f"member.status.{m.status}"), date=m.left_on)


def household_status(h: Household) -> str:
    """A household nobody lives in any more, as its screen says it; '' while lived in."""
    if not h.status:
        return ""
    return t("household.status.banner", status=t(f"household.status.{h.status}"), date=h.status_on)


def member_row(m: Member) -> dict[str, object]:
    """A member as lists show it: phone and ID number masked; ``to_verify`` names the
    numbers kept as typed that do not check out."""
    return {
        "id": m.id,
        "name": m.name,
        "relation": m.relation,
        "gender": m.gender,
        "phone": mask("phone", m.phone),
        "id_number": mask("id_number", m.id_number),
        "birth_year": m.birth_year,
        "tags": m.tags.split(),
        "to_verify": m.to_verify.split(),
        "status": m.status,
        "left_on": m.left_on,
    }


def household_summary(h: Household) -> dict[str, object]:
    return {
        "id": h.id,
        "address": address(h),
        "grid": h.grid_code,
        "grid_name": h.grid_name,
        "community": h.community,
        "compound": h.compound,
        "building": h.building,
        "unit": h.unit,
        "room": h.room,
        "head": head(h),
        "members": h.member_count,
        "tags": list(h.tags),
        "forgotten": h.forgotten,
        "status": h.status,
        "status_on": h.status_on,
    }


def match(hit: SearchHit) -> str:
    """A search result's "matched" column: the kind of key, and who matched when it was not
    the head of household the row shows (searching a spouse's name finds their home)."""
    label = t(f"match.{hit.matched}")
    if hit.member and hit.member != hit.household.head_name:
        return t("match.member", name=hit.member, kind=label)
    return label

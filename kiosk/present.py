"""How records read to a person: addresses, care tags, masked numbers (shared by CLI and screens)."""

from __future__ import annotations

from db.households import Household, Member
from db.normalize import mask_id_number, mask_phone
from kiosk.i18n import t


def address(h: Household, *, with_compound: bool = True) -> str:
    key = "address.full" if with_compound else "address.short"
    return t(key, compound=h.compound, building=h.building, unit=h.unit, room=h.room)


def tags(codes: tuple[str, ...] | list[str] | str) -> str:
    if isinstance(codes, str):
        codes = codes.split()
    return "、".join(t(f"tag.{c}") for c in codes) if codes else ""


def member_row(m: Member) -> dict[str, object]:
    """A member as lists show it: phone and ID number masked."""
    return {
        "id": m.id,
        "name": m.name,
        "relation": m.relation,
        "gender": m.gender,
        "phone": mask_phone(m.phone),
        "id_number": mask_id_number(m.id_number),
        "birth_year": m.birth_year,
        "tags": m.tags.split(),
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
        "head": h.head_name,
        "members": h.member_count,
        "tags": list(h.tags),
    }

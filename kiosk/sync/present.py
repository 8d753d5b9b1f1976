"""How conflicts and refused changes read to a person (CLI and screens): phone and ID numbers
masked, a household named by its address."""

from __future__ import annotations

import sqlite3
from typing import Any

from db.audit import household_of
from db.households import get_household
from db.sync import Conflict, Held
from kiosk.core.i18n import has, t
from kiosk.domain.masking import mask
from kiosk.domain.present import address


def show_value(field: str, value: Any) -> str:
    return mask(field, value)


def field_label(field: str) -> str:
    return t(f"col.{field}") if has(f"col.{field}") else field


def conflict_row(c: Conflict) -> dict[str, Any]:
    return {
        "id": c.id,
        "entity": c.entity,
        "entity_id": c.entity_id,
        "record": f"{c.entity} {c.entity_id[-8:]}",
        "field": field_label(c.field),
        "mine": show_value(c.field, c.local_value),
        "theirs": show_value(c.field, c.remote_value),
        "applied": t("sync.winner_local" if c.winner == "local" else "sync.winner_remote"),
        "detected_at": c.detected_at,
    }


def why_refused(code: str, params: dict[str, str], hub_message: str = "") -> str:
    """Why the hub refused a change, in this laptop's language (the hub's words for a code
    this version does not know)."""
    if has(f"sync.why.{code}"):
        words = dict(params)
        if "field" in words:
            words["field"] = field_label(words["field"])
        if "entity" in words:
            words["entity"] = record_label(words["entity"])
        if "needs" in words:
            words["needs"] = t(f"sync.hub_cli.role_{words['needs']}")
        return t(f"sync.why.{code}", **words)
    return hub_message or code


def what_to_do(code: str) -> str:
    return t(f"sync.todo.{code}") if has(f"sync.todo.{code}") else t("sync.todo.default")


def record_label(entity: str) -> str:
    return t(f"sync.entity.{entity}") if has(f"sync.entity.{entity}") else entity


def held_row(conn: sqlite3.Connection, h: Held) -> dict[str, Any]:
    """A refused change as a person reads it: which record, which household (by address),
    why the hub refused it and what to do."""
    hid = household_of(conn, h.entity, h.entity_id, h.payload)
    household = get_household(conn, hid) if hid else None
    return {
        "op_id": h.op_id,
        "seq": h.seq,
        "entity": h.entity,
        "entity_id": h.entity_id,
        "record": f"{record_label(h.entity)} {h.entity_id[-8:]}",
        "household": address(household) if household is not None else "",
        "household_id": hid,
        "code": h.code,
        "why": why_refused(h.code, h.params, h.message),
        "todo": what_to_do(h.code),
        "refused_at": h.refused_at,
    }

"""From a scanned payload to the record it names: shared by ``kiosk lookup``, ``kiosk scan``,
the scan-anywhere hook and the camera."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from db.connection import SQLiteErrors
from db.households import Household, get_household
from db.labels import Label, find_label
from kiosk.core.errors import UserError
from kiosk.qr.payload import Payload, parse


class LabelNotFound(UserError):
    """A well-formed payload that names no label here, or a retired one."""


@dataclass
class Resolved:
    """What a payload leads to: the household (for a case slip, the case's first household),
    the case for a slip, and the household's unfinished cases."""

    payload: Payload
    label: Label
    household: Household | None
    case_id: str | None = None
    case: dict[str, Any] | None = None
    open_cases: list[dict[str, Any]] = field(default_factory=list)


def _open_cases(conn: sqlite3.Connection, household_id: str) -> list[dict[str, Any]]:
    from db.cases import list_open_cases_for_household

    return [asdict(c) for c in list_open_cases_for_household(conn, household_id)]


def _case(conn: sqlite3.Connection, case_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The case's headline fields and its first household (cases may not have synced yet)."""
    try:
        row = conn.execute(
            "SELECT c.id, c.number, c.category, c.category_group, c.registered_at,"
            " s.status FROM cases c LEFT JOIN case_state s ON s.case_id = c.id WHERE c.id = ?",
            (case_id,),
        ).fetchone()
    except SQLiteErrors.operational:
        return None, None
    if row is None:
        return None, None
    first = conn.execute(
        "SELECT household_id FROM case_households WHERE case_id = ? ORDER BY hlc LIMIT 1",
        (case_id,),
    ).fetchone()
    return dict(row), first[0] if first else None


def resolve_payload(
    conn: sqlite3.Connection, payload: Payload, *, with_cases: bool = True
) -> Resolved:
    """The record ``payload`` names, or :class:`LabelNotFound` (unknown or retired)."""
    label = find_label(conn, payload.kind, payload.code)
    if label is None:
        raise LabelNotFound("qr.not_found", code=payload.readable)
    if not label.active:
        raise LabelNotFound(
            "qr.retired",
            code=payload.readable,
            at=label.retired_at[:10] if label.retired_at else "",
        )
    if payload.kind == "HH":
        assert label.household_id is not None
        household = get_household(conn, label.household_id)
        if household is None:
            raise LabelNotFound("qr.not_found", code=payload.readable)
        cases = _open_cases(conn, household.id) if with_cases else []
        return Resolved(payload, label, household, open_cases=cases)
    assert label.case_id is not None
    case, household_id = _case(conn, label.case_id)
    if case is None:
        raise LabelNotFound("qr.case_missing", code=payload.readable)
    household = get_household(conn, household_id) if household_id else None
    cases = _open_cases(conn, household.id) if (with_cases and household) else []
    return Resolved(payload, label, household, label.case_id, case, cases)


def resolve_text(conn: sqlite3.Connection, text: str, *, with_cases: bool = True) -> Resolved:
    """Parse then resolve: raises :class:`~kiosk.qr.payload.InvalidLabel` ("not a valid
    label"), :class:`~kiosk.qr.payload.NotALabel` or :class:`LabelNotFound`."""
    return resolve_payload(conn, parse(text), with_cases=with_cases)


def to_json(result: Resolved) -> dict[str, Any]:
    from kiosk.domain import present

    doc: dict[str, Any] = {
        "payload": result.payload.text,
        "kind": "household" if result.payload.kind == "HH" else "case",
        "label": {
            "code": result.payload.readable,
            "generation": result.label.generation,
            "created_at": result.label.created_at,
        },
        "household": present.household_summary(result.household) if result.household else None,
        "open_cases": result.open_cases,
    }
    if result.case is not None:
        doc["case"] = result.case
    return doc

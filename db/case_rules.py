"""A community's rules for its cases (``case_rules``): which category groups need a photo of
the repair (整改后照片) on the step that resolves a case.

Kept by the community's supervisor (or the administrator), stamped and logged to the outbox
like the departments, so every laptop of the community applies the same rule once it has
synced. Two devices that set the same group offline write two rows: the latest by
(HLC, device id) is the rule. The rule is checked when a resolution is written
(:func:`db.cases.append_event`), on every path that writes one; see docs/cases.md.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from db.case_fold import CaseRefused
from db.context import WriteContext, now_iso
from db.ids import uuid7

#: the event types that resolve a case: the ones an after-photo rule applies to
RESOLVING = ("resolve", "resolve_on_spot")


@dataclass(frozen=True)
class CaseRule:
    community: str
    category_group: str
    after_photo: bool
    updated_at: str


_LATEST = (
    "SELECT r.* FROM case_rules r WHERE NOT EXISTS (SELECT 1 FROM case_rules o"
    " WHERE o.community = r.community AND o.category_group = r.category_group"
    " AND (o.hlc > r.hlc OR (o.hlc = r.hlc AND o.device_id > r.device_id)"
    " OR (o.hlc = r.hlc AND o.device_id = r.device_id AND o.id > r.id)))"
)


def list_rules(conn: sqlite3.Connection, community: str | None = None) -> list[CaseRule]:
    """The rules in force (every community's when ``community`` is None), by group."""
    sql, params = _LATEST, []
    if community is not None:
        sql += " AND r.community = ?"
        params.append(community)
    rows = conn.execute(sql + " ORDER BY r.community, r.category_group", params).fetchall()
    return [
        CaseRule(r["community"], r["category_group"], bool(r["after_photo"]), r["updated_at"])
        for r in rows
    ]


def after_photo_groups(conn: sqlite3.Connection, community: str | None) -> set[str]:
    """The category groups whose cases ``community`` resolves only with a photo."""
    if not community:
        return set()
    return {r.category_group for r in list_rules(conn, community) if r.after_photo}


def set_after_photo(ctx: WriteContext, community: str, group: str, required: bool) -> bool:
    """Require (or no longer require) a photo to resolve ``community``'s cases of ``group``;
    returns whether anything was written. Inside the caller's transaction."""
    conn = ctx.conn
    row = conn.execute(
        _LATEST + " AND r.community = ? AND r.category_group = ?", (community, group)
    ).fetchone()
    hlc, now = ctx.stamp(), now_iso()
    if row is not None:
        if bool(row["after_photo"]) == required:
            return False
        conn.execute(
            "UPDATE case_rules SET after_photo = ?, updated_at = ?, hlc = ?, worker_id = ?,"
            " device_id = ? WHERE id = ?",
            (int(required), now, hlc, ctx.worker_id, ctx.device_id, row["id"]),
        )
        ctx.emit(
            "case_rule",
            row["id"],
            "update",
            {"after_photo": int(required)},
            hlc,
            base_version=row["hlc"],
        )
        return True
    if not required:
        return False  # nothing required yet: nothing to write
    rid = uuid7()
    fields = {"id": rid, "community": community, "category_group": group, "after_photo": 1}
    conn.execute(
        "INSERT INTO case_rules(id, community, category_group, after_photo, created_at,"
        " updated_at, hlc, worker_id, device_id) VALUES (:id, :community, :category_group,"
        " :after_photo, :now, :now, :hlc, :w, :d)",
        {**fields, "now": now, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("case_rule", rid, "insert", fields, hlc)
    return True


def after_photo_group(conn: sqlite3.Connection, case_id: str) -> str | None:
    """The case's category group when its community requires a photo to resolve it."""
    row = conn.execute(
        "SELECT c.category_group, g.community FROM cases c LEFT JOIN grids g ON g.id = c.grid_id"
        " WHERE c.id = ?",
        (case_id,),
    ).fetchone()
    if row is None or row[0] not in after_photo_groups(conn, row[1]):
        return None
    return str(row[0])


def check_after_photo(
    conn: sqlite3.Connection,
    case_id: str,
    event_type: str,
    photos: int,
    categories: Any = None,
) -> None:
    """Raise :class:`CaseRefused` when ``event_type`` resolves a case whose group needs a photo
    of the repair and the step brings none (``photos``: how many it brings). ``categories``
    (the category table) names the group in the message; its code otherwise."""
    if event_type not in RESOLVING or photos > 0:
        return
    group = after_photo_group(conn, case_id)
    if group is None:
        return
    found = categories.group(group) if categories is not None else None
    raise CaseRefused(
        "cases.rule.after_photo_required",
        exit_code=3,
        group=found.name if found is not None else group,
    )

"""Today's walk list: the households of a worker's grids, ordered by what is due.

1. revisits: the latest visit found nobody home (未遇) and its revisit date has come;
2. cases awaiting a follow-up visit or the resident's rating (from the case ledger);
3. care-tagged households nobody has met for ``care_days`` days;
4. the rest, in walking order (compound, building, unit, room).
Households whose personal data was erased on request (db/forget.py), and households that
moved out or whose flat stands empty, are left out.
Within each group the order is the walking order too. Paged in SQL: one grid of a few hundred
households is sorted by SQLite, never loaded whole into the interface.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from db.cases import households_awaiting_follow_up

#: Tags that make a household a care household for the walk list.
CARE_TAGS = ("elderly70", "alone", "disabled", "hardship")
REASONS = ("revisit", "case", "care", "routine")


@dataclass(frozen=True)
class WalkEntry:
    household_id: str
    compound: str
    building: str
    unit: str
    room: str
    head_name: str
    member_count: int
    tags: tuple[str, ...]
    reason: str  # one of REASONS
    last_visit_at: str | None
    last_met_at: str | None
    revisit_on: str | None  # set while the latest visit found nobody home
    visited_today: bool


def _care_sql() -> str:
    return "(" + " OR ".join(f"(' ' || h.tags || ' ') LIKE '% {t} %'" for t in CARE_TAGS) + ")"


_PRIORITY = f"""
    CASE
      WHEN v.nobody_home = 1 AND v.revisit_on IS NOT NULL AND v.revisit_on <= :today THEN 0
      WHEN h.id IN (SELECT value FROM json_each(:cases)) THEN 1
      WHEN {_care_sql()} AND (v.last_met_at IS NULL OR v.last_met_at < :cutoff) THEN 2
      ELSE 3
    END
"""

_TO_VERIFY = "AND h.id IN (SELECT household_id FROM members WHERE to_verify != '' AND status = '')"

_WALK_ORDER = (
    "c.name, CAST(h.building AS INTEGER), h.building, CAST(h.unit AS INTEGER), h.unit,"
    " CAST(h.room AS INTEGER), h.room, h.id"
)


def _params(
    grid_ids: list[str], today: date, care_days: int, case_households: Collection[str]
) -> tuple[str, dict[str, object]]:
    marks = ",".join(f":g{i}" for i in range(len(grid_ids)))
    params: dict[str, object] = {f"g{i}": g for i, g in enumerate(grid_ids)}
    params.update(
        today=today.isoformat(),
        cutoff=(today - timedelta(days=max(0, care_days))).isoformat(),
        cases=json.dumps(sorted(case_households)),
    )
    return marks, params


def walk_list(
    conn: sqlite3.Connection,
    grid_ids: list[str],
    *,
    today: date,
    care_days: int = 30,
    case_households: Collection[str] = (),
    limit: int = 50,
    offset: int = 0,
    to_verify_only: bool = False,
) -> list[WalkEntry]:
    """One page of the walk list for ``grid_ids``.

    ``case_households`` are the households with a case awaiting a follow-up visit or a
    rating (see :func:`case_due_households`). ``to_verify_only``: only the households with a
    number kept as typed from a roster, to check at the door (待核实).
    """
    if not grid_ids:
        return []
    marks, params = _params(grid_ids, today, care_days, case_households)
    rows = conn.execute(
        f"""SELECT h.id, c.name AS compound, h.building, h.unit, h.room, h.head_name,
                   h.member_count, h.tags, v.last_visit_at, v.last_met_at, v.nobody_home,
                   v.revisit_on, {_PRIORITY} AS priority
              FROM households h
              JOIN compounds c ON c.id = h.compound_id
              LEFT JOIN visit_status v ON v.household_id = h.id
             WHERE h.grid_id IN ({marks}) AND h.forgotten_at IS NULL AND h.status = ''
               {_TO_VERIFY if to_verify_only else ""}
             ORDER BY priority, {_WALK_ORDER}
             LIMIT :limit OFFSET :offset""",
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    day = today.isoformat()
    return [
        WalkEntry(
            household_id=r["id"],
            compound=r["compound"],
            building=r["building"],
            unit=r["unit"],
            room=r["room"],
            head_name=r["head_name"],
            member_count=r["member_count"],
            tags=tuple(r["tags"].split()),
            reason=REASONS[r["priority"]],
            last_visit_at=r["last_visit_at"],
            last_met_at=r["last_met_at"],
            revisit_on=r["revisit_on"] if r["nobody_home"] else None,
            visited_today=bool(r["last_visit_at"] and r["last_visit_at"][:10] == day),
        )
        for r in rows
    ]


def walk_counts(
    conn: sqlite3.Connection,
    grid_ids: list[str],
    *,
    today: date,
    care_days: int = 30,
    case_households: Collection[str] = (),
) -> dict[str, int]:
    """How many households fall in each group, and how many were visited today."""
    out = {reason: 0 for reason in REASONS}
    out["visited_today"] = 0
    if not grid_ids:
        return out
    marks, params = _params(grid_ids, today, care_days, case_households)
    for priority, n, done in conn.execute(
        f"""SELECT {_PRIORITY} AS priority, count(*), sum(v.last_visit_at >= :today)
              FROM households h LEFT JOIN visit_status v ON v.household_id = h.id
             WHERE h.grid_id IN ({marks}) AND h.forgotten_at IS NULL AND h.status = '' GROUP BY priority""",
        params,
    ):
        out[REASONS[priority]] = n
        out["visited_today"] += done or 0
    return out


def case_due_households(conn: sqlite3.Connection, grid_ids: list[str]) -> set[str]:
    """Households with a case awaiting a follow-up visit or the resident's rating.

    Asked of the case ledger (``db.cases``).
    """
    return set(households_awaiting_follow_up(conn, grid_ids))

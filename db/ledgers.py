"""What the three ledgers (kiosk/cases/ledger.py) read: the cases or their events in
registration order, and what a row names beside its case, in dictionaries built once per
export. Joining those to the cases row by row cost SQLite a temporary index and a second sort
(0.83–0.94 s of query for 100,000 cases, against 0.3 s for the sorted pass alone).

Rows come as plain tuples: the ledgers read cells by position, and 100,000 ``sqlite3.Row``
objects (the connection's factory) cost more than that."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """The cases a ledger covers: registered (or, for events, taken) from ``since`` and before
    ``before`` (ISO texts), of grid ``grid_id``, and of ``grid_ids`` (the acting worker's
    scope; () = every grid)."""

    since: str | None = None
    before: str | None = None
    grid_id: str | None = None
    grid_ids: tuple[str, ...] = ()

    def where(self, column: str) -> tuple[str, dict[str, str]]:
        """`` WHERE ...`` over ``column`` (the date) and the case's grid (alias ``c``)."""
        parts, params = [], {}
        if self.since:
            parts.append(f"{column} >= :since")
            params["since"] = self.since
        if self.before:
            parts.append(f"{column} < :before")
            params["before"] = self.before
        if self.grid_id:
            parts.append("c.grid_id = :grid")
            params["grid"] = self.grid_id
        if self.grid_ids:
            marks = ", ".join(f":scope{i}" for i in range(len(self.grid_ids)))
            parts.append(f"c.grid_id IN ({marks})")
            params.update({f"scope{i}": g for i, g in enumerate(self.grid_ids)})
        return (" WHERE " + " AND ".join(parts)) if parts else "", params

    def of_cases(self, column: str) -> tuple[str, dict[str, str]]:
        """`` WHERE column IN (the spanned cases' ids)``, or nothing when every case is."""
        where, params = self.where("c.registered_at")
        return (f" WHERE {column} IN (SELECT c.id FROM cases c{where})" if where else ""), params


def _tuples(conn: sqlite3.Connection) -> sqlite3.Cursor:
    cur = conn.cursor()
    cur.row_factory = None
    return cur


def grid_codes(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(_tuples(conn).execute("SELECT id, code FROM grids"))


def worker_names(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(_tuples(conn).execute("SELECT id, name FROM workers"))


def households_per_case(conn: sqlite3.Connection, span: Span) -> dict[str, tuple[str, int, int]]:
    """case id -> (case id, how many households, the rid of the first in roster order), in
    one pass of the (case_id, household_id) index. Counted here rather than grouped in SQL:
    nearly every case has one household, and SQLite's aggregate per group cost more."""
    where, params = span.of_cases("l.case_id")
    per_case: dict[str, tuple[str, int, int]] = {}
    for cid, rid in _tuples(conn).execute(
        "SELECT l.case_id, h.rid FROM case_households l"
        " CROSS JOIN households h ON h.id = l.household_id" + where,
        params,
    ):
        seen = per_case.get(cid)
        per_case[cid] = (cid, 1, rid) if seen is None else (cid, seen[1] + 1, min(seen[2], rid))
    return per_case


def doors(conn: sqlite3.Connection, rids: Iterable[int]) -> Iterator[tuple]:
    """(rid, compound name or None, building, unit, room, forgotten 0/1) of these households."""
    return _tuples(conn).execute(
        "SELECT h.rid, cp.name, h.building, h.unit, h.room, h.forgotten_at IS NOT NULL"
        " FROM households h LEFT JOIN compounds cp ON cp.id = h.compound_id"
        " WHERE h.rid IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(set(rids))),),
    )


def original_cases(conn: sqlite3.Connection, span: Span) -> Iterator[tuple]:
    """(number, registered_at, grid_id, group, category, summary, raised_by, worker_id,
    visit_id, id) in registration order."""
    where, params = span.where("c.registered_at")
    return _tuples(conn).execute(
        "SELECT c.number, c.registered_at, c.grid_id, c.category_group, c.category,"
        " c.summary, c.raised_by, c.worker_id, c.visit_id, c.id FROM cases c"
        + where
        + " ORDER BY c.registered_at, c.id",
        params,
    )


def photos_per_case(conn: sqlite3.Connection, span: Span) -> dict[str, tuple[int, int]]:
    """case id -> (photos on the case, those on a resolution: the 整改后 evidence)."""
    where, params = span.of_cases("p.case_id")
    return {
        case_id: (n, after)
        for case_id, n, after in _tuples(conn).execute(
            "SELECT p.case_id, count(*), sum(e.type IN ('resolve', 'resolve_on_spot'))"
            " FROM photos p JOIN case_events e ON e.id = p.event_id"
            + where
            + " GROUP BY p.case_id",
            params,
        )
    }


def repeated_numbers(conn: sqlite3.Connection) -> dict[str, str]:
    """case id -> the number of the case it was closed as a repeat of."""
    return dict(
        _tuples(conn).execute(
            "SELECT s.case_id, r.number FROM case_state s JOIN cases r ON r.id = s.repeat_of"
            " WHERE s.repeat_of IS NOT NULL"
        )
    )


def resolution_cases(conn: sqlite3.Connection, span: Span) -> Iterator[tuple]:
    """(number, registered_at, grid_id, category, summary, department, due, status,
    resolved_at, on_spot, reopen_count, last_rating, closed_at, close_kind, manual_level, id)
    in registration order, each with its folded state."""
    where, params = span.where("c.registered_at")
    return _tuples(conn).execute(
        "SELECT c.number, c.registered_at, c.grid_id, c.category, c.summary, s.department, s.due,"
        " s.status, s.resolved_at, s.on_spot, s.reopen_count, s.last_rating, s.closed_at,"
        " s.close_kind, s.manual_level, c.id"
        " FROM cases c JOIN case_state s ON s.case_id = c.id"
        + where
        + " ORDER BY c.registered_at, c.id",
        params,
    )


def cases_with_invalid_events(conn: sqlite3.Connection) -> list[str]:
    return [
        r[0] for r in _tuples(conn).execute("SELECT case_id FROM case_state WHERE n_invalid > 0")
    ]


def progress_events(conn: sqlite3.Connection, span: Span) -> Iterator[tuple]:
    """(number, at, type, data, worker name, summary, event id, case id, hlc, device id,
    worker id) of every event taken in the span, each case's in log order, cases in
    registration order."""
    where, params = span.where("e.at")
    return _tuples(conn).execute(
        "SELECT c.number, e.at, e.type, e.data, w.name, c.summary, e.id, e.case_id, e.hlc,"
        " e.device_id, e.worker_id FROM case_events e JOIN cases c ON c.id = e.case_id"
        " LEFT JOIN workers w ON w.id = e.worker_id"
        + where
        + " ORDER BY c.registered_at, e.case_id, e.hlc, e.device_id, e.id",
        params,
    )

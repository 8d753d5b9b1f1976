"""The three ledgers (台账) as spreadsheet exports: views of the case log.

- original (原始台账): one row per case, what was registered.
- progress (推进台账): one row per event, every step (invalid events are kept and marked).
- resolution (化解台账): one row per case, how it ended and how the resident rated it.

Rows stream from SQL straight into the writer: ``.xlsx`` through the streaming sheet writer
(kiosk/core/spreadsheet.py; dates and date-times as real date cells), ``.csv`` as UTF-8 with a byte-order mark so Excel
reads Chinese correctly (dates as ISO text, which Excel and LibreOffice both parse). Every
text cell is neutralised against formula injection: text that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading apostrophe, so a spreadsheet shows it
as text and never evaluates it. A LABEL column (a status, 是/否, a rating's name) holds only
words of the catalogue, never a value as a device sent it, and the CSV writer skips it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from db import ledgers
from db.case_fold import EscalationRules, clock_level
from db.cases import refresh_dirty
from db.ledgers import Span
from kiosk.core import csv_sheet
from kiosk.core.errors import UserError
from kiosk.core.i18n import t
from kiosk.core.spreadsheet import (  # noqa: F401 - neutralise is the ledgers' public name
    DATE,
    DATETIME,
    INT,
    LABEL,
    TEXT,
    neutralise,
    write_sheet,
)
from kiosk.domain.categories import Categories, load_categories

KINDS = ("original", "progress", "resolution")


@dataclass(frozen=True)
class Column:
    key: str
    kind: str = TEXT
    width: int = 14


COLUMNS: dict[str, list[Column]] = {
    "original": [
        Column("number", TEXT, 18),
        Column("registered", DATE, 12),
        Column("grid", TEXT, 8),
        Column("group", TEXT, 14),
        Column("category", TEXT, 12),
        Column("summary", TEXT, 40),
        Column("households", INT, 8),
        Column("address", TEXT, 26),
        Column("raised_by", TEXT, 10),
        Column("registrar", TEXT, 10),
        Column("visit", TEXT, 10),
        Column("case_id", TEXT, 38),
    ],
    "progress": [
        Column("number", TEXT, 18),
        Column("at", DATETIME, 18),
        Column("step", TEXT, 12),
        Column("department", TEXT, 16),
        Column("person", TEXT, 10),
        Column("due", DATE, 12),
        Column("rating", LABEL, 10),
        Column("note", TEXT, 40),
        Column("by", TEXT, 10),
        Column("valid", LABEL, 24),
        Column("summary", TEXT, 30),
        Column("event_id", TEXT, 38),
    ],
    "resolution": [
        Column("number", TEXT, 18),
        Column("registered", DATE, 12),
        Column("grid", TEXT, 8),
        Column("category", TEXT, 12),
        Column("summary", TEXT, 40),
        Column("department", TEXT, 16),
        Column("due", DATE, 12),
        Column("status", LABEL, 10),
        Column("resolved", DATE, 12),
        Column("on_spot", LABEL, 8),
        Column("reopened", INT, 8),
        Column("rating", LABEL, 10),
        Column("closed", DATE, 12),
        Column("close_kind", LABEL, 16),
        Column("overdue", LABEL, 8),
        Column("level", LABEL, 10),
        Column("repeat_of", TEXT, 18),
        Column("photos", INT, 8),
        Column("photos_after", INT, 10),
        Column("case_id", TEXT, 38),
    ],
}


@dataclass(frozen=True)
class LedgerQuery:
    kind: str
    date_from: date | None = None
    date_to: date | None = None
    grid_id: str | None = None
    #: Only cases of these grids (the acting worker's scope, kiosk/security/privacy.py); () = all.
    grid_ids: tuple[str, ...] = ()


def headers(kind: str) -> list[str]:
    return [t(f"ledger.col.{c.key}") for c in COLUMNS[kind]]


def _as_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _as_datetime(text: str | None) -> datetime | None:
    """The wall-clock time as recorded (spreadsheets have no time zones)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return None


class _Memo(dict):
    """``memo[key]`` is ``fn(key)``, worked out once per key: a ledger's cells repeat (days,
    deadlines) across 100,000 rows."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.fn(key)
        return value


def _span(q: LedgerQuery) -> Span:
    return Span(
        since=q.date_from.isoformat() if q.date_from else None,
        before=(q.date_to + timedelta(days=1)).isoformat() if q.date_to else None,
        grid_id=q.grid_id,
        grid_ids=q.grid_ids,
    )


def _original(
    conn: sqlite3.Connection, q: LedgerQuery, cats: Categories, **_: Any
) -> Iterator[list]:
    """Cases in one sorted pass of their own table; what each row names (grid, registrar, the
    households and the first one's door) from small lookups built before it, not joined per
    row: a join of 100,000 cases to their households costs SQLite a temporary index and a
    second sort."""
    from kiosk.domain.present import address_writer

    span = _span(q)
    # households per case: how many, and the first in roster order, whose door is shown
    link = ledgers.households_per_case(conn, span)
    address_of = address_writer()
    doors = {
        rid: address_of(compound, building, unit, room, forgotten) if compound is not None else ""
        for rid, compound, building, unit, room, forgotten in ledgers.doors(
            conn, (row[2] for row in link.values())
        )
    }
    grids = ledgers.grid_codes(conn)
    workers = ledgers.worker_names(conn)
    groups = {g.code: g.name for g in cats.groups}
    labels = _Memo(cats.label)  # a category's label, looked up once per export
    days = _Memo(_as_date)
    alone = (None, 0, None)
    for (
        number, registered, grid, group, category, summary, raised_by, worker, visit, cid
    ) in ledgers.original_cases(conn, span):  # fmt: skip
        _case, n, rid = link.get(cid, alone)
        door = doors.get(rid, "")
        if n > 1 and door:
            door = t("ledger.and_more", address=door, n=n - 1)
        yield [
            number,
            days[registered[:10]],
            grids.get(grid) or "",
            groups.get(group, group),
            labels[category],
            summary,
            n,
            door,
            raised_by or "",
            workers.get(worker) or "",
            visit or "",
            cid,
        ]


def _progress(
    conn: sqlite3.Connection, q: LedgerQuery, cats: Categories, **_: Any
) -> Iterator[list]:
    from db.case_fold import fold
    from db.cases import load_events

    invalid: dict[str, str] = {}
    # few: only cases whose log holds an event invalid where it landed
    for cid in ledgers.cases_with_invalid_events(conn):
        invalid.update(fold(load_events(conn, cid)).invalid)
    ok = t("ledger.valid")
    ratings = {k: t(f"cases.rating.{k}") for k in ("satisfied", "basic", "dissatisfied")}
    steps = {
        k: t(f"cases.event.{k}")
        for k in (
            "register",
            "assign",
            "progress",
            "resolve_on_spot",
            "resolve",
            "follow_up",
            "rate",
            "reopen",
            "escalate",
            "close",
            "repeat_of",
        )
    }
    for r in ledgers.progress_events(conn, _span(q)):
        d = json.loads(r[3]) if r[3] and r[3] != "{}" else {}
        note = d.get("note") or d.get("reason") or ""
        if r[2] == "follow_up" and d.get("reached") is False:
            note = t("cases.detail.unreached") + (" · " + note if note else "")
        elif r[2] == "repeat_of":
            note = t("cases.detail.repeat_of", of=d.get("of_number") or d.get("of", ""))
        elif r[2] == "escalate" and d.get("level"):
            note = t(f"cases.level.{d['level']}") + (" · " + note if note else "")
        rule = invalid.get(r[6])
        yield [
            r[0],
            _as_datetime(r[1]),
            steps.get(r[2], r[2]),
            d.get("department", ""),
            d.get("person", ""),
            _as_date(d.get("due")),
            ratings.get(d.get("rating", ""), ""),
            note,
            r[4] or "",
            ok if rule is None else t("ledger.invalid", rule=t(rule, status="")),
            r[5],
            r[6],
        ]


def _resolution(
    conn: sqlite3.Connection,
    q: LedgerQuery,
    cats: Categories,
    *,
    today: date,
    rules: EscalationRules,
) -> Iterator[list]:
    span = _span(q)
    # what a row names beside its case: photos (and those of a resolution), the number of the
    # case a repeat repeats, the grid's code
    photos = ledgers.photos_per_case(conn, span)
    repeats = ledgers.repeated_numbers(conn)
    grids = ledgers.grid_codes(conn)
    yes, no = t("ledger.yes"), t("ledger.no")
    statuses = {
        k: t(f"cases.status.{k}")
        for k in ("registered", "assigned", "in_progress", "resolved", "closed")
    }
    levels = {k: t(f"cases.level.{k}") for k in range(4)}
    kinds = {k: t(f"cases.close_kind.{k}") for k in ("rated", "unreachable", "repeat")}
    ratings = {k: t(f"cases.rating.{k}") for k in ("satisfied", "basic", "dissatisfied")}
    today_s = today.isoformat()
    labels = _Memo(cats.label)  # a category's label, looked up once per export
    days = _Memo(_as_date)  # 100,000 cases fall on a few hundred days
    late = _Memo(lambda due: clock_level(due, today, rules))
    opened, done = ("registered", "assigned", "in_progress"), ("resolved", "closed")
    none = (0, 0)
    for (
        number, registered, grid, category, summary, department, due, status, resolved,
        on_spot, reopened, rating, closed, close_kind, manual_level, cid,
    ) in ledgers.resolution_cases(conn, span):  # fmt: skip
        is_open, finished = status in opened, status in done
        level = max(manual_level, late[due]) if is_open else 0
        n_photos, n_after = photos.get(cid, none)
        yield [
            number,
            days[registered[:10]],
            grids.get(grid) or "",
            labels[category],
            summary,
            department or "",
            days[due[:10]] if due else None,
            statuses.get(status, status),
            days[resolved[:10]] if resolved and finished else None,
            yes if on_spot and finished else no,
            reopened,
            ratings.get(rating or "", ""),
            days[closed[:10]] if closed else None,
            kinds.get(close_kind or "", ""),
            yes if is_open and due is not None and due < today_s else no,
            levels[level] if level else "",
            repeats.get(cid) or "",
            n_photos,
            n_after,
            cid,
        ]


ROWS: dict[str, Callable[..., Iterator[list]]] = {
    "original": _original,
    "progress": _progress,
    "resolution": _resolution,
}


def rows(
    conn: sqlite3.Connection,
    q: LedgerQuery,
    *,
    categories: Categories | None = None,
    today: date | None = None,
    rules: EscalationRules | None = None,
) -> Iterator[list]:
    """The ledger's rows as Python values (dates as ``date``/``datetime``)."""
    refresh_dirty(conn)
    return ROWS[q.kind](
        conn,
        q,
        categories or load_categories(),
        today=today or date.today(),
        rules=rules or EscalationRules(),
    )


def write_xlsx(path: Path, kind: str, data: Iterator[list]) -> int:
    cols = COLUMNS[kind]
    return write_sheet(
        path, t(f"ledger.name.{kind}"), headers(kind), [(c.kind, c.width) for c in cols], data
    )


def write_csv(path: Path, kind: str, data: Iterator[list]) -> int:
    return csv_sheet.write_csv(path, headers(kind), [c.kind for c in COLUMNS[kind]], data)


def export(
    conn: sqlite3.Connection,
    q: LedgerQuery,
    out: Path,
    *,
    categories: Categories | None = None,
    today: date | None = None,
    rules: EscalationRules | None = None,
) -> int:
    """Write the ledger to ``out`` (.xlsx or .csv); returns the number of rows.

    Written to a temporary file beside ``out`` and renamed at the end, so a failed export
    never leaves a half-written ledger under the requested name.
    """
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UserError("cases.error.bad_out", exit_code=2, path=str(out))
    if q.kind not in KINDS:
        raise UserError("ledger.bad_kind", exit_code=2, kind=q.kind)
    data = rows(conn, q, categories=categories, today=today, rules=rules)
    tmp = out.with_name(f".{out.name}.part")
    try:
        n = (write_xlsx if suffix == ".xlsx" else write_csv)(tmp, q.kind, data)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return n


def export_in_scope(
    conn: sqlite3.Connection,
    write: Callable[[Callable[[Any], Any]], Any],
    worker: Any,
    kind: str,
    out: Path,
    *,
    categories: Categories | None = None,
    rules: EscalationRules | None = None,
    delivery: str = "file",
) -> int:
    """The ``kind`` ledger of every grid in ``worker``'s scope into ``out``, audited as an
    export (the interface's export; ``kiosk ledger`` does the same from the command line).

    A ledger names residents (who raised a case, their door): the worker must be allowed a
    masked export, and only their grids are written (kiosk/security/privacy.py), checked
    before anything is. ``write(fn)`` runs ``fn(ctx)`` in one transaction (the audit entry);
    ``delivery`` says where the file went: ``file`` (a path on this PC) or ``browser`` (a
    download in the browser of an office session, ``kiosk office web``)."""
    from kiosk.security.privacy import export_grids

    scope = export_grids(worker, conn, [], full=False)
    query = LedgerQuery(kind, grid_ids=tuple(g.id for g in scope))
    n = export(conn, query, out, categories=categories, rules=rules)

    def audit(ctx: Any) -> None:
        ctx.audit(
            "export",
            "ledger",
            None,
            detail={
                "format": out.suffix.lower().lstrip("."),
                "ledger": kind,
                "rows": n,
                "masked": True,
                "grids": sorted(g.code for g in scope),
                "delivery": delivery,
            },
        )

    write(audit)
    return n

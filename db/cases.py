"""Cases: registration (immutable), the households involved, the append-only event log, and
reads of the folded state.

Writes take a :class:`~db.context.WriteContext` and must run inside ``db.transaction``: each
inserts its rows, emits the matching outbox operations (entities ``case``,
``case_household``, ``case_event``, all append-only) and re-folds the case into the local
``case_state`` cache in the same transaction. Rows that arrive by sync are folded on the next
read by :func:`refresh_dirty` (a trigger marks their case dirty).

The fold and the rules live in :mod:`db.case_fold` (pure functions, no database).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from db.case_fold import (
    OPEN_STATUSES,
    CaseRefused,
    CaseState,
    EscalationRules,
    Event,
    check,
    escalation_level,
    fold,
    is_overdue,
)
from db.case_rules import check_after_photo
from db.context import WriteContext, get_meta, now_iso, set_meta
from db.errors import Phrase, UserError
from db.ids import uuid7
from db.photos import Photo, Picture, attach_photo, photos_of_case

CASE_COLUMNS = (
    "id",
    "number",
    "category",
    "category_group",
    "summary",
    "grid_id",
    "visit_id",
    "raised_by",
    "registered_at",
)


@dataclass(frozen=True)
class CaseSummary:
    """A case as lists show it (from the folded-state cache)."""

    id: str
    number: str
    category: str
    category_group: str
    summary: str
    status: str
    registered_at: str
    grid_id: str | None
    department: str | None
    person: str | None
    due: str | None
    escalation_level: int
    overdue: bool
    reopen_count: int
    rating: str | None
    repeat_of: str | None


@dataclass(frozen=True)
class CaseEvent:
    id: str
    case_id: str
    type: str
    at: str
    by: str | None  # worker id
    by_name: str | None  # worker name, when this laptop knows the worker
    data: dict[str, Any]
    hlc: str
    device_id: str
    invalid: str | None = None  # the rule it broke where it landed, if any


@dataclass(frozen=True)
class CaseHousehold:
    id: str
    grid_code: str
    compound: str
    building: str
    unit: str
    room: str
    forgotten: bool = False  # its personal data was erased on request (db/forget.py)


@dataclass
class CaseDetail:
    id: str
    number: str
    category: str
    category_group: str
    summary: str
    grid_id: str | None
    grid_code: str | None
    visit_id: str | None
    raised_by: str | None
    registered_at: str
    state: CaseState
    escalation_level: int
    overdue: bool
    households: list[CaseHousehold] = field(default_factory=list)
    events: list[CaseEvent] = field(default_factory=list)
    photos: list[Photo] = field(default_factory=list)


@dataclass
class CaseFilter:
    """What a case list shows; every field optional. ``grid_ids`` is "my grid"."""

    status: str | None = None  # one of STATUSES, or "open"
    category: str | None = None  # sub-category or group code
    department: str | None = None
    level: int | None = None  # escalation level 0..3
    grid_ids: list[str] | None = None
    overdue: bool = False
    household_id: str | None = None
    text: str | None = None


# --- writing ---------------------------------------------------------------------------------
def _next_number(ctx: WriteContext, year: int) -> str:
    """``YYYY-TTTT-NNNNNN``: year, this device's tag, and a per-device per-year sequence."""
    key = f"case_seq:{year}"
    seq = int(get_meta(ctx.conn, key, "0") or 0) + 1
    set_meta(ctx.conn, key, str(seq))
    return f"{year}-{device_tag(ctx.device_id)}-{seq:06d}"


def device_tag(device_id: str) -> str:
    """Four hex digits from the random end of the device id (see docs/cases.md)."""
    return device_id.replace("-", "")[-4:].upper()


def _insert_event(
    ctx: WriteContext, case_id: str, type_: str, data: dict[str, Any], at: str
) -> str:
    eid, hlc = uuid7(), ctx.stamp()
    payload = {
        "id": eid,
        "case_id": case_id,
        "type": type_,
        "at": at,
        "data": json.dumps(data, ensure_ascii=False, sort_keys=True),
    }
    ctx.conn.execute(
        "INSERT INTO case_events(id, case_id, type, at, data, hlc, worker_id, device_id)"
        " VALUES (:id, :case_id, :type, :at, :data, :hlc, :w, :d)",
        {**payload, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("case_event", eid, "insert", payload, hlc)
    return eid


def register_case(
    ctx: WriteContext,
    *,
    household_ids: list[str],
    category: str,
    summary: str,
    visit_id: str | None = None,
    raised_by: str | None = None,
    at: str | None = None,
    categories: Any = None,
) -> str:
    """Register (挂号) a case involving ``household_ids``; returns its id.

    Call inside a transaction. ``category`` is a sub-category code or name from the category
    table (``categories``, default: the table the settings name). Raises
    :class:`~kiosk.core.errors.UserError` for an unknown category or household or an empty summary,
    before anything is written.
    """
    conn = ctx.conn
    table = categories or ctx.categories
    if table is None:
        raise ValueError("register_case needs a category table (WriteContext.categories)")
    cat = table.resolve(category)
    summary = (summary or "").strip()
    if not summary:
        raise UserError("cases.error.empty_summary", exit_code=2)
    ids = list(dict.fromkeys(h for h in household_ids if h))
    if not ids:
        raise UserError("cases.error.no_household", exit_code=2)
    grids: dict[str, str] = {}
    for hid in ids:
        row = conn.execute("SELECT grid_id FROM households WHERE id = ?", (hid,)).fetchone()
        if row is None:
            raise UserError("cases.error.unknown_household", exit_code=2, id=hid[:40])
        grids[hid] = row[0]
    at = at or now_iso()
    cid, hlc = uuid7(), ctx.stamp()
    fields = {
        "id": cid,
        "number": _next_number(ctx, int(at[:4])),
        "category": cat.code,
        "category_group": cat.group,
        "summary": summary,
        "grid_id": grids[ids[0]],
        "visit_id": visit_id,
        "raised_by": (raised_by or "").strip() or None,
        "registered_at": at,
    }
    conn.execute(
        "INSERT INTO cases(id, number, category, category_group, summary, grid_id, visit_id,"
        " raised_by, registered_at, hlc, worker_id, device_id) VALUES (:id, :number, :category,"
        " :category_group, :summary, :grid_id, :visit_id, :raised_by, :registered_at, :hlc, :w,"
        " :d)",
        {**fields, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("case", cid, "insert", fields, hlc)
    for hid in ids:
        link, lhlc = uuid7(), ctx.stamp()
        conn.execute(
            "INSERT INTO case_households(id, case_id, household_id, hlc, worker_id, device_id)"
            " VALUES (?,?,?,?,?,?)",
            (link, cid, hid, lhlc, ctx.worker_id, ctx.device_id),
        )
        ctx.emit(
            "case_household",
            link,
            "insert",
            {"id": link, "case_id": cid, "household_id": hid},
            lhlc,
        )
    _insert_event(ctx, cid, "register", {}, at)
    refresh_case(conn, cid)
    return cid


def append_event(
    ctx: WriteContext,
    case_id: str,
    type_: str,
    data: dict[str, Any] | None = None,
    at: str | None = None,
    *,
    photos: Sequence[Picture] = (),
) -> str:
    """Add one event to a case after checking the rules, with the ``photos`` (prepared
    pictures, kiosk/photos/prepare.py) that document it; returns the event id.

    Call inside a transaction. Raises :class:`~db.case_fold.CaseRefused` (naming the rule)
    when the event is not valid from the case's current state, or resolves a case whose
    community requires a photo of the repair for its category group without one
    (db/case_rules.py); nothing is written then.
    """

    conn = ctx.conn
    if conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is None:
        raise UserError("cases.error.not_found", exit_code=2, id=case_id[:40])
    data = {k: v for k, v in (data or {}).items() if v is not None}
    at = at or now_iso()
    state = fold(load_events(conn, case_id))
    candidate = Event(
        id="~", type=type_, hlc="~", device_id=ctx.device_id, at=at, by=ctx.worker_id, data=data
    )
    rule = check(state, candidate)
    if rule is not None:
        raise CaseRefused(rule, exit_code=3, status=Phrase(f"cases.status.{state.status}"))
    check_after_photo(conn, case_id, type_, len(photos), ctx.categories)
    eid = _insert_event(ctx, case_id, type_, data, at)
    for p in photos:
        attach_photo(
            ctx, case_id, eid, sha256=p.sha256, data=p.data, width=p.width, height=p.height
        )
    refresh_case(conn, case_id)
    return eid


# --- the folded-state cache ------------------------------------------------------------------
def load_events(conn: sqlite3.Connection, case_id: str) -> list[Event]:
    rows = conn.execute(
        "SELECT id, type, hlc, device_id, at, worker_id, data FROM case_events WHERE case_id = ?"
        " ORDER BY hlc, device_id, id",
        (case_id,),
    ).fetchall()
    return [Event(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6] or "{}")) for r in rows]


_STATE_UPDATE = (
    "UPDATE case_state SET dirty = 0, status = :status, grid_id = :grid_id, category = :category,"
    " category_group = :category_group, registered_at = :registered_at, department = :department,"
    " person = :person, due = :due, manual_level = :manual_level, reopen_count = :reopen_count,"
    " resolve_count = :resolve_count, on_spot = :on_spot, resolved_at = :resolved_at,"
    " first_resolved_at = :first_resolved_at, rating = :rating, last_rating = :last_rating,"
    " closed_at = :closed_at, close_kind = :close_kind, repeat_of = :repeat_of,"
    " unreached = :unreached, n_events = :n_events, n_invalid = :n_invalid, last_at = :last_at,"
    " week = :week, fig = :fig WHERE case_id = :case_id"
)


def state_row(case_id: str, case: sqlite3.Row | dict | None, s: CaseState) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "status": s.status,
        "grid_id": case["grid_id"] if case else None,
        "category": case["category"] if case else None,
        "category_group": case["category_group"] if case else None,
        "registered_at": case["registered_at"] if case else s.registered_at,
        "department": s.department,
        "person": s.person,
        "due": s.due,
        "manual_level": s.manual_level,
        "reopen_count": s.reopen_count,
        "resolve_count": s.resolve_count,
        "on_spot": int(s.on_spot),
        "resolved_at": s.resolved_at,
        "first_resolved_at": s.first_resolved_at,
        "rating": s.rating,
        "last_rating": s.last_rating,
        "closed_at": s.closed_at,
        "close_kind": s.close_kind,
        "repeat_of": s.repeat_of,
        "unreached": s.unreached,
        "n_events": s.n_events,
        "n_invalid": len(s.invalid),
        "last_at": s.last_at,
        "week": week_of(case["registered_at"] if case else s.registered_at),
        "fig": figure_flags(s),
    }


#: Bits of ``case_state.fig``: what the figures count, fixed by the log (the clock-dependent
#: overdue and escalation are computed at read time from ``due`` and ``manual_level``).
FLAG_REPEAT, FLAG_DONE, FLAG_CLOSED, FLAG_REOPENED = 1, 2, 4, 8
FLAG_RATED, FLAG_SATISFIED, FLAG_ON_SPOT, FLAG_UNREACHABLE, FLAG_OPEN = 16, 32, 64, 128, 256


def figure_flags(s: CaseState) -> int:
    done = s.status in ("resolved", "closed")
    return (
        (FLAG_REPEAT if s.close_kind == "repeat" else 0)
        | (FLAG_DONE if done else 0)
        | (FLAG_CLOSED if s.status == "closed" else 0)
        | (FLAG_REOPENED if s.reopen_count > 0 else 0)
        | (FLAG_RATED if s.last_rating else 0)
        | (FLAG_SATISFIED if s.last_rating in ("satisfied", "basic") else 0)
        | (FLAG_ON_SPOT if s.on_spot and done else 0)
        | (FLAG_UNREACHABLE if s.close_kind == "unreachable" else 0)
        | (FLAG_OPEN if s.status in OPEN_STATUSES else 0)
    )


def week_of(at: str | None) -> str | None:
    """The Monday of the week of ``at`` (an ISO date or date-time), as YYYY-MM-DD."""
    if not at:
        return None
    try:
        d = date.fromisoformat(at[:10])
    except ValueError:
        return None
    return (d - timedelta(days=d.weekday())).isoformat()


def refresh_case(conn: sqlite3.Connection, case_id: str) -> CaseState:
    """Re-fold one case into ``case_state`` (inside the caller's transaction)."""
    case = conn.execute(
        "SELECT grid_id, category, category_group, registered_at FROM cases WHERE id = ?",
        (case_id,),
    ).fetchone()
    state = fold(load_events(conn, case_id))
    conn.execute("INSERT OR IGNORE INTO case_state(case_id) VALUES (?)", (case_id,))
    conn.execute(_STATE_UPDATE, state_row(case_id, case, state))
    return state


def refresh_dirty(conn: sqlite3.Connection) -> int:
    """Fold every case marked dirty (rows that arrived by sync); returns how many."""
    if conn.execute("SELECT 1 FROM case_state WHERE dirty = 1 LIMIT 1").fetchone() is None:
        return 0
    from db.connection import transaction

    n = 0
    with transaction(conn):
        for (cid,) in conn.execute("SELECT case_id FROM case_state WHERE dirty = 1").fetchall():
            refresh_case(conn, cid)
            n += 1
    return n


# --- reading ---------------------------------------------------------------------------------
def level_sql(today: date, rules: EscalationRules) -> tuple[str, dict[str, Any]]:
    """An SQL expression for the escalation level of ``case_state s`` (see db.case_fold)."""
    expr = (
        "(CASE WHEN s.status IN ('registered','assigned','in_progress') THEN max(s.manual_level,"
        " CASE WHEN s.due IS NULL THEN 0 WHEN s.due < :lv_d3 THEN 3 WHEN s.due < :lv_d2 THEN 2"
        " WHEN s.due < :lv_d1 THEN 1 ELSE 0 END) ELSE 0 END)"
    )
    return expr, level_thresholds(today, rules)


def level_thresholds(today: date, rules: EscalationRules) -> dict[str, str]:
    """Deadlines before these dates put an open case at level 1, 2, 3 (db.case_fold.clock_level):
    overdue by more than ``n`` days means a deadline before ``today - n``."""
    return {
        "lv_d1": today.isoformat(),
        "lv_d2": (today - timedelta(days=rules.urge_days)).isoformat(),
        "lv_d3": (today - timedelta(days=rules.urge_days + rules.investigate_days)).isoformat(),
    }


def _where(f: CaseFilter, today: date, rules: EscalationRules) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if f.status == "open":
        clauses.append("s.status IN ('registered','assigned','in_progress')")
    elif f.status:
        clauses.append("s.status = :status")
        params["status"] = f.status
    if f.category:
        clauses.append("(s.category = :category OR s.category_group = :category)")
        params["category"] = f.category
    if f.department:
        clauses.append("s.department = :department")
        params["department"] = f.department
    if f.grid_ids is not None:
        marks = ",".join(f":g{i}" for i in range(len(f.grid_ids))) or "NULL"
        clauses.append(f"s.grid_id IN ({marks})")
        params.update({f"g{i}": g for i, g in enumerate(f.grid_ids)})
    if f.overdue:
        clauses.append("s.status IN ('registered','assigned','in_progress') AND s.due < :today")
        params["today"] = today.isoformat()
    if f.level is not None:
        expr, p = level_sql(today, rules)
        clauses.append(f"{expr} = :level")
        params.update(p)
        params["level"] = f.level
    if f.household_id:
        clauses.append(
            "s.case_id IN (SELECT case_id FROM case_households WHERE household_id = :hh)"
        )
        params["hh"] = f.household_id
    if f.text:
        clauses.append("(c.summary LIKE :text OR c.number LIKE :text)")
        params["text"] = f"%{f.text}%"
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


_SUMMARY_SELECT = (
    "SELECT c.id, c.number, c.category, c.category_group, c.summary, s.status, c.registered_at,"
    " c.grid_id, s.department, s.person, s.due, s.manual_level, s.reopen_count, s.rating,"
    " s.repeat_of FROM case_state s JOIN cases c ON c.id = s.case_id"
)


def _summary(r: sqlite3.Row | tuple, today: date, rules: EscalationRules) -> CaseSummary:
    st = CaseState(status=r[5], due=r[10], manual_level=r[11])
    return CaseSummary(
        id=r[0],
        number=r[1],
        category=r[2],
        category_group=r[3],
        summary=r[4],
        status=r[5],
        registered_at=r[6],
        grid_id=r[7],
        department=r[8],
        person=r[9],
        due=r[10],
        escalation_level=escalation_level(st, today, rules),
        overdue=is_overdue(st, today),
        reopen_count=r[12],
        rating=r[13],
        repeat_of=r[14],
    )


def list_cases(
    conn: sqlite3.Connection,
    f: CaseFilter | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
    today: date | None = None,
    rules: EscalationRules | None = None,
) -> list[CaseSummary]:
    """One page of cases, newest registration first."""
    today, rules, f = today or date.today(), rules or EscalationRules(), f or CaseFilter()
    refresh_dirty(conn)
    where, params = _where(f, today, rules)
    rows = conn.execute(
        _SUMMARY_SELECT + where + " ORDER BY s.registered_at DESC, s.case_id DESC"
        " LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    return [_summary(r, today, rules) for r in rows]


def count_cases(
    conn: sqlite3.Connection,
    f: CaseFilter | None = None,
    *,
    today: date | None = None,
    rules: EscalationRules | None = None,
) -> int:
    today, rules, f = today or date.today(), rules or EscalationRules(), f or CaseFilter()
    refresh_dirty(conn)
    where, params = _where(f, today, rules)
    return conn.execute(
        "SELECT count(*) FROM case_state s JOIN cases c ON c.id = s.case_id" + where, params
    ).fetchone()[0]


def list_open_cases_for_household(
    conn: sqlite3.Connection,
    household_id: str,
    *,
    today: date | None = None,
    rules: EscalationRules | None = None,
) -> list[CaseSummary]:
    """The household's unfinished cases (registered, assigned, in progress, or resolved and
    waiting for the rating), newest first."""
    today, rules = today or date.today(), rules or EscalationRules()
    refresh_dirty(conn)
    rows = conn.execute(
        _SUMMARY_SELECT + " JOIN case_households l ON l.case_id = c.id"
        " WHERE l.household_id = ? AND s.status != 'closed' ORDER BY c.registered_at DESC",
        (household_id,),
    ).fetchall()
    return [_summary(r, today, rules) for r in rows]


def departments(conn: sqlite3.Connection) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT department FROM case_state WHERE department IS NOT NULL ORDER BY 1"
        )
    ]


def case_number(conn: sqlite3.Connection, case_id: str) -> str | None:
    """The number (2026-3F9A-000123) of the case ``case_id``."""
    row = conn.execute("SELECT number FROM cases WHERE id = ?", (case_id,)).fetchone()
    return row[0] if row else None


def find_case_id(conn: sqlite3.Connection, text: str) -> str | None:
    """A case id from its id, its number (2026-3F9A-000123) or a ``CS1:`` slip payload's id."""
    q = (text or "").strip()
    if not q:
        return None
    row = conn.execute(
        "SELECT id FROM cases WHERE id = ? OR number = ? LIMIT 2", (q.lower(), q.upper())
    ).fetchall()
    if len(row) == 1:
        return row[0][0]
    return None


def get_case(
    conn: sqlite3.Connection,
    case_id: str,
    *,
    today: date | None = None,
    rules: EscalationRules | None = None,
) -> CaseDetail | None:
    """A case with its households, its events (each flagged if invalid) and its state."""
    today, rules = today or date.today(), rules or EscalationRules()
    c = conn.execute(
        "SELECT c.*, g.code AS grid_code FROM cases c LEFT JOIN grids g ON g.id = c.grid_id"
        " WHERE c.id = ?",
        (case_id,),
    ).fetchone()
    if c is None:
        return None
    events = load_events(conn, case_id)
    state = fold(events)
    bad = dict(state.invalid)
    names = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT DISTINCT w.id, w.name FROM case_events e JOIN workers w ON w.id = e.worker_id"
            " WHERE e.case_id = ?",
            (case_id,),
        )
    }
    households = [
        CaseHousehold(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]))
        for r in conn.execute(
            "SELECT h.id, g.code, cp.name, h.building, h.unit, h.room,"
            " h.forgotten_at IS NOT NULL FROM case_households l"
            " JOIN households h ON h.id = l.household_id JOIN grids g ON g.id = h.grid_id"
            " JOIN compounds cp ON cp.id = h.compound_id WHERE l.case_id = ?"
            " ORDER BY cp.name, h.address_key",
            (case_id,),
        )
    ]
    return CaseDetail(
        id=c["id"],
        number=c["number"],
        category=c["category"],
        category_group=c["category_group"],
        summary=c["summary"],
        grid_id=c["grid_id"],
        grid_code=c["grid_code"],
        visit_id=c["visit_id"],
        raised_by=c["raised_by"],
        registered_at=c["registered_at"],
        state=state,
        escalation_level=escalation_level(state, today, rules),
        overdue=is_overdue(state, today),
        households=households,
        events=[
            CaseEvent(
                e.id,
                case_id,
                e.type,
                e.at,
                e.by,
                names.get(e.by or ""),
                e.data,
                e.hlc,
                e.device_id,
                bad.get(e.id),
            )
            for e in events
        ],
        photos=photos_of_case(conn, case_id),
    )


# --- repeat detection ------------------------------------------------------------------------
@dataclass(frozen=True)
class RepeatCandidate:
    case: CaseSummary
    scope: str  # household | building | compound
    similarity: float  # 0..1, of the summaries


def _similar(a: str, b: str) -> float:
    from difflib import SequenceMatcher  # imported on first use: start-up never needs it

    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b).ratio()


def repeat_candidates(
    conn: sqlite3.Connection,
    household_ids: list[str],
    category: str | None,
    summary: str = "",
    *,
    window_days: int = 90,
    today: date | None = None,
    rules: EscalationRules | None = None,
    limit: int = 10,
) -> list[RepeatCandidate]:
    """Earlier cases that may be the same matter: open, or closed within ``window_days``, for
    the same household, building or compound, of the same category or with similar text.
    Nearest place first, then most similar."""
    today, rules = today or date.today(), rules or EscalationRules()
    if not household_ids:
        return []
    refresh_dirty(conn)
    marks = ",".join("?" * len(household_ids))
    places = conn.execute(
        f"SELECT id, compound_id, building FROM households WHERE id IN ({marks})", household_ids
    ).fetchall()
    if not places:
        return []
    hh = {p[0] for p in places}
    buildings = {(p[1], p[2]) for p in places}
    compounds = sorted({p[1] for p in places})
    since = (today - timedelta(days=window_days)).isoformat()
    cmarks = ",".join("?" * len(compounds))
    rows = conn.execute(
        "SELECT DISTINCT c.id, h.id, h.compound_id, h.building FROM households h"
        " JOIN case_households l ON l.household_id = h.id"
        " JOIN cases c ON c.id = l.case_id JOIN case_state s ON s.case_id = c.id"
        f" WHERE h.compound_id IN ({cmarks})"
        " AND (s.status != 'closed' OR (s.closed_at >= ? AND s.close_kind != 'repeat'))"
        " ORDER BY c.registered_at DESC LIMIT 2000",
        [*compounds, since],
    ).fetchall()
    scope: dict[str, int] = {}
    for cid, hid, comp, bld in rows:
        rank = 0 if hid in hh else 1 if (comp, bld) in buildings else 2
        scope[cid] = min(scope.get(cid, 3), rank)
    if not scope:
        return []
    ids = list(scope)
    out: list[RepeatCandidate] = []
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for r in conn.execute(
            _SUMMARY_SELECT + f" WHERE c.id IN ({','.join('?' * len(chunk))})", chunk
        ):
            s = _summary(r, today, rules)
            sim = _similar(summary.strip(), s.summary)
            if s.category != category and sim < 0.5:
                continue
            out.append(RepeatCandidate(s, ("household", "building", "compound")[scope[s.id]], sim))
    out.sort(
        key=lambda c: (
            ("household", "building", "compound").index(c.scope),
            -c.similarity,
            c.case.registered_at,
        ),
        reverse=False,
    )
    return out[:limit]


def open_statuses() -> tuple[str, ...]:
    return OPEN_STATUSES


def households_awaiting_follow_up(conn: sqlite3.Connection, grid_ids: list[str]) -> list[str]:
    """Households of the given grids with a resolved case that still waits for the follow-up
    visit or the resident's rating (the walk list's second group)."""
    if not grid_ids:
        return []
    refresh_dirty(conn)
    marks = ",".join("?" * len(grid_ids))
    return [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT l.household_id FROM case_state s"
            " JOIN case_households l ON l.case_id = s.case_id"
            " JOIN households h ON h.id = l.household_id"
            f" WHERE s.status = 'resolved' AND s.rating IS NULL AND h.grid_id IN ({marks})",
            list(grid_ids),
        )
    ]


def case_grid_and_category(conn: sqlite3.Connection, case_id: str) -> tuple[str | None, str] | None:
    """A case's grid id and category code (None: no such case)."""
    row = conn.execute("SELECT grid_id, category FROM cases WHERE id = ?", (case_id,)).fetchone()
    return (row[0], row[1]) if row else None

"""Visits (入户走访 and the rest) and the problems and suggestions raised during them.

Writes take a :class:`~db.context.WriteContext` and run inside the caller's transaction.
Input is validated by :mod:`kiosk.domain.visits` before it gets here; this module only stores it.
A problem raised at a door is also registered as a case through :mod:`db.cases` (the case
ledger) in the same transaction, when that module is present.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime

from db.cases import register_case
from db.context import WriteContext, now_iso
from db.drafts import delete_draft
from db.ids import uuid7
from db.photos import Picture, attach_photo, register_event

VISIT_TYPES = ("door", "patrol", "meeting", "phone")
ITEM_KINDS = ("problem", "suggestion")


@dataclass(frozen=True)
class MetPerson:
    """Somebody met at the door: a registered member (member_id) or a name typed in."""

    name: str
    member_id: str | None = None


@dataclass(frozen=True)
class ItemInput:
    kind: str  # "problem" | "suggestion"
    text: str
    category: str = ""
    #: a problem's photos (prepared pictures): attached to its case's registration
    photos: tuple[Picture, ...] = ()


@dataclass
class VisitInput:
    household_id: str
    visit_type: str = "door"
    nobody_home: bool = False
    revisit_on: str | None = None  # YYYY-MM-DD
    met: list[MetPerson] = field(default_factory=list)
    note: str = ""
    items: list[ItemInput] = field(default_factory=list)
    visited_at: str | None = None  # ISO 8601 with offset; default now


@dataclass(frozen=True)
class VisitItem:
    id: str
    kind: str
    category: str
    text: str
    case_id: str | None


@dataclass(frozen=True)
class Visit:
    id: str
    household_id: str
    grid_id: str
    visit_type: str
    visited_at: str
    visit_date: str
    nobody_home: bool
    revisit_on: str | None
    met: tuple[MetPerson, ...]
    note: str
    worker_id: str | None
    items: tuple[VisitItem, ...] = ()


def save_visit(ctx: WriteContext, visit: VisitInput, *, draft_key: str | None = None) -> str:
    """Store a visit with its items; register each problem as a case; drop the draft.

    Call inside a transaction: the visit, its items, their cases with the problems' photos,
    the outbox operations and the removal of the draft commit together or not at all.
    """
    conn = ctx.conn
    row = conn.execute(
        "SELECT grid_id FROM households WHERE id = ?", (visit.household_id,)
    ).fetchone()
    if row is None:
        raise KeyError(visit.household_id)
    visited_at = visit.visited_at or now_iso()
    vid, hlc = uuid7(), ctx.stamp()
    fields = {
        "id": vid,
        "household_id": visit.household_id,
        "grid_id": row[0],
        "visit_type": visit.visit_type,
        "visited_at": visited_at,
        "visit_date": datetime.fromisoformat(visited_at).date().isoformat(),
        "nobody_home": 1 if visit.nobody_home else 0,
        "revisit_on": visit.revisit_on if visit.nobody_home else None,
        "met": json.dumps(
            [{"member_id": m.member_id, "name": m.name} for m in visit.met], ensure_ascii=False
        ),
        "note": visit.note,
    }
    conn.execute(
        "INSERT INTO visits(id, household_id, grid_id, visit_type, visited_at, visit_date,"
        " nobody_home, revisit_on, met, note, hlc, worker_id, device_id) VALUES (:id,"
        " :household_id, :grid_id, :visit_type, :visited_at, :visit_date, :nobody_home,"
        " :revisit_on, :met, :note, :hlc, :w, :d)",
        {**fields, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("visit", vid, "insert", fields, hlc)
    raised_by = visit.met[0].name if visit.met else None
    for position, item in enumerate(visit.items):
        case_id = None
        if item.kind == "problem":
            case_id = register_case(
                ctx,
                household_ids=[visit.household_id],
                category=item.category,
                summary=item.text,
                visit_id=vid,
                raised_by=raised_by,
                at=visited_at,
            )
            if item.photos:
                event_id = register_event(conn, case_id)
                for p in item.photos:
                    attach_photo(
                        ctx, case_id, event_id, sha256=p.sha256, data=p.data, width=p.width,
                        height=p.height,
                    )  # fmt: skip
        iid, ihlc = uuid7(), ctx.stamp()
        item_fields = {
            "id": iid,
            "visit_id": vid,
            "kind": item.kind,
            "category": item.category,
            "text": item.text,
            "position": position,
            "case_id": case_id,
        }
        conn.execute(
            "INSERT INTO visit_items(id, visit_id, kind, category, text, position, case_id, hlc,"
            " worker_id, device_id) VALUES (:id, :visit_id, :kind, :category, :text, :position,"
            " :case_id, :hlc, :w, :d)",
            {**item_fields, "hlc": ihlc, "w": ctx.worker_id, "d": ctx.device_id},
        )
        ctx.emit("visit_item", iid, "insert", item_fields, ihlc)
    if draft_key:
        delete_draft(conn, draft_key)
    return vid


def _visit(row: sqlite3.Row, items: tuple[VisitItem, ...]) -> Visit:
    met = tuple(MetPerson(m.get("name", ""), m.get("member_id")) for m in json.loads(row["met"]))
    return Visit(
        id=row["id"],
        household_id=row["household_id"],
        grid_id=row["grid_id"],
        visit_type=row["visit_type"],
        visited_at=row["visited_at"],
        visit_date=row["visit_date"],
        nobody_home=bool(row["nobody_home"]),
        revisit_on=row["revisit_on"],
        met=met,
        note=row["note"],
        worker_id=row["worker_id"],
        items=items,
    )


def list_visits(
    conn: sqlite3.Connection, household_id: str, *, limit: int = 20, offset: int = 0
) -> list[Visit]:
    """A household's visits, newest first, with their problems and suggestions (one page)."""
    rows = conn.execute(
        "SELECT * FROM visits WHERE household_id = ? ORDER BY visited_at DESC, id DESC"
        " LIMIT ? OFFSET ?",
        (household_id, limit, offset),
    ).fetchall()
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    items: dict[str, list[VisitItem]] = {}
    for it in conn.execute(
        f"SELECT * FROM visit_items WHERE visit_id IN ({','.join('?' * len(ids))})"
        " ORDER BY visit_id, position",
        ids,
    ):
        items.setdefault(it["visit_id"], []).append(
            VisitItem(it["id"], it["kind"], it["category"], it["text"], it["case_id"])
        )
    return [_visit(r, tuple(items.get(r["id"], ()))) for r in rows]


def get_visit(conn: sqlite3.Connection, visit_id: str) -> Visit | None:
    row = conn.execute("SELECT * FROM visits WHERE id = ?", (visit_id,)).fetchone()
    if row is None:
        return None
    items = tuple(
        VisitItem(it["id"], it["kind"], it["category"], it["text"], it["case_id"])
        for it in conn.execute(
            "SELECT * FROM visit_items WHERE visit_id = ? ORDER BY position", (visit_id,)
        )
    )
    return _visit(row, items)


def visit_figures(conn: sqlite3.Connection, today: date) -> dict[str, int]:
    """Visits today and this week (Monday on), households ever visited, nobody-home visits."""
    week_start = date.fromordinal(today.toordinal() - today.weekday()).isoformat()
    day = today.isoformat()
    today_n = conn.execute("SELECT count(*) FROM visits WHERE visit_date = ?", (day,)).fetchone()[0]
    week_n = conn.execute(
        "SELECT count(*) FROM visits WHERE visit_date BETWEEN ? AND ?", (week_start, day)
    ).fetchone()[0]
    visited = conn.execute("SELECT count(*) FROM visit_status").fetchone()[0]
    nobody = conn.execute("SELECT count(*) FROM visits WHERE nobody_home = 1").fetchone()[0]
    pending = conn.execute("SELECT count(*) FROM visit_status WHERE nobody_home = 1").fetchone()[0]
    return {
        "visits_today": today_n,
        "visits_this_week": week_n,
        "households_visited": visited,
        "nobody_home": nobody,
        "revisits_pending": pending,
    }

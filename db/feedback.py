"""Community feedback not tied to one household: a suggestion at a street stall, an item a
residents' council raised. Append-only, like visits."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from db.context import WriteContext, now_iso
from db.ids import uuid7

SOURCES = ("stall", "council", "phone", "other")


@dataclass(frozen=True)
class FeedbackInput:
    category: str
    text: str
    anonymous: bool = False
    raised_by: str = ""
    place: str = ""
    source: str = "other"
    grid_id: str | None = None


@dataclass(frozen=True)
class Feedback:
    id: str
    grid_id: str | None
    source: str
    category: str
    text: str
    anonymous: bool
    raised_by: str
    place: str
    created_at: str
    photos: int = 0  # photos attached (db/photos.py, feedback_photos)


def save_feedback(ctx: WriteContext, fb: FeedbackInput, *, created_at: str | None = None) -> str:
    """Store one piece of feedback (inside the caller's transaction)."""
    fid, hlc = uuid7(), ctx.stamp()
    fields = {
        "id": fid,
        "grid_id": fb.grid_id,
        "source": fb.source,
        "category": fb.category,
        "text": fb.text,
        "anonymous": 1 if fb.anonymous else 0,
        # Anonymity is enforced here too: a name never reaches the row or the outbox.
        "raised_by": "" if fb.anonymous else fb.raised_by,
        "place": fb.place,
        "created_at": created_at or now_iso(),
    }
    ctx.conn.execute(
        "INSERT INTO feedback(id, grid_id, source, category, text, anonymous, raised_by, place,"
        " created_at, hlc, worker_id, device_id) VALUES (:id, :grid_id, :source, :category,"
        " :text, :anonymous, :raised_by, :place, :created_at, :hlc, :w, :d)",
        {**fields, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("feedback", fid, "insert", fields, hlc)
    return fid


#: the columns read, with each item's photo count
_SELECT = (
    "SELECT f.*, (SELECT count(*) FROM feedback_photos p WHERE p.feedback_id = f.id) AS photos"
    " FROM feedback f"
)


def _feedback(r: sqlite3.Row) -> Feedback:
    return Feedback(
        r["id"],
        r["grid_id"],
        r["source"],
        r["category"],
        r["text"],
        bool(r["anonymous"]),
        r["raised_by"],
        r["place"],
        r["created_at"],
        r["photos"],
    )


def list_feedback(conn: sqlite3.Connection, *, limit: int = 50, offset: int = 0) -> list[Feedback]:
    """Newest first, one page."""
    rows = conn.execute(
        f"{_SELECT} ORDER BY f.created_at DESC, f.id DESC LIMIT ? OFFSET ?", (limit, offset)
    )
    return [_feedback(r) for r in rows]


def get_feedback(conn: sqlite3.Connection, feedback_id: str) -> Feedback | None:
    row = conn.execute(f"{_SELECT} WHERE f.id = ?", (feedback_id,)).fetchone()
    return _feedback(row) if row else None

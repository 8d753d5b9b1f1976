"""Photos on a case's events and on community feedback: the picture stored once by its SHA-256
(``photo_blobs``) and a replicated record per attachment (``photos`` for a case's event,
``feedback_photos`` for a feedback item).

A picture comes here already prepared (kiosk/photos/prepare.py: re-encoded, no metadata);
this module checks that its bytes are what its name says before storing them, so a picture
that arrives from elsewhere under a false name is never kept. Everything runs inside the
caller's transaction: a photo and the event it documents are written together or not at all.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Protocol

from db.context import WriteContext, now_iso
from db.errors import UserError
from db.ids import uuid7

#: the most photos one event or feedback item may carry (a before and after series, not an album)
MAX_PER_EVENT = 12
#: the largest picture stored, in bytes (a prepared 1600 px JPEG is 150-500 KB)
MAX_BLOB_BYTES = 4 * 1024 * 1024


class Picture(Protocol):
    """A picture ready to store (kiosk/photos/prepare.py ``Prepared``): JPEG bytes, no
    metadata, named by their SHA-256."""

    @property
    def sha256(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...


@dataclass(frozen=True)
class Photo:
    id: str
    case_id: str
    event_id: str
    event_type: str
    sha256: str
    width: int
    height: int
    bytes: int
    added_at: str
    here: bool  # the picture itself is on this laptop (not yet, when only its record came)

    @property
    def erased(self) -> bool:
        """Erased with its household's personal data (db/forget.py): no picture, no name."""
        return not self.sha256


def store_blob(conn: sqlite3.Connection, sha256: str, data: bytes, width: int, height: int) -> bool:
    """Keep the picture ``data`` under ``sha256``; False when it was kept already.

    Refuses bytes whose SHA-256 is not ``sha256``, and pictures over :data:`MAX_BLOB_BYTES`.
    """
    if len(data) > MAX_BLOB_BYTES:
        raise UserError("photos.error.blob_too_big", exit_code=2, limit=MAX_BLOB_BYTES // 1024)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise UserError("photos.error.wrong_hash", exit_code=2, sha=sha256[:12])
    cur = conn.execute(
        "INSERT OR IGNORE INTO photo_blobs(sha256, data, bytes, width, height, stored_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (sha256, data, len(data), width, height, now_iso()),
    )
    if cur.rowcount != 1:
        return False
    # until the hub confirms it holds it (a row of its own: a picture's row is never
    # rewritten to say so)
    conn.execute("INSERT OR IGNORE INTO photo_blobs_pending(sha256) VALUES (?)", (sha256,))
    return True


def attach_photo(
    ctx: WriteContext,
    case_id: str,
    event_id: str,
    *,
    sha256: str,
    data: bytes,
    width: int,
    height: int,
) -> str:
    """Store a prepared picture and attach it to the event ``event_id`` of ``case_id``;
    returns the photo's id. Inside the caller's transaction."""
    conn = ctx.conn
    row = conn.execute("SELECT case_id FROM case_events WHERE id = ?", (event_id,)).fetchone()
    if row is None or row[0] != case_id:
        raise UserError("photos.error.no_event", exit_code=2, id=event_id[:40])
    (count,) = conn.execute(
        "SELECT count(*) FROM photos WHERE event_id = ?", (event_id,)
    ).fetchone()
    if count >= MAX_PER_EVENT:
        raise UserError("photos.error.too_many", exit_code=2, limit=MAX_PER_EVENT)
    store_blob(conn, sha256, data, width, height)
    pid, hlc = uuid7(), ctx.stamp()
    fields = {
        "id": pid,
        "case_id": case_id,
        "event_id": event_id,
        "sha256": sha256,
        "width": width,
        "height": height,
        "bytes": len(data),
        "added_at": now_iso(),
    }
    conn.execute(
        "INSERT INTO photos(id, case_id, event_id, sha256, width, height, bytes, added_at,"
        " hlc, worker_id, device_id) VALUES (:id, :case_id, :event_id, :sha256, :width, :height,"
        " :bytes, :added_at, :hlc, :w, :d)",
        {**fields, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("photo", pid, "insert", fields, hlc)
    return pid


@dataclass(frozen=True)
class FeedbackPhoto:
    id: str
    feedback_id: str
    sha256: str
    width: int
    height: int
    bytes: int
    added_at: str
    here: bool  # the picture itself is on this laptop


def attach_feedback_photo(
    ctx: WriteContext,
    feedback_id: str,
    *,
    sha256: str,
    data: bytes,
    width: int,
    height: int,
) -> str:
    """Store a prepared picture and attach it to the feedback ``feedback_id``; returns the
    photo's id. Inside the caller's transaction (the write guard holds it to the feedback's
    grid, as the feedback itself)."""
    conn = ctx.conn
    if conn.execute("SELECT 1 FROM feedback WHERE id = ?", (feedback_id,)).fetchone() is None:
        raise UserError("photos.error.no_feedback", exit_code=2, id=feedback_id[:40])
    (count,) = conn.execute(
        "SELECT count(*) FROM feedback_photos WHERE feedback_id = ?", (feedback_id,)
    ).fetchone()
    if count >= MAX_PER_EVENT:
        raise UserError("photos.error.too_many", exit_code=2, limit=MAX_PER_EVENT)
    store_blob(conn, sha256, data, width, height)
    pid, hlc = uuid7(), ctx.stamp()
    fields = {
        "id": pid,
        "feedback_id": feedback_id,
        "sha256": sha256,
        "width": width,
        "height": height,
        "bytes": len(data),
        "added_at": now_iso(),
    }
    conn.execute(
        "INSERT INTO feedback_photos(id, feedback_id, sha256, width, height, bytes, added_at,"
        " hlc, worker_id, device_id) VALUES (:id, :feedback_id, :sha256, :width, :height,"
        " :bytes, :added_at, :hlc, :w, :d)",
        {**fields, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("feedback_photo", pid, "insert", fields, hlc)
    return pid


def photos_of_feedback(conn: sqlite3.Connection, feedback_id: str) -> list[FeedbackPhoto]:
    """The feedback item's photos, as attached."""
    rows = conn.execute(
        "SELECT p.id, p.feedback_id, p.sha256, p.width, p.height, p.bytes, p.added_at,"
        " b.rowid IS NOT NULL FROM feedback_photos p"
        " LEFT JOIN photo_blobs b ON b.sha256 = p.sha256"
        " WHERE p.feedback_id = ? ORDER BY p.hlc, p.id",
        (feedback_id,),
    ).fetchall()
    return [FeedbackPhoto(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7])) for r in rows]


def photos_of_case(conn: sqlite3.Connection, case_id: str) -> list[Photo]:
    """The case's photos in the order of their events, then as attached."""
    rows = conn.execute(
        "SELECT p.id, p.case_id, p.event_id, coalesce(e.type, ''), p.sha256, p.width, p.height,"
        " p.bytes, p.added_at, b.rowid IS NOT NULL"
        " FROM photos p LEFT JOIN case_events e ON e.id = p.event_id"
        " LEFT JOIN photo_blobs b ON b.sha256 = p.sha256"
        " WHERE p.case_id = ? ORDER BY e.hlc, e.device_id, e.id, p.hlc, p.id",
        (case_id,),
    ).fetchall()
    return [Photo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9])) for r in rows]


def photos_of_household(
    conn: sqlite3.Connection, household_id: str, limit: int = 200
) -> list[tuple[str, Photo]]:
    """The photos of the household's cases as (case number, photo): the latest case first,
    each case's photos in the order of its events."""
    rows = conn.execute(
        "SELECT c.number, p.id, p.case_id, p.event_id, coalesce(e.type, ''), p.sha256, p.width,"
        " p.height, p.bytes, p.added_at, b.rowid IS NOT NULL"
        " FROM case_households ch JOIN cases c ON c.id = ch.case_id"
        " JOIN photos p ON p.case_id = ch.case_id LEFT JOIN case_events e ON e.id = p.event_id"
        " LEFT JOIN photo_blobs b ON b.sha256 = p.sha256"
        " WHERE ch.household_id = ?"
        " ORDER BY c.registered_at DESC, c.id, e.hlc, e.device_id, e.id, p.hlc, p.id LIMIT ?",
        (household_id, limit),
    ).fetchall()
    return [
        (r[0], Photo(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10])))
        for r in rows
    ]


def blob(conn: sqlite3.Connection, sha256: str) -> bytes | None:
    """The picture named ``sha256``, if it is on this laptop."""
    row = conn.execute("SELECT data FROM photo_blobs WHERE sha256 = ?", (sha256,)).fetchone()
    return None if row is None else bytes(row[0])


def register_event(conn: sqlite3.Connection, case_id: str) -> str:
    """The id of the case's registration event (where the "before" photos go)."""
    row = conn.execute(
        "SELECT id FROM case_events WHERE case_id = ? AND type = 'register'"
        " ORDER BY hlc, device_id, id LIMIT 1",
        (case_id,),
    ).fetchone()
    if row is None:
        raise UserError("cases.error.not_found", exit_code=2, id=case_id[:40])
    return row[0]


# --- what sync moves ------------------------------------------------------------------------
def unsent_pictures(conn: sqlite3.Connection, limit: int, after: str = "") -> list[str]:
    """Pictures on this laptop the hub has not confirmed holding, in name order after
    ``after`` (only those a photo record, of a case or of feedback, names: a picture of an
    erased photo is gone)."""
    rows = conn.execute(
        "SELECT u.sha256 FROM photo_blobs_pending u WHERE u.sha256 > ?"
        " AND (EXISTS (SELECT 1 FROM photos p WHERE p.sha256 = u.sha256)"
        " OR EXISTS (SELECT 1 FROM feedback_photos f WHERE f.sha256 = u.sha256))"
        " AND EXISTS (SELECT 1 FROM photo_blobs b WHERE b.sha256 = u.sha256)"
        " ORDER BY u.sha256 LIMIT ?",
        (after, limit),
    ).fetchall()
    return [r[0] for r in rows]


def mark_sent(conn: sqlite3.Connection, hashes: list[str]) -> int:
    """The hub holds these pictures; returns how many were not marked so before."""
    cur = conn.executemany(
        "DELETE FROM photo_blobs_pending WHERE sha256 = ?", [(h,) for h in hashes]
    )
    return max(cur.rowcount, 0)


def missing_pictures(conn: sqlite3.Connection, limit: int, after: str = "") -> list[str]:
    """Pictures named by photo records (of cases and of feedback) on this laptop and not here
    yet, after ``after``."""
    rows = conn.execute(
        "SELECT sha256 FROM (SELECT sha256 FROM photos UNION SELECT sha256 FROM feedback_photos)"
        " p WHERE p.sha256 > ? AND NOT EXISTS"
        " (SELECT 1 FROM photo_blobs b WHERE b.sha256 = p.sha256) ORDER BY p.sha256 LIMIT ?",
        (max(after, " "), limit),
    ).fetchall()
    return [r[0] for r in rows]


def picture_size(conn: sqlite3.Connection, sha256: str) -> tuple[int, int] | None:
    """(width, height) a photo record gives the picture ``sha256``."""
    row = conn.execute(
        "SELECT width, height FROM photos WHERE sha256 = ?"
        " UNION ALL SELECT width, height FROM feedback_photos WHERE sha256 = ? LIMIT 1",
        (sha256, sha256),
    ).fetchone()
    return None if row is None else (row[0], row[1])

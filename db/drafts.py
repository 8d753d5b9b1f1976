"""Drafts of open forms, saved to the database as the worker types.

Drafts are local to this laptop: they are not stamped, not written to the outbox and not
replicated (a half-typed visit belongs to the person typing it). Each write is its own short
transaction, so a crash or ``kill -9`` loses at most the keystrokes of the debounce window.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from db.connection import transaction
from db.context import now_iso


@dataclass(frozen=True)
class Draft:
    key: str
    kind: str
    payload: dict[str, Any]
    updated_at: str


def save_draft(conn: sqlite3.Connection, key: str, kind: str, payload: dict[str, Any]) -> None:
    """Create or replace the draft ``key`` (its own transaction, or the caller's)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    with transaction(conn):
        conn.execute(
            "INSERT INTO drafts(key, kind, payload, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET kind = excluded.kind, payload = excluded.payload,"
            " updated_at = excluded.updated_at",
            (key, kind, text, now_iso()),
        )


def load_draft(conn: sqlite3.Connection, key: str) -> Draft | None:
    row = conn.execute("SELECT * FROM drafts WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    return Draft(row["key"], row["kind"], json.loads(row["payload"]), row["updated_at"])


def delete_draft(conn: sqlite3.Connection, key: str) -> bool:
    with transaction(conn):
        return conn.execute("DELETE FROM drafts WHERE key = ?", (key,)).rowcount > 0


def list_drafts(conn: sqlite3.Connection, kind: str | None = None) -> list[Draft]:
    sql, params = "SELECT * FROM drafts", []
    if kind:
        sql, params = sql + " WHERE kind = ?", [kind]
    return [
        Draft(r["key"], r["kind"], json.loads(r["payload"]), r["updated_at"])
        for r in conn.execute(sql + " ORDER BY updated_at DESC", params)
    ]

"""The audit trail: who did what, when, from which device (issue 7, docs/security.md).

Entries are append-only (triggers refuse UPDATE and DELETE) and each device's entries form a
hash chain: ``hash = sha256(canonical JSON of prev_hash and the entry's fields)``, ``dseq``
counting from 1. ``detail`` carries ids, field names and counts, never a personal value, so
the trail itself holds no personal data and survives ``households forget``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from db.ids import uuid7

GENESIS = "0" * 64


def now_iso() -> str:
    from db.context import now_iso as _now

    return _now()


def entry_hash(prev_hash: str, entry_id: str, device_id: str, dseq: int, at: str,
               worker_id: str | None, action: str, entity: str | None, entity_id: str | None,
               household_id: str | None, detail: str) -> str:
    """The chain hash of one entry (``detail`` as stored: its JSON text)."""
    doc = json.dumps([prev_hash, entry_id, device_id, dseq, at, worker_id, action, entity,
                      entity_id, household_id, detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()


def record(conn: sqlite3.Connection, *, device_id: str, worker_id: str | None, action: str,
           entity: str | None = None, entity_id: str | None = None,
           household_id: str | None = None, detail: dict[str, Any] | None = None,
           at: str | None = None) -> str:
    """Append one entry to this device's chain; returns its id.

    Call it inside the transaction of the write it records, so both commit or neither does.
    """
    last = conn.execute("SELECT dseq, hash FROM audit WHERE device_id = ?"
                        " ORDER BY dseq DESC LIMIT 1", (device_id,)).fetchone()
    dseq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    entry_id, at = uuid7(), at or now_iso()
    text = json.dumps(detail or {}, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    digest = entry_hash(prev, entry_id, device_id, dseq, at, worker_id, action, entity,
                        entity_id, household_id, text)
    conn.execute(
        "INSERT INTO audit(id, device_id, dseq, at, worker_id, action, entity, entity_id,"
        " household_id, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (entry_id, device_id, dseq, at, worker_id, action, entity, entity_id, household_id,
         text, prev, digest))
    return entry_id

"""Bulk writes for seeding a database (the demo district, benchmarks).

Rows arrive in batches already stamped; each batch is written with ``executemany`` in one
transaction, so a killed process leaves whole batches only. Seeded rows stand for a roster
the hub already holds, so they are not queued in the outbox (see docs/data-model.md).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

INSERTS = {
    "grids": "INSERT INTO grids(id, code, name, community, street, district, hlc, worker_id,"
             " device_id) VALUES (?,?,?,?,?,?,?,?,?)",
    "compounds": "INSERT INTO compounds(id, grid_id, name, pinyin, initials, hlc, worker_id,"
                 " device_id) VALUES (?,?,?,?,?,?,?,?)",
    "households": "INSERT INTO households(rid, id, grid_id, compound_id, building, unit, room,"
                  " address_key, head_name, member_count, tags, note, created_at, updated_at, hlc,"
                  " worker_id, device_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "members": "INSERT INTO members(id, household_id, name, relation, gender, phone, id_number,"
               " birth_year, tags, position, created_at, updated_at, hlc, worker_id, device_id)"
               " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "search_terms": "INSERT OR IGNORE INTO search_terms(term, hh) VALUES (?,?)",
    "search_terms_pending": "INSERT INTO search_terms_pending(term, hh) VALUES (?,?)",
    "workers": "INSERT INTO workers(id, name, role, grids, community, disabled, hlc, worker_id,"
               " device_id, pin_hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
}


@dataclass
class Batch:
    """Rows for several tables, in foreign-key order (see :data:`TABLE_ORDER`)."""

    rows: dict[str, list[tuple]] = field(default_factory=dict)

    def add(self, table: str, row: tuple) -> None:
        self.rows.setdefault(table, []).append(row)

    def count(self, table: str) -> int:
        return len(self.rows.get(table, ()))


TABLE_ORDER = ["grids", "compounds", "workers", "households", "members", "search_terms",
               "search_terms_pending"]


def next_household_rid(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COALESCE(max(rid), 0) + 1 FROM households").fetchone()[0]


def write_batch(conn: sqlite3.Connection, batch: Batch, extra_inserts: dict[str, str] | None = None,
                *, stage_terms: bool = False) -> None:
    """Write one batch in one transaction.

    With ``stage_terms`` the batch's search keys go to ``search_terms_pending`` (an append-only
    heap); call :func:`fold_pending_terms` once the load is done.
    """
    if stage_terms and "search_terms" in batch.rows:
        batch.rows["search_terms_pending"] = batch.rows.pop("search_terms")
    inserts = {**INSERTS, **(extra_inserts or {})}
    order = TABLE_ORDER + [t for t in batch.rows if t not in TABLE_ORDER]
    # A large page cache keeps the search index's hot pages in memory during bulk loads.
    conn.execute("PRAGMA cache_size = -262144")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table in order:
            rows = batch.rows.get(table)
            if rows:
                if table in ("search_terms", "search_terms_pending"):
                    rows.sort()  # index order: fewer page splits in the WITHOUT ROWID tree
                conn.executemany(inserts[table], rows)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def fold_pending_terms(conn: sqlite3.Connection) -> int:
    """Move staged search keys into the index in key order, in one transaction."""
    staged = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'search_terms_pending'").fetchone()
    if staged is None or conn.execute("SELECT 1 FROM search_terms_pending LIMIT 1").fetchone() is None:
        return 0
    conn.execute("PRAGMA cache_size = -262144")
    conn.execute("BEGIN IMMEDIATE")
    try:
        n = conn.execute(
            "INSERT OR IGNORE INTO search_terms(term, hh)"
            " SELECT term, hh FROM search_terms_pending ORDER BY term, hh"
        ).rowcount
        conn.execute("DELETE FROM search_terms_pending")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return n

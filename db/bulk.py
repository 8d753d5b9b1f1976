"""Bulk writes for seeding a database (the demo district, benchmarks).

Rows arrive in batches already stamped; each batch is written with ``executemany`` in one
transaction, so a killed process leaves whole batches only. Search keys are staged a row per
household and folded into the index in key order at the end: one sorted pass instead of
millions of random inserts into the index. Seeded rows stand for a roster
the hub already holds, so they are not queued in the outbox (see docs/data-model.md).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

from db.normalize import household_terms
from db.transaction import transaction

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
    "search_terms_staged": "INSERT INTO search_terms_staged(hh, terms) VALUES (?,?)",
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


#: A list of strings as compact JSON with CJK kept as is (the staged search keys' format).
_json_list = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

TABLE_ORDER = [
    "grids",
    "compounds",
    "workers",
    "households",
    "members",
    "search_terms",
    "search_terms_staged",
]


def next_household_rid(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COALESCE(max(rid), 0) + 1 FROM households").fetchone()[0]


def stage_search_keys(batch: Batch) -> None:
    """Add the ``search_terms_staged`` rows of the batch's households: each household's keys
    (its address, its members' names and phones, as :func:`household_terms` makes them) as
    one JSON array. Derived here, from the rows themselves, so a generator only makes rows.
    A batch whose keys are staged already is left as it is."""
    if "search_terms_staged" in batch.rows:
        return
    members: dict[str, list[tuple[str, str]]] = {}
    for row in batch.rows.get("members", ()):
        members.setdefault(row[1], []).append((row[2], row[5]))  # household_id: (name, phone)
    staged = batch.rows.setdefault("search_terms_staged", [])
    for rid, hid, _, _, building, unit, room, key, *_ in batch.rows.get("households", ()):
        terms = sorted(household_terms(building, unit, room, members.get(hid, []), key))
        text = '","'.join(terms)
        if '"' in text or "\\" in text or not text.isprintable():
            text = _json_list(terms)  # characters JSON must escape: let the encoder do it
        else:
            text = f'["{text}"]'
        staged.append((rid, text))


def write_batch(
    conn: sqlite3.Connection, batch: Batch, extra_inserts: dict[str, str] | None = None
) -> None:
    """Write one batch in one transaction.

    Search keys may come as ``search_terms`` rows (``(term, hh)``, written into the index
    directly) or, for a large load, as ``search_terms_staged`` rows (``(hh, JSON array of
    terms)``, an append-only heap; see :func:`stage_search_keys`): call
    :func:`fold_staged_terms` once the load is done.
    """
    inserts = {**INSERTS, **(extra_inserts or {})}
    order = TABLE_ORDER + [t for t in batch.rows if t not in TABLE_ORDER]
    # A large page cache keeps the indexes' hot pages in memory during bulk loads.
    with _pragmas(conn, cache_size=-262144), transaction(conn):
        for table in order:
            rows = batch.rows.get(table)
            if rows:
                if table == "search_terms":
                    rows.sort()  # index order: fewer page splits in the WITHOUT ROWID tree
                conn.executemany(inserts[table], rows)


def fold_staged_terms(conn: sqlite3.Connection) -> int:
    """Move staged search keys into the index in key order, in one transaction.

    The sort of ten-odd million keys is most of the work. SQLite's sorter is several times
    faster with its runs in temporary files (which the OS keeps in its cache) than in memory,
    and only then sorts on worker threads, so the fold runs with ``temp_store = FILE`` and a
    small cache per run.
    """
    if conn.execute("SELECT 1 FROM search_terms_staged LIMIT 1").fetchone() is None:
        return 0
    with _pragmas(conn, temp_store=1, cache_size=-8000, threads=4), transaction(conn):
        n = conn.execute(
            "INSERT OR IGNORE INTO search_terms(term, hh)"
            " SELECT key.value, staged.hh FROM search_terms_staged AS staged,"
            " json_each(staged.terms) AS key ORDER BY 1, 2"
        ).rowcount
        conn.execute("DELETE FROM search_terms_staged")
    return n


@contextlib.contextmanager
def _pragmas(conn: sqlite3.Connection, **settings: int) -> Iterator[None]:
    """Run a block with these connection settings, then put the connection's own back."""
    saved = {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in settings}
    for name, value in settings.items():
        conn.execute(f"PRAGMA {name} = {int(value)}")
    try:
        yield
    finally:
        for name, value in saved.items():
            conn.execute(f"PRAGMA {name} = {int(value)}")

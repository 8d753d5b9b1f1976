"""The hub's embedded SQLite store: one file, right for one community office.

One connection guarded by a lock: SQLite has one writer at a time anyway, and the log
position (``seq``) is assigned in commit order, so a pull cursor never skips a row.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from db.connection import make_private
from db.migrations import execute_script
from kiosk.hub.store.base import SqlHubStore
from kiosk.hub.store.blobs import ADDED_COLUMNS as BLOB_COLUMNS
from kiosk.hub.store.blobs import PictureFiles
from kiosk.hub.store.blobs import schema as blob_schema

SCHEMA = """
CREATE TABLE IF NOT EXISTS hub_devices (
    name         TEXT PRIMARY KEY,
    device_id    TEXT UNIQUE,
    grids        TEXT,              -- JSON list of grid codes; NULL = every grid
    code_hash    TEXT UNIQUE,       -- one-time enrolment code (hash), NULL once used
    code_expires TEXT,
    token_hash   TEXT,              -- SHA-256 of the token's secret, never the token
    revoked      INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    enrolled_at  TEXT,
    last_seen_at TEXT,
    last_cursor  TEXT,
    worker       TEXT,              -- who carries the device (shown in lists)
    role         TEXT NOT NULL DEFAULT 'field',  -- field | office | admin (kiosk/hub/scope.py)
    community    TEXT,              -- an office device's community (NULL: every grid)
    street       TEXT               -- or its street (街道): every grid of the street
);
CREATE TABLE IF NOT EXISTS hub_ops (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id          TEXT NOT NULL UNIQUE,
    hlc            TEXT NOT NULL,
    entity         TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    payload        TEXT NOT NULL,
    base_version   TEXT,
    field_bases    TEXT,
    schema_version INTEGER NOT NULL,
    worker_id      TEXT,
    device_id      TEXT NOT NULL,
    grid           TEXT,
    case_id        TEXT,            -- the case an operation belongs to (case, its events...)
    received_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hub_ops_device ON hub_ops(device_id, seq);
CREATE INDEX IF NOT EXISTS hub_ops_case ON hub_ops(case_id) WHERE case_id IS NOT NULL;
-- Worker records, to tell whether a worker change comes from an administrator.
CREATE INDEX IF NOT EXISTS hub_ops_workers ON hub_ops(entity_id) WHERE entity = 'worker';
-- Every record the hub holds: the grid it belongs to (NULL: global) and the record it
-- belongs to (its owner), so what belongs to a record follows it when it moves.
CREATE TABLE IF NOT EXISTS hub_scope (
    entity        TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    grid          TEXT,
    parent_entity TEXT,
    parent_id     TEXT,
    PRIMARY KEY (entity, entity_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hub_grids (
    id        TEXT PRIMARY KEY,
    code      TEXT NOT NULL,
    community TEXT,
    street    TEXT
);
-- Operations the hub refused, one by one, with the reason: the laptop keeps them in its
-- quarantine (a bundle tells it), a supervisor reads them (kiosk hub refused).
-- Wrong enrolment codes by client address (the enrolment throttle, shared by hub processes).
CREATE TABLE IF NOT EXISTS hub_enrol_failures (
    addr TEXT NOT NULL,
    at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hub_enrol_failures_at ON hub_enrol_failures(at);
CREATE TABLE IF NOT EXISTS hub_refused (
    device_id  TEXT NOT NULL,
    op_id      TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    code       TEXT NOT NULL,
    params     TEXT NOT NULL,
    refused_at TEXT NOT NULL,
    PRIMARY KEY (device_id, op_id)
) WITHOUT ROWID;
-- Every device's audit trail (docs/security.md), checked on arrival: each device's entries
-- continue its hash chain (dseq from 1, prev_hash linking, hashes recomputed).
CREATE TABLE IF NOT EXISTS hub_audit (
    device_id    TEXT NOT NULL,
    dseq         INTEGER NOT NULL,
    id           TEXT NOT NULL,
    at           TEXT NOT NULL,
    worker_id    TEXT,
    action       TEXT NOT NULL,
    entity       TEXT,
    entity_id    TEXT,
    household_id TEXT,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (device_id, dseq)
) WITHOUT ROWID;
"""


#: Records remembered by a hub's connection at most (a dictionary of ~20 MB; then it starts
#: again empty).
HELD_ROWS = 50_000


class SqliteHubStore(SqlHubStore):
    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path).expanduser()
        self.url = str(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        #: what ``hub_scope`` held of the records read last, while the file is as this
        #: connection left it (``PRAGMA data_version`` unchanged): a grid's households are
        #: pushed day after day, and each push looks up every record it touches (1.2 us a
        #: record read, 0.1 us remembered). Written rows are forgotten as they are written, and
        #: everything on a rollback.
        self._held: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}
        self._held_version: int | None = None
        #: the pictures, as files beside the database (kiosk/hub/store/blobs.py)
        self.pictures = PictureFiles(self.path)
        #: pictures whose rows the open transaction deletes: their files go once it commits
        self._doomed: list[str] = []
        self.conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=30
        )
        make_private(self.path)
        # WAL: the hub commands (devices add, export) read and write while the hub serves.
        # synchronous FULL: a commit waits for the disk. A push the hub has acknowledged
        # leaves the laptop's outbox and is never sent again, so it must survive a power cut
        # of the office machine too (NORMAL could lose the last commits). One sync per push
        # of up to 500 operations is cheap beside that promise.
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute("PRAGMA busy_timeout = 30000")
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                _upgrade(self.conn)
                execute_script(self.conn, SCHEMA)
                for stmt in blob_schema("BLOB"):  # pictures: the data column stays empty here
                    self.conn.execute(stmt)
                # Nothing looks records up by owner any more (base.SqlHubStore._load_scope)
                self.conn.execute("DROP INDEX IF EXISTS hub_scope_parent")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        self._init_clock()

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    @contextlib.contextmanager
    def _tx(self, write: bool = True) -> Iterator[Any]:
        with self._lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                # what was read inside the transaction may be what it wrote: forgotten
                self._held.clear()
                self._doomed.clear()
                if self.conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise
            doomed, self._doomed = self._doomed, []
            for sha in doomed:  # erased: the rows are gone for good, now the files
                self.pictures.delete(sha)

    # --- pictures: files beside the database (kiosk/hub/store/blobs.py) --------------------
    def _stage_bytes(self, pictures: list[tuple[str, bytes]]) -> None:
        # the folders of the pictures written now are flushed (their renames); a picture
        # already there was flushed when it was written
        self.pictures.sync_dirs({sha for sha, data in pictures if self.pictures.write(sha, data)})

    def _keep_bytes(self, cur: Any, rows: list[tuple[str, bytes, int, str]]) -> None:
        if not rows:
            return
        self._stage_bytes([(sha, data) for sha, data, _n, _at in rows])  # written already: kept
        cur.executemany(
            "INSERT INTO hub_blobs(sha256, data, bytes, stored_at) VALUES (?, x'', ?, ?)"
            " ON CONFLICT DO NOTHING",
            [(sha, n, at) for sha, _data, n, at in rows],
        )

    def _read_bytes(self, cur: Any, sha: str) -> bytes | None:
        cur.execute("SELECT 1 FROM hub_blobs WHERE sha256 = ?", (sha,))
        return self.pictures.read(sha) if cur.fetchone() else None

    def _drop_bytes(self, cur: Any, sha: str) -> None:
        cur.execute("DELETE FROM hub_blobs WHERE sha256 = ?", (sha,))
        self._doomed.append(sha)

    # Ingest lookups take their keys as one JSON array (json_each), so each is one statement
    # whose text never changes: prepared once, reused from the connection's statement cache
    # (a list of ``?`` marks would be a new statement for every batch size). CROSS JOIN keeps
    # the keys as the outer loop (one primary-key search each), whatever the statistics say.
    # A record owned by a grid is in that grid (its stored grid is its owner's id): its
    # owner is not read (most keys of a push are households).
    _SCOPE_OF = (
        "SELECT k.value, s.grid,"
        " CASE WHEN s.parent_entity = 'grid' THEN NULL ELSE s.parent_entity END,"
        " CASE WHEN s.parent_entity = 'grid' THEN NULL ELSE s.parent_id END FROM json_each(?) k"
        " CROSS JOIN hub_scope s ON s.entity = ? AND s.entity_id = k.value"
    )
    _HELD = "SELECT op_id FROM hub_ops WHERE op_id IN (SELECT value FROM json_each(?))"

    def _scope_rows(
        self, cur: Any, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str | None, str | None, str | None]]:
        """As :meth:`SqlHubStore._scope_rows`; the rows read before are taken from
        ``_held`` while no other connection has written the file (``PRAGMA data_version``)."""
        held = self._held
        version = cur.execute("PRAGMA data_version").fetchone()[0]
        if version != self._held_version:
            held.clear()
            self._held_version = version
        out: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}
        by_entity: dict[str, list[str]] = {}
        for key in keys:
            row = held.get(key)
            if row is None:
                by_entity.setdefault(key[0], []).append(key[1])
            else:
                out[key] = row
        for ent, ids in by_entity.items():
            cur.execute(self._SCOPE_OF, (_json(ids), ent))
            for eid, grid, pe, pid in cur.fetchall():
                out[(ent, eid)] = (grid, pe, pid)
        if len(held) + len(out) > HELD_ROWS:
            held.clear()
        held.update(out)
        return out

    def _insert_scope(self, cur: Any, rows: list[tuple]) -> None:
        held = self._held
        for row in rows:
            held.pop((row[0], row[1]), None)
        super()._insert_scope(cur, rows)

    def _existing(self, cur: Any, op_ids: list[str]) -> set[str]:
        cur.execute(self._HELD, (_json(op_ids),))
        return {r[0] for r in cur.fetchall()}

    def _after(self, cursor: str | None) -> tuple[str, list[Any]]:
        return "seq > ?", [_seq(cursor)]

    def _visible(self, cur: Any) -> tuple[str, list[Any]]:
        # Writes are serialised, so every committed row is final: the snapshot's last seq.
        cur.execute("SELECT COALESCE(max(seq), 0) FROM hub_ops")
        return "seq <= ?", [cur.fetchone()[0]]

    def _cursor_of(self, row: tuple) -> str:
        return str(row[0])

    def _tail(self, cur: Any, visible: tuple[str, list[Any]]) -> str | None:
        top = visible[1][0]
        return str(top) if top else None


#: Columns added since a table was first created: (table, column, definition).
ADDED_COLUMNS = (
    ("hub_devices", "role", "TEXT NOT NULL DEFAULT 'field'"),
    ("hub_devices", "community", "TEXT"),
    ("hub_scope", "parent_entity", "TEXT"),
    ("hub_scope", "parent_id", "TEXT"),
    ("hub_grids", "community", "TEXT"),
    ("hub_devices", "street", "TEXT"),
    ("hub_grids", "street", "TEXT"),
    *BLOB_COLUMNS,
)


def _upgrade(conn: sqlite3.Connection) -> None:
    """Bring a hub file made by an older version to this schema (inside the caller's
    transaction): the columns added since, and each existing device's role (a device with
    no grids served every grid: an office device now, never an administrator's)."""
    for table, column, definition in ADDED_COLUMNS:
        cols = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if cols and column not in cols:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            if (table, column) == ("hub_devices", "role"):
                conn.execute("UPDATE hub_devices SET role = 'office' WHERE grids IS NULL")
            if (table, column) in (("hub_grids", "community"), ("hub_grids", "street")):
                conn.execute(
                    f"UPDATE hub_grids SET {column} = (SELECT json_extract(payload, '$.{column}')"
                    " FROM hub_ops WHERE entity = 'grid' AND entity_id = hub_grids.id"
                    f" AND json_extract(payload, '$.{column}') IS NOT NULL"
                    " ORDER BY seq DESC LIMIT 1)"
                )


def _json(values: list[str]) -> str:
    return msgspec.json.encode(values).decode()


def _seq(cursor: str | None) -> int:
    from kiosk.hub.store.base import HubError

    if not cursor:
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise HubError(400, "bad_cursor")
    return int(cursor)

"""The hub's PostgreSQL store (psycopg 3), for a district: many offices, many laptops at once.

Log positions. ``seq`` comes from a sequence, and sequence values are handed out at insert
time but become visible at commit time, out of order: a transaction holding seq 10 may commit
after one holding seq 11, and a cursor at 11 would skip 10 forever. So every row also records
the id of the transaction that wrote it (``txid``, ``pg_current_xact_id()``), the log is
ordered by ``(txid, seq)``, and a pull serves only rows whose ``txid`` is below the snapshot's
``xmin`` watermark (``pg_snapshot_xmin(pg_current_snapshot())``): every transaction below it
has finished, so no row can ever appear behind the cursor. The cursor is ``"<txid>:<seq>"``.
A long-open transaction on the server holds the watermark back (pulls wait, nothing is lost).

Ingest is batched: one transaction per push, ``executemany`` (pipelined by psycopg 3).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from typing import Any

import psycopg

from kiosk.hub.store.base import HubError, SqlHubStore
from kiosk.hub.store.blobs import ADDED_COLUMNS as BLOB_COLUMNS
from kiosk.hub.store.blobs import schema as blob_schema

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS hub_devices (
        name         TEXT PRIMARY KEY,
        device_id    TEXT UNIQUE,
        grids        TEXT,
        code_hash    TEXT UNIQUE,
        code_expires TEXT,
        token_hash   TEXT,
        revoked      INTEGER NOT NULL DEFAULT 0,
        created_at   TEXT NOT NULL,
        enrolled_at  TEXT,
        last_seen_at TEXT,
        last_cursor  TEXT,
        worker       TEXT,
        role         TEXT NOT NULL DEFAULT 'field',
        community    TEXT,
        street       TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS hub_ops (
        seq            BIGSERIAL PRIMARY KEY,
        txid           xid8 NOT NULL DEFAULT pg_current_xact_id(),
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
        case_id        TEXT,
        received_at    TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS hub_ops_case ON hub_ops(case_id) WHERE case_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS hub_ops_workers ON hub_ops(entity_id) WHERE entity = 'worker'",
    "CREATE INDEX IF NOT EXISTS hub_ops_pos ON hub_ops(txid, seq)",
    "CREATE INDEX IF NOT EXISTS hub_ops_device ON hub_ops(device_id, txid, seq)",
    """CREATE TABLE IF NOT EXISTS hub_scope (
        entity        TEXT NOT NULL,
        entity_id     TEXT NOT NULL,
        grid          TEXT,
        parent_entity TEXT,
        parent_id     TEXT,
        PRIMARY KEY (entity, entity_id)
    )""",
    """CREATE TABLE IF NOT EXISTS hub_grids (
        id        TEXT PRIMARY KEY,
        code      TEXT NOT NULL,
        community TEXT,
        street    TEXT
    )""",
    # columns added since the tables were first created (kiosk/hub/store/sqlite.py)
    "ALTER TABLE hub_devices ADD COLUMN IF NOT EXISTS role TEXT NOT NULL DEFAULT 'field'",
    "ALTER TABLE hub_devices ADD COLUMN IF NOT EXISTS community TEXT",
    "ALTER TABLE hub_scope ADD COLUMN IF NOT EXISTS parent_entity TEXT",
    "ALTER TABLE hub_scope ADD COLUMN IF NOT EXISTS parent_id TEXT",
    "ALTER TABLE hub_grids ADD COLUMN IF NOT EXISTS community TEXT",
    "ALTER TABLE hub_devices ADD COLUMN IF NOT EXISTS street TEXT",
    "ALTER TABLE hub_grids ADD COLUMN IF NOT EXISTS street TEXT",
    # A device of an older hub with no grids served every grid: an office device now.
    "UPDATE hub_devices SET role = 'office' WHERE grids IS NULL AND role = 'field'",
    """UPDATE hub_grids g SET community = (SELECT payload::json->>'community' FROM hub_ops o
        WHERE o.entity = 'grid' AND o.entity_id = g.id ORDER BY o.seq DESC LIMIT 1)
        WHERE g.community IS NULL""",
    """UPDATE hub_grids g SET street = (SELECT payload::json->>'street' FROM hub_ops o
        WHERE o.entity = 'grid' AND o.entity_id = g.id AND payload::json->>'street' IS NOT NULL
        ORDER BY o.seq DESC LIMIT 1) WHERE g.street IS NULL""",
    # nothing looks records up by owner any more (base.SqlHubStore._load_scope)
    "DROP INDEX IF EXISTS hub_scope_parent",
    # wrong enrolment codes by client address (the enrolment throttle, shared by processes)
    "CREATE TABLE IF NOT EXISTS hub_enrol_failures (addr TEXT NOT NULL, at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS hub_enrol_failures_at ON hub_enrol_failures(at)",
    """CREATE TABLE IF NOT EXISTS hub_refused (
        device_id  TEXT NOT NULL,
        op_id      TEXT NOT NULL,
        entity     TEXT NOT NULL,
        entity_id  TEXT NOT NULL,
        code       TEXT NOT NULL,
        params     TEXT NOT NULL,
        refused_at TEXT NOT NULL,
        PRIMARY KEY (device_id, op_id)
    )""",
    # every device's audit trail, checked on arrival (see store_sqlite.py)
    """CREATE TABLE IF NOT EXISTS hub_audit (
        device_id    TEXT NOT NULL,
        dseq         BIGINT NOT NULL,
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
    )""",
]

_CURSOR = re.compile(r"^(\d{1,20}):(\d{1,19})$")
WATERMARK = "txid < pg_snapshot_xmin(pg_current_snapshot())"


class PostgresHubStore(SqlHubStore):
    # The position is read as text (the cursor's form) under another name, and the log is
    # ordered by the table's own columns: an ORDER BY naming an output column would sort the
    # text ('1054' < '936'), so a pull would skip and repeat operations once transaction ids
    # gain a digit.
    POS_COLS = "hub_ops.txid::text AS pos_txid, hub_ops.seq AS pos_seq"
    ORDER = "hub_ops.txid, hub_ops.seq"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._local = threading.local()
        self._all: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(8765)")  # one schema creator at a time
            for stmt in [*SCHEMA, *blob_schema("BYTEA")]:  # pictures: store/blobs.py
                cur.execute(stmt)
            for table, column, definition in BLOB_COLUMNS:  # a hub made by an older version
                cur.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition}")
        self._init_clock()

    def _conn(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.url, autocommit=True)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()

    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s")

    @contextlib.contextmanager
    def _tx(self, write: bool = True) -> Iterator[Any]:
        conn = self._conn()
        with conn.cursor() as cur:
            # Reads run in one snapshot (REPEATABLE READ): the page and the tail position
            # agree on which transactions have finished.
            cur.execute("BEGIN" if write else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield cur
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    # Batched inserts: one statement per batch, the rows passed as one array per column and
    # unnested in order (log positions follow the batch's order).
    _OP_TYPES = (
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
        "int",
        "text",
        "text",
        "text",
        "text",
        "text",
    )
    _OP_COLS = (
        "op_id, hlc, entity, entity_id, kind, payload, base_version, field_bases,"
        " schema_version, worker_id, device_id, grid, case_id, received_at"
    )

    def _insert_ops(self, cur: Any, rows: list[tuple]) -> int:
        arrays = [list(col) for col in zip(*rows, strict=True)]
        names = [f"c{i}" for i in range(len(arrays))]
        cur.execute(
            f"INSERT INTO hub_ops({self._OP_COLS}) SELECT {', '.join(names)} FROM unnest("
            + ", ".join(f"%b::{t}[]" for t in self._OP_TYPES)
            + f") WITH ORDINALITY AS t({', '.join(names)}, ord) ORDER BY ord"
            " ON CONFLICT (op_id) DO NOTHING",
            arrays,
            binary=True,
        )
        return int(cur.rowcount)

    def _insert_scope(self, cur: Any, rows: list[tuple]) -> None:
        arrays = [list(col) for col in zip(*rows, strict=True)]
        cur.execute(
            "INSERT INTO hub_scope(entity, entity_id, grid, parent_entity, parent_id) SELECT *"
            " FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[])"
            " ON CONFLICT (entity, entity_id) DO UPDATE SET grid = excluded.grid,"
            " parent_entity = excluded.parent_entity, parent_id = excluded.parent_id",
            arrays,
            binary=True,
        )

    def _existing(self, cur: Any, op_ids: list[str]) -> set[str]:
        cur.execute(
            "SELECT op_id FROM hub_ops WHERE op_id = ANY(%b::text[])", [op_ids], binary=True
        )
        return {r[0] for r in cur.fetchall()}

    def _scope_rows(
        self, cur: Any, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str | None, str | None, str | None]]:
        ents = [k[0] for k in keys]
        ids = [k[1] for k in keys]
        cur.execute(
            "SELECT s.entity, s.entity_id, s.grid, s.parent_entity, s.parent_id FROM hub_scope s"
            " JOIN unnest(%b::text[], %b::text[]) AS k(entity, entity_id)"
            " ON s.entity = k.entity AND s.entity_id = k.entity_id",
            [ents, ids],
            binary=True,
        )
        return {(r[0], r[1]): (r[2], r[3], r[4]) for r in cur.fetchall()}

    def _after(self, cursor: str | None) -> tuple[str, list[Any]]:
        if not cursor:
            return "TRUE", []
        m = _CURSOR.match(cursor)
        if not m:
            raise HubError(400, "bad_cursor")
        return "(txid, seq) > (?::xid8, ?)", [m.group(1), int(m.group(2))]

    def _visible(self, cur: Any) -> tuple[str, list[Any]]:
        return WATERMARK, []

    def _cursor_of(self, row: tuple) -> str:
        return f"{row[0]}:{row[1]}"

    def _tail(self, cur: Any, visible: tuple[str, list[Any]]) -> str | None:
        cur.execute(
            f"SELECT txid::text AS pos_txid, seq FROM hub_ops WHERE {WATERMARK}"
            " ORDER BY hub_ops.txid DESC, hub_ops.seq DESC LIMIT 1"
        )
        row = cur.fetchone()
        return self._cursor_of(row) if row else None

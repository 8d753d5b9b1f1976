"""Opening the laptop database: pragmas, migrations, transactions."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from db.migrations import migrate


class DatabaseError(Exception):
    """A database problem a person can act on (the message key says which)."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with the pragmas every part of Grid Kiosk relies on.

    Autocommit mode (``isolation_level=None``): transactions are opened explicitly with
    :func:`transaction`, so no statement is ever committed half-way by accident.
    """
    path = str(path)
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode is durable against crashes of the process; a power cut may lose
        # the last transaction but never corrupts the file.
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -32000")  # 32 MB page cache
    # Memory-mapped reads: a search's random page reads come straight from the OS page cache
    # (resident memory grows only by the pages actually touched).
    conn.execute("PRAGMA mmap_size = 4294967296")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, *, immediate: bool = True) -> Iterator[sqlite3.Connection]:
    """Run a block in one transaction: all of it commits, or none of it does.

    Nested use joins the outer transaction (SAVEPOINT), so helpers can be composed.
    """
    if conn.in_transaction:
        name = f"sp_{id(conn)}_{_depth.__next__()}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _counter() -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield n


_depth = _counter()


@dataclass
class Database:
    """An open laptop database: its path and a connection for this thread."""

    path: Path
    conn: sqlite3.Connection

    def close(self) -> None:
        self.conn.close()

    def reader(self) -> sqlite3.Connection:
        """A second connection for a worker thread (WAL lets readers run beside the writer)."""
        return connect(self.path)


def open_database(path: str | Path, *, create: bool = True) -> Database:
    """Open (and if needed create and migrate) the database at ``path``."""
    p = Path(path).expanduser()
    if not p.exists():
        if not create:
            raise DatabaseError("error.db_missing", path=str(p))
        p.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = connect(p)
        migrate(conn)
        # An interrupted bulk load may have left staged search keys: finish its work.
        from db.bulk import fold_pending_terms

        fold_pending_terms(conn)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError("error.db_unreadable", path=str(p), detail=str(exc)) from exc
    return Database(path=p, conn=conn)

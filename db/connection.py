"""Opening the laptop database: pragmas, migrations, transactions, encryption at rest.

A database is either a plain SQLite file (opened with the standard library's :mod:`sqlite3`)
or, when encryption at rest is on, a SQLCipher file (opened with ``sqlcipher3``, the same
DB-API with its own SQLite that encrypts every page). The binding is imported only when an
encrypted database is opened, so plain use pays nothing for it. See docs/security.md.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, cast

from db.migrations import migrate
from db.transaction import transaction as transaction  # long imported from here

#: The first 16 bytes of every plain SQLite database file.
SQLITE_HEADER = b"SQLite format 3\x00"
#: Raw keys are 32 bytes (256 bits), used as they are: a random key needs no derivation.
KEY_BYTES = 32

FileState = Literal["missing", "empty", "plain", "encrypted", "other"]


class DatabaseError(Exception):
    """A database problem a person can act on (the message key says which)."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class SQLiteErrors:
    """Exception classes for ``except`` clauses that must catch both bindings.

    ``sqlcipher3`` raises its own classes (not subclasses of :mod:`sqlite3`'s). Its classes
    are added here when the binding is first loaded, and an ``except`` clause evaluates
    ``SQLiteErrors.integrity`` when an exception arrives, so a clause written before the
    binding was loaded still catches its errors. Write ``except SQLiteErrors.integrity``;
    never copy the tuple into a name of your own.
    """

    integrity: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)
    operational: tuple[type[Exception], ...] = (sqlite3.OperationalError,)
    database: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)


def _cipher() -> ModuleType:
    """The SQLCipher binding, imported on first use (it loads its own SQLite and libcrypto)."""
    from sqlcipher3 import dbapi2

    if dbapi2.IntegrityError not in SQLiteErrors.integrity:
        SQLiteErrors.integrity = (sqlite3.IntegrityError, dbapi2.IntegrityError)
        SQLiteErrors.operational = (sqlite3.OperationalError, dbapi2.OperationalError)
        SQLiteErrors.database = (sqlite3.DatabaseError, dbapi2.DatabaseError)
        # SQLCipher logs a failed key check to stderr; the caller turns it into a message.
        c = dbapi2.connect(":memory:")
        c.execute("PRAGMA cipher_log_level = NONE")
        c.close()
    return cast(ModuleType, dbapi2)


def file_state(path: str | Path) -> FileState:
    """What is at ``path``, judged from its size and first 16 bytes without opening it.

    A SQLCipher file starts with its random salt, so it cannot be told from other data for
    sure: a file whose header is not SQLite's but whose size is a whole number of pages
    (a multiple of 512 bytes) is taken as ``encrypted``; anything else is ``other``.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        return "missing"
    if size == 0:
        return "empty"
    with p.open("rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if header == SQLITE_HEADER:
        return "plain"
    return "encrypted" if size >= 512 and size % 512 == 0 else "other"


def _key_pragma(key: bytes, schema: str = "") -> str:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a database key is {KEY_BYTES} bytes")
    # A raw key in blob-literal form: SQLCipher uses it as is, without PBKDF2 (the key is
    # random, so there is nothing to stretch).
    return f"PRAGMA {schema}key = \"x'{key.hex()}'\""


def _open(module: Any, path: str, readonly: bool) -> Any:
    if readonly:
        return module.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    return module.connect(path, isolation_level=None, check_same_thread=False, timeout=30)


def connect(
    path: str | Path, *, readonly: bool = False, key: bytes | None = None
) -> sqlite3.Connection:
    """A connection with the pragmas every part of Grid Kiosk relies on.

    Autocommit mode (``isolation_level=None``): transactions are opened explicitly with
    :func:`transaction`, so no statement is ever committed half-way by accident.

    With ``key`` (32 bytes) the database is opened with SQLCipher, and the key is checked
    before anything else runs (:class:`DatabaseError` ``error.db_key_wrong`` if it does not
    open the file). Without a key, a file that looks encrypted is refused with
    ``error.db_encrypted_no_key`` instead of SQLite's "file is not a database".
    """
    path = str(path)
    state = file_state(path)
    if key is None:
        if state == "encrypted":
            raise DatabaseError("error.db_encrypted_no_key", path=path)
        conn = _open(sqlite3, path, readonly)
        conn.row_factory = sqlite3.Row
    else:
        if state == "plain":
            raise DatabaseError("error.db_not_encrypted", path=path)
        module = _cipher()
        conn = _open(module, path, readonly)
        try:
            conn.execute(_key_pragma(key))
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except module.DatabaseError as exc:
            conn.close()
            raise DatabaseError("error.db_key_wrong", path=path) from exc
        # The binding's own Row: sqlite3.Row refuses a cursor of another module. It offers
        # the same row["col"], row[0], dict(row) and row.keys().
        conn.row_factory = module.Row
    _configure(conn, readonly)
    return cast(sqlite3.Connection, conn)


def _configure(conn: Any, readonly: bool) -> None:
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode is durable against crashes of the process; a power cut may lose
        # the last transaction but never corrupts the file.
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -32000")  # 32 MB page cache
    # Memory-mapped reads: a search's random page reads come straight from the OS page cache
    # (resident memory grows only by the pages actually touched). SQLCipher ignores it: its
    # pages are decrypted into the page cache.
    conn.execute("PRAGMA mmap_size = 4294967296")
    conn.execute("PRAGMA temp_store = MEMORY")


@dataclass
class Database:
    """An open laptop database: its path, its key if it is encrypted, a connection for this
    thread."""

    path: Path
    conn: sqlite3.Connection
    key: bytes | None = field(default=None, repr=False)  # never in a log line or traceback
    #: the readers handed out, closed with the database
    _readers: list[sqlite3.Connection] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Close the connection and every reader handed out: a reader left open after the
        database is closed (an interface run inside another program, a test) keeps the old
        WAL files open, and other processes may then delete and recreate them under it."""
        readers, self._readers = self._readers, []
        for reader in readers:
            with contextlib.suppress(Exception):
                reader.close()
        self.conn.close()

    def reader(self) -> sqlite3.Connection:
        """A second connection for a worker thread (WAL lets readers run beside the writer)."""
        conn = connect(self.path, key=self.key)
        self._readers.append(conn)
        return conn


def open_database(path: str | Path, *, create: bool = True, key: bytes | None = None) -> Database:
    """Open (and if needed create and migrate) the database at ``path``.

    With ``key`` the database is a SQLCipher file (a new one is created encrypted).
    """
    p = Path(path).expanduser()
    if p.is_dir():
        raise DatabaseError("error.is_folder", path=str(p))
    if not p.exists():
        if not create:
            raise DatabaseError("error.db_missing", path=str(p))
        p.parent.mkdir(parents=True, exist_ok=True)
    before = _identity(p)
    try:
        conn = connect(p, key=key)
        migrate(conn)
        # An interrupted bulk load may have left staged search keys: finish its work.
        if conn.execute("SELECT 1 FROM search_terms_staged LIMIT 1").fetchone():
            from db.bulk import fold_staged_terms

            fold_staged_terms(conn)
    except SQLiteErrors.database as exc:
        raise DatabaseError("error.db_unreadable", path=str(p), detail=str(exc)) from exc
    if before is not None and _identity(p) != before:
        # A conversion renamed its new file into place while this connection waited for the
        # lock: it holds the old file, which nobody will ever read again. Start afresh.
        conn.close()
        raise DatabaseError("error.db_replaced", path=str(p))
    # This connection has read the file in WAL mode, so no conversion can be running now
    # (it needs the file to itself): a conversion file still here was left by a crash.
    remove_conversion_leftovers(p)
    make_private(p)
    return Database(path=p, conn=conn, key=key)


def make_private(path: Path) -> None:
    """Only the owner may read or write ``path`` and its -wal, -shm and -journal files
    (files made by an older version, or copied in, are tightened when opened)."""
    import os

    for f in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            if f.exists() and f.stat().st_mode & 0o077:
                os.chmod(f, 0o600)
        except OSError:
            pass  # not ours to change (a read-only mount): the umask guards new files


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


# --- encryption at rest: converting a database between plain and encrypted ------------------


def conversion_path(path: str | Path) -> Path:
    """Where a conversion writes the new file before it replaces ``path``."""
    p = Path(path)
    return p.with_name(p.name + ".converting")


def remove_conversion_leftovers(path: str | Path) -> bool:
    """Remove what an interrupted conversion left next to ``path``; True if there was any.

    Only call this while holding the database (an open WAL connection, or the conversion's
    exclusive lock), so no running conversion's file is taken away.
    """
    tmp = conversion_path(path)
    found = False
    for leftover in (tmp, *(Path(f"{tmp}{suffix}") for suffix in ("-journal", "-wal", "-shm"))):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            found = True
    return found


def _fsync(path: Path, *, directory: bool = False) -> None:
    if directory:
        # Makes a rename durable on POSIX; Windows cannot open a folder, and some file
        # systems cannot sync one: there the rename is as durable as the OS makes it.
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


def _row_counts(conn: Any, schema: str = "main") -> dict[str, int]:
    tables = [
        r[0]
        for r in conn.execute(
            f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {t: conn.execute(f'SELECT count(*) FROM {schema}."{t}"').fetchone()[0] for t in tables}


def convert_database(
    path: str | Path, *, key: bytes | None, new_key: bytes | None
) -> dict[str, int]:
    """Rewrite the database at ``path`` from ``key`` to ``new_key`` (None: plain).

    The new file is written next to the old one with ``sqlcipher_export``, synced, reopened
    and checked (integrity and every table's row count), and only then renamed over the old
    file in one atomic step. A crash at any point leaves either the old file or the new one,
    whole; a half-written new file is removed by the next conversion or the next open.

    Refused with ``error.db_in_use`` while another connection has the database open. Returns
    the row count of every table.
    """
    p = Path(path).expanduser()
    tmp = conversion_path(p)
    module = _cipher()
    if new_key is not None and len(new_key) != KEY_BYTES:
        raise ValueError(f"a database key is {KEY_BYTES} bytes")
    src = module.connect(str(p), isolation_level=None, check_same_thread=False, timeout=0)
    locked = False
    try:
        if key is not None:
            try:
                src.execute(_key_pragma(key))
                src.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except module.DatabaseError as exc:
                raise DatabaseError("error.db_key_wrong", path=str(p)) from exc
        try:
            # Leaving WAL mode needs the file to itself: it fails at once if any other
            # connection (another window, the app) has it open. It also checkpoints the WAL,
            # so the main file holds everything and no -wal remains.
            mode = src.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            # Then hold an exclusive lock until the new file is in place: nobody can write
            # to the old file in between (and have the write lost).
            src.execute("PRAGMA locking_mode = EXCLUSIVE")
            src.execute("BEGIN EXCLUSIVE")
            src.execute("COMMIT")
            locked = True
        except module.OperationalError as exc:
            raise DatabaseError("error.db_in_use", path=str(p)) from exc
        if str(mode).lower() != "delete":
            raise DatabaseError("error.db_in_use", path=str(p))
        remove_conversion_leftovers(p)
        version = src.execute("PRAGMA user_version").fetchone()[0]
        # An empty key attaches a plain database; a blob literal is a raw key.
        target_key = f"x'{new_key.hex()}'" if new_key is not None else ""
        src.execute("ATTACH DATABASE ? AS converted KEY ?", (str(tmp), target_key))
        try:
            # The new file is scratch until it is checked and renamed, so it needs neither a
            # journal nor a sync per page (it is synced once, below); a page cache that holds
            # it avoids spilling pages through the cipher twice. Twenty times faster.
            src.execute("PRAGMA converted.journal_mode = OFF")
            src.execute("PRAGMA converted.synchronous = OFF")
            src.execute("PRAGMA converted.cache_size = -65536")
            src.execute("SELECT sqlcipher_export('converted')").fetchone()
            # sqlcipher_export copies schema and rows, not the header's schema version.
            src.execute(f"PRAGMA converted.user_version = {int(version)}")
        finally:
            src.execute("DETACH DATABASE converted")
        counts = _row_counts(src)
        _fsync(tmp)
        _verify(module, tmp, new_key, counts)
        if any(Path(f"{p}{s}").exists() for s in ("-journal", "-wal")):
            # A journal next to the new file would be replayed into it: never rename then.
            raise DatabaseError("error.db_in_use", path=str(p))
        try:
            os.replace(tmp, p)
        except PermissionError:
            if os.name != "nt":
                raise
            src.close()  # Windows cannot rename over an open file: let go of it first
            os.replace(tmp, p)
        _fsync(p.parent, directory=True)
        with contextlib.suppress(FileNotFoundError):
            Path(f"{p}-shm").unlink()
        return counts
    except BaseException:
        if locked:  # without the lock, the file may be another conversion's
            with contextlib.suppress(OSError):
                remove_conversion_leftovers(p)
        raise
    finally:
        src.close()


def _verify(module: Any, tmp: Path, key: bytes | None, counts: dict[str, int]) -> None:
    """The converted file opens with its key, passes SQLite's check and holds every row."""
    conn = module.connect(str(tmp), isolation_level=None, check_same_thread=False)
    try:
        if key is not None:
            conn.execute(_key_pragma(key))
        ok = conn.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok" or _row_counts(conn) != counts:
            raise DatabaseError("error.db_convert_check", path=str(tmp), detail=str(ok)[:200])
    finally:
        conn.close()

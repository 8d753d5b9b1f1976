"""What every entry point sets up: settings, language, log file, database, acting worker."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from db.connection import (
    KEY_BYTES,
    Database,
    DatabaseError,
    convert_database,
    file_state,
    open_database,
)
from db.context import WriteContext
from db.workers import Worker, default_worker, worker_by_name
from kiosk.core.config import Settings, data_dir, database_path, key_path, load_settings
from kiosk.core.errors import UserError
from kiosk.core.i18n import set_language
from kiosk.core.logs import setup_logging
from kiosk.domain.categories import load_categories
from kiosk.security.roles import guard_write

log = logging.getLogger("kiosk.runtime")


@dataclass
class Runtime:
    settings: Settings
    db: Database
    worker: Worker | None
    ctx: WriteContext
    #: Held around every write on the shared connection (``KioskApp.write``, from any thread)
    #: and by :meth:`close`, so closing waits for a write in flight: closing a connection
    #: another thread is using crashes the interpreter (seen: an audit entry written on a
    #: thread while a test's runtime closed).
    write_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def conn(self):
        return self.db.conn

    def close(self) -> None:
        with self.write_lock:
            self.db.close()


def load(db: str | None = None, lang: str | None = None, worker: str | None = None) -> Settings:
    settings = load_settings(db=db, lang=lang, worker=worker)
    try:
        set_language(settings.lang)
    except ValueError:
        raise UserError("error.bad_language", exit_code=2, lang=settings.lang) from None
    setup_logging(data_dir(), settings.log_level)
    return settings


def open_runtime(settings: Settings, *, create: bool = True) -> Runtime:
    path: Path = database_path(settings)
    key = database_key(settings, path, create=create)
    try:
        database = open_database(path, create=create, key=key)
    except DatabaseError as exc:
        if exc.key == "error.db_key_wrong":
            raise UserError(
                "security.key_wrong", path=str(path), key_file=str(key_path(settings, path))
            ) from None
        raise
    conn = database.conn
    worker: Worker | None = None
    if settings.worker:
        worker = worker_by_name(conn, settings.worker)
        if worker is None:
            database.close()
            raise UserError("error.unknown_worker", name=settings.worker)
    else:
        worker = default_worker(conn)
    ctx = WriteContext.open(conn, worker.id if worker else None)
    ctx.guard = (
        guard_write  # every write checked against the acting worker (kiosk/security/roles.py)
    )
    ctx.categories = load_categories(settings)
    log.info(
        "opened database schema=%s worker=%s",
        conn.execute("PRAGMA user_version").fetchone()[0],
        worker.id if worker else None,
    )
    return Runtime(settings=settings, db=database, worker=worker, ctx=ctx)


def runtime_for(
    args: object, *, create: bool = True, writes: bool = False, acts: bool = True
) -> Runtime:
    """The runtime a subcommand works in: its ``--db``, ``--lang`` and ``--worker`` options
    (each falling back to the environment and the config file).

    The command acts as that worker only after their PIN (:func:`confirm_worker`) when it
    ``writes`` (changes, exports, prints) or when the worker reaches beyond a grid worker's
    own grids (a supervisor, an administrator): reading one's own grids needs none. ``acts``
    False: the command acts as nobody (enrolment, a sync's push and pull).
    """
    settings = load(
        getattr(args, "db", None), getattr(args, "lang", None), getattr(args, "worker", None)
    )
    runtime = open_runtime(settings, create=create)
    try:
        if acts:
            act_as_worker(runtime, args, writes=writes)
    except BaseException:
        runtime.close()
        raise
    return runtime


def act_as_worker(runtime: Runtime, args: object, *, writes: bool) -> None:
    """Ask the acting worker's PIN when the command needs it (:func:`needs_pin`); for a
    command that checks who is named first (``runtime_for(..., acts=False)``)."""
    if needs_pin(runtime, writes):
        confirm_worker(runtime, from_stdin=bool(getattr(args, "pin_stdin", False)))


def needs_pin(runtime: Runtime, writes: bool) -> bool:
    """Must the acting worker prove who they are before this command acts as them?"""
    from kiosk.security.roles import WORKER, setting_up

    worker = runtime.worker
    if worker is None or setting_up(runtime.conn):
        return False
    return writes or worker.role != WORKER


def confirm_worker(runtime: Runtime, *, from_stdin: bool) -> None:
    """Check the acting worker's PIN, typed on the terminal (not echoed) or the first line of
    standard input, with the same rules as the sign-in screen (kiosk/security/session.py: the growing
    wait after failures, the audit entry). Raises :class:`UserError` when it is wrong."""
    from db.connection import transaction
    from kiosk.core.i18n import t
    from kiosk.security.auth import read_pin
    from kiosk.security.session import attempt

    worker = runtime.worker
    assert worker is not None
    pin = read_pin(from_stdin=from_stdin, prompt=t("cli.pin_prompt", name=worker.name))

    def write(fn):  # type: ignore[no-untyped-def]
        with runtime.write_lock, transaction(runtime.conn):
            return fn(runtime.ctx)

    attempt(runtime.conn, write, worker.name, pin, remember=False)
    runtime.ctx.verified = True


# --- encryption at rest (docs/security.md) -------------------------------------------------


def database_key(settings: Settings, path: Path, *, create: bool = True) -> bytes | None:
    """The key to open the database at ``path`` with, or None for a plain database.

    An encrypted file needs its key file. With the ``encryption`` setting on, a new database
    gets a new key, and a plain one is encrypted here, before it is opened (the same
    crash-safe conversion as ``kiosk encryption on``).
    """
    state = file_state(path)
    if state == "encrypted":
        return read_key(key_path(settings, path), path)
    if not settings.encryption or state == "other" or (state == "missing" and not create):
        return None
    key = ensure_key(key_path(settings, path), make_folder=not settings.key_file)
    if state == "plain":
        log.info("encryption setting is on: encrypting the database")
        convert_database(path, key=None, new_key=key)
    return key


_KEY_COMMENT = (
    "# Grid Kiosk (网格通) database key: docs/security.md. Keep it secret, and keep a\n"
    "# copy apart from the database's backups: without it they cannot be read.\n"
)


def read_key(key_file: Path, db_path: Path | None = None) -> bytes:
    """The 32-byte key in ``key_file`` (64 hex digits; lines starting with # are comments)."""
    try:
        data = key_file.read_bytes()
    except FileNotFoundError:
        raise UserError(
            "security.key_missing", path=str(db_path or ""), key_file=str(key_file)
        ) from None
    except OSError as exc:
        raise UserError(
            "security.key_unreadable",
            key_file=str(key_file),
            detail=exc.strerror or type(exc).__name__,
        ) from None
    lines = [
        line.strip()
        for line in data.splitlines()
        if line.strip() and not line.strip().startswith(b"#")
    ]
    try:
        key = bytes.fromhex(lines[0].decode("ascii")) if len(lines) == 1 else b""
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise UserError("security.key_bad", key_file=str(key_file))
    if os.name == "posix":
        with contextlib.suppress(OSError):
            if key_file.stat().st_mode & 0o077:
                log.warning("key file is readable by other users: chmod 600 it")
    return key


def ensure_key(key_file: Path, *, make_folder: bool = True) -> bytes:
    """The key in ``key_file``, creating the file (mode 0600, 32 random bytes) if missing.

    The file is written under a temporary name, synced, then linked into place, so a crash
    never leaves a half-written key, and a key file that appeared meanwhile is never
    replaced: the key is on disk before any data is encrypted with it.

    Without ``make_folder`` (a ``key_file`` the person chose), its folder must exist: a USB
    key that is not plugged in must not turn into a folder on the laptop's own disk.
    """
    if key_file.exists():
        return read_key(key_file)
    if make_folder:
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif not key_file.parent.is_dir():
        raise UserError("security.key_folder_missing", folder=str(key_file.parent))
    key = secrets.token_bytes(KEY_BYTES)
    tmp = key_file.with_name(f".{key_file.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (_KEY_COMMENT + key.hex() + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            return read_key(key_file)
        except OSError:  # no hard links (a FAT-formatted USB key): rename, if still free
            if key_file.exists():
                return read_key(key_file)
            os.replace(tmp, key_file)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    with contextlib.suppress(OSError):
        fd = os.open(key_file.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    log.info("created a database key file")
    return key

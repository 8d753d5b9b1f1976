"""What every entry point sets up: settings, language, log file, database, acting worker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from db.connection import Database, open_database
from db.context import WriteContext
from db.workers import Worker, default_worker, worker_by_name
from kiosk.config import Settings, data_dir, database_path, load_settings
from kiosk.errors import UserError
from kiosk.i18n import set_language
from kiosk.logs import setup_logging

log = logging.getLogger("kiosk.runtime")


@dataclass
class Runtime:
    settings: Settings
    db: Database
    worker: Worker | None
    ctx: WriteContext

    @property
    def conn(self):
        return self.db.conn

    def close(self) -> None:
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
    database = open_database(path, create=create)
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
    log.info("opened database schema=%s worker=%s", conn.execute("PRAGMA user_version").fetchone()[0],
             worker.id if worker else None)
    return Runtime(settings=settings, db=database, worker=worker, ctx=ctx)


def runtime_for(args: object, *, create: bool = True) -> Runtime:
    """The runtime a subcommand works in: its ``--db``, ``--lang`` and ``--worker`` options
    (each falling back to the environment and the config file)."""
    settings = load(getattr(args, "db", None), getattr(args, "lang", None),
                    getattr(args, "worker", None))
    return open_runtime(settings, create=create)

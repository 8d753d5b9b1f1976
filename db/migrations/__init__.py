"""Migrations as code.

Each module ``mNNNN_name.py`` in this package defines ``VERSION = NNNN`` and
``def up(conn)``. ``PRAGMA user_version`` holds the highest version applied; every migration
runs in its own transaction together with the version bump, so a crash leaves the database at
the previous version, never half-way.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import sqlite3
from types import ModuleType


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run several statements inside the caller's transaction.

    ``Connection.executescript`` would COMMIT first, breaking the one-transaction-per-migration
    guarantee, so statements are split (with ``sqlite3.complete_statement``) and run one by one.
    """
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                conn.execute(buffer)
            buffer = ""
    if buffer.strip().strip(";").strip():
        conn.execute(buffer)


def _migrations() -> list[ModuleType]:
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    mods.sort(key=lambda m: m.VERSION)
    return mods


@functools.cache
def latest_version() -> int:
    """The schema this program writes (asked by every sync request: listed once, not each
    time; the package's modules do not change while it runs)."""
    mods = _migrations()
    return mods[-1].VERSION if mods else 0


class SchemaTooNew(Exception):
    """The database was written by a newer Grid Kiosk than this one."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the version now in force."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    mods = _migrations()
    if mods and current > mods[-1].VERSION:
        raise SchemaTooNew(
            f"database schema {current} is newer than this program ({mods[-1].VERSION})"
        )
    for mod in mods:
        if mod.VERSION <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            mod.up(conn)
            conn.execute(f"PRAGMA user_version = {int(mod.VERSION)}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        current = mod.VERSION
    return current

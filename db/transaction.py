"""One transaction: all of a block commits, or none of it does (nested blocks join the
outer one). The one write primitive every module of db/ shares; it imports nothing."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator


def _counter() -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield n


_depth = _counter()


@contextlib.contextmanager
def transaction(
    conn: sqlite3.Connection, *, immediate: bool = True
) -> Iterator[sqlite3.Connection]:
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

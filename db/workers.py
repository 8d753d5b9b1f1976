"""Workers (grid workers, supervisors, administrators) as the laptop knows them."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from db.context import WriteContext
from db.ids import uuid7

ROLES = ("worker", "supervisor", "admin")


@dataclass(frozen=True)
class Worker:
    id: str
    name: str
    role: str
    grids: tuple[str, ...]
    community: str | None
    disabled: bool


def _worker(row: sqlite3.Row) -> Worker:
    return Worker(row["id"], row["name"], row["role"], tuple(json.loads(row["grids"])),
                  row["community"], bool(row["disabled"]))


def create_worker(
    ctx: WriteContext, name: str, role: str, grids: list[str] | tuple[str, ...] = (),
    community: str | None = None,
) -> Worker:
    if role not in ROLES:
        raise ValueError(role)
    wid, hlc = uuid7(), ctx.stamp()
    fields = {"id": wid, "name": name, "role": role, "grids": json.dumps(list(grids)),
              "community": community}
    ctx.conn.execute(
        "INSERT INTO workers(id, name, role, grids, community, hlc, worker_id, device_id)"
        " VALUES (:id, :name, :role, :grids, :community, :hlc, :w, :d)",
        {**fields, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("worker", wid, "insert", fields, hlc)
    return Worker(wid, name, role, tuple(grids), community, False)


def worker_by_name(conn: sqlite3.Connection, name: str) -> Worker | None:
    row = conn.execute("SELECT * FROM workers WHERE name = ?", (name,)).fetchone()
    return _worker(row) if row else None


def worker_by_id(conn: sqlite3.Connection, wid: str) -> Worker | None:
    row = conn.execute("SELECT * FROM workers WHERE id = ?", (wid,)).fetchone()
    return _worker(row) if row else None


def default_worker(conn: sqlite3.Connection) -> Worker | None:
    """The first enabled grid worker (by grid), else any enabled worker."""
    row = conn.execute(
        "SELECT * FROM workers WHERE disabled = 0 ORDER BY role != 'worker', grids, name LIMIT 1"
    ).fetchone()
    return _worker(row) if row else None


def list_workers(conn: sqlite3.Connection) -> list[Worker]:
    return [_worker(r) for r in conn.execute("SELECT * FROM workers ORDER BY role, name")]

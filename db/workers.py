"""Workers (grid workers, supervisors, administrators) as the laptop knows them."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from db.context import WriteContext
from db.ids import uuid7

#: grid worker, community supervisor, administrator; who oversees a street or a district;
#: ``kiosk``: a resident self-service counter
ROLES = ("worker", "supervisor", "admin", "street", "district", "kiosk")


@dataclass(frozen=True)
class Worker:
    id: str
    name: str
    role: str
    grids: tuple[str, ...]
    community: str | None
    disabled: bool
    #: the street (role ``street``) or district (role ``district``) they oversee
    street: str | None = None
    district: str | None = None


def _worker(row: sqlite3.Row) -> Worker:
    return Worker(
        row["id"],
        row["name"],
        row["role"],
        tuple(json.loads(row["grids"])),
        row["community"],
        bool(row["disabled"]),
        row["street"] if "street" in row.keys() else None,
        row["district"] if "district" in row.keys() else None,
    )


def create_worker(
    ctx: WriteContext,
    name: str,
    role: str,
    grids: list[str] | tuple[str, ...] = (),
    community: str | None = None,
    pin_hash: str | None = None,
    *,
    street: str | None = None,
    district: str | None = None,
) -> Worker:
    if role not in ROLES:
        raise ValueError(role)
    wid, hlc = uuid7(), ctx.stamp()
    fields = {
        "id": wid,
        "name": name,
        "role": role,
        "grids": json.dumps(list(grids)),
        "community": community,
        "pin_hash": pin_hash,
    }
    # Only an overseer's record names a street or district: the others' stay as they were.
    if street is not None:
        fields["street"] = street
    if district is not None:
        fields["district"] = district
    cols = ", ".join(fields)
    ctx.conn.execute(
        f"INSERT INTO workers({cols}, hlc, worker_id, device_id)"
        f" VALUES ({', '.join(':' + c for c in fields)}, :hlc, :w, :d)",
        {**fields, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("worker", wid, "insert", fields, hlc)
    return Worker(wid, name, role, tuple(grids), community, False, street, district)


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


def _update(ctx: WriteContext, worker_id: str, column: str, value: object) -> None:
    row = ctx.conn.execute("SELECT hlc FROM workers WHERE id = ?", (worker_id,)).fetchone()
    if row is None:
        raise KeyError(worker_id)
    hlc = ctx.stamp()
    ctx.conn.execute(
        f"UPDATE workers SET {column} = ?, hlc = ?, worker_id = ?, device_id = ? WHERE id = ?",
        (value, hlc, ctx.worker_id, ctx.device_id, worker_id),
    )
    ctx.emit("worker", worker_id, "update", {column: value}, hlc, base_version=row["hlc"])


def set_pin_hash(ctx: WriteContext, worker_id: str, pin_hash: str) -> None:
    """Store a new PIN hash (replicated, so the worker signs in on every laptop after sync)."""
    _update(ctx, worker_id, "pin_hash", pin_hash)


def set_worker_grids(ctx: WriteContext, worker_id: str, codes: list[str]) -> None:
    """The grid codes a grid worker looks after (a JSON list, as stored)."""
    import json

    _update(ctx, worker_id, "grids", json.dumps(list(codes), ensure_ascii=False))


def set_disabled(ctx: WriteContext, worker_id: str, disabled: bool) -> None:
    _update(ctx, worker_id, "disabled", int(disabled))


def pin_hash_of(conn: sqlite3.Connection, worker_id: str) -> str | None:
    row = conn.execute("SELECT pin_hash FROM workers WHERE id = ?", (worker_id,)).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Failures:
    count: int
    blocked_until: str | None


def failures_of(conn: sqlite3.Connection, worker_id: str) -> Failures:
    row = conn.execute(
        "SELECT failures, blocked_until FROM signin_failures WHERE worker_id = ?", (worker_id,)
    ).fetchone()
    return Failures(row[0], row[1]) if row else Failures(0, None)


def record_failure(
    conn: sqlite3.Connection, worker_id: str, at: str, blocked_until: str | None
) -> int:
    """Count one more failed sign-in on this laptop; returns the count."""
    conn.execute(
        "INSERT INTO signin_failures(worker_id, failures, last_failed_at, blocked_until)"
        " VALUES (?, 1, ?, ?) ON CONFLICT(worker_id) DO UPDATE SET failures = failures + 1,"
        " last_failed_at = excluded.last_failed_at, blocked_until = excluded.blocked_until",
        (worker_id, at, blocked_until),
    )
    return failures_of(conn, worker_id).count


def clear_failures(conn: sqlite3.Connection, worker_id: str) -> None:
    conn.execute("DELETE FROM signin_failures WHERE worker_id = ?", (worker_id,))

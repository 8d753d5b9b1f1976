"""Responsible departments (责任单位) per community: written stamped and logged to the outbox
like any replicated record; read as plain dataclasses."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from db.context import WriteContext, now_iso
from db.ids import uuid7


@dataclass(frozen=True)
class Department:
    id: str
    community: str
    name: str
    retired_at: str | None

    @property
    def active(self) -> bool:
        return self.retired_at is None


def _department(row: sqlite3.Row) -> Department:
    return Department(row["id"], row["community"], row["name"], row["retired_at"])


def list_departments(
    conn: sqlite3.Connection, community: str | None = None, *, retired: bool = False
) -> list[Department]:
    """A community's departments (every community's when None), by name; the retired ones too
    when ``retired``."""
    where, params = [], []
    if community is not None:
        where.append("community = ?")
        params.append(community)
    if not retired:
        where.append("retired_at IS NULL")
    sql = "SELECT * FROM departments" + (" WHERE " + " AND ".join(where) if where else "")
    return [_department(r) for r in conn.execute(sql + " ORDER BY community, name", params)]


def find_department(conn: sqlite3.Connection, community: str, name: str) -> Department | None:
    row = conn.execute(
        "SELECT * FROM departments WHERE community = ? AND name = ?"
        " ORDER BY retired_at IS NOT NULL, id LIMIT 1",
        (community, name),
    ).fetchone()
    return _department(row) if row else None


def add_department(ctx: WriteContext, community: str, name: str) -> tuple[Department, bool]:
    """The community's department ``name``, added (or brought back from retirement) when
    needed; returns it and whether anything was written."""
    existing = find_department(ctx.conn, community, name)
    if existing is not None:
        if existing.active:
            return existing, False
        _update(ctx, existing.id, retired_at=None)
        return Department(existing.id, community, name, None), True
    did, hlc, now = uuid7(), ctx.stamp(), now_iso()
    fields = {"id": did, "community": community, "name": name}
    ctx.conn.execute(
        "INSERT INTO departments(id, community, name, created_at, updated_at, hlc, worker_id,"
        " device_id) VALUES (:id, :community, :name, :now, :now, :hlc, :w, :d)",
        {**fields, "now": now, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("department", did, "insert", fields, hlc)
    return Department(did, community, name, None), True


def retire_department(ctx: WriteContext, department_id: str) -> bool:
    """No longer offered when assigning (cases assigned to it keep its name)."""
    row = ctx.conn.execute(
        "SELECT retired_at FROM departments WHERE id = ?", (department_id,)
    ).fetchone()
    if row is None:
        raise KeyError(department_id)
    if row[0] is not None:
        return False
    _update(ctx, department_id, retired_at=now_iso())
    return True


def rename_department(ctx: WriteContext, department_id: str, name: str) -> bool:
    row = ctx.conn.execute("SELECT name FROM departments WHERE id = ?", (department_id,)).fetchone()
    if row is None:
        raise KeyError(department_id)
    if row[0] == name:
        return False
    _update(ctx, department_id, name=name)
    return True


def _update(ctx: WriteContext, department_id: str, **changes: object) -> None:
    row = ctx.conn.execute("SELECT hlc FROM departments WHERE id = ?", (department_id,)).fetchone()
    hlc = ctx.stamp()
    sets = ", ".join(f"{k} = :{k}" for k in changes)
    ctx.conn.execute(
        f"UPDATE departments SET {sets}, updated_at = :now, hlc = :hlc, worker_id = :w,"
        " device_id = :d WHERE id = :id",
        {
            **changes,
            "now": now_iso(),
            "hlc": hlc,
            "w": ctx.worker_id,
            "d": ctx.device_id,
            "id": department_id,
        },
    )
    ctx.emit("department", department_id, "update", changes, hlc, base_version=row[0])

"""The address hierarchy: grids (with their community, street and district) and compounds."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from db.context import WriteContext
from db.ids import uuid7
from db.normalize import compound_pinyin


@dataclass(frozen=True)
class Grid:
    id: str
    code: str
    name: str
    community: str
    street: str
    district: str


@dataclass(frozen=True)
class Compound:
    id: str
    grid_id: str
    name: str


def get_or_create_grid(
    ctx: WriteContext, code: str, name: str, community: str, street: str, district: str
) -> Grid:
    row = ctx.conn.execute("SELECT * FROM grids WHERE code = ?", (code,)).fetchone()
    if row:
        return _grid(row)
    gid, hlc = uuid7(), ctx.stamp()
    fields = dict(
        id=gid, code=code, name=name, community=community, street=street, district=district
    )
    ctx.conn.execute(
        "INSERT INTO grids(id, code, name, community, street, district, hlc, worker_id, device_id)"
        " VALUES (:id, :code, :name, :community, :street, :district, :hlc, :w, :d)",
        {**fields, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("grid", gid, "insert", fields, hlc)
    return Grid(**fields)


def get_or_create_compound(ctx: WriteContext, grid_id: str, name: str) -> Compound:
    row = ctx.conn.execute(
        "SELECT id, grid_id, name FROM compounds WHERE grid_id = ? AND name = ?", (grid_id, name)
    ).fetchone()
    if row:
        return Compound(row["id"], row["grid_id"], row["name"])
    cid, hlc = uuid7(), ctx.stamp()
    full, initials = compound_pinyin(name)
    ctx.conn.execute(
        "INSERT INTO compounds(id, grid_id, name, pinyin, initials, hlc, worker_id, device_id)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (cid, grid_id, name, full, initials, hlc, ctx.worker_id, ctx.device_id),
    )
    ctx.emit("compound", cid, "insert", {"id": cid, "grid_id": grid_id, "name": name}, hlc)
    return Compound(cid, grid_id, name)


def _grid(row: sqlite3.Row) -> Grid:
    return Grid(
        row["id"], row["code"], row["name"], row["community"], row["street"], row["district"]
    )


def list_grids(conn: sqlite3.Connection) -> list[Grid]:
    return [_grid(r) for r in conn.execute("SELECT * FROM grids ORDER BY code")]


def grid_by_code(conn: sqlite3.Connection, code: str) -> Grid | None:
    row = conn.execute("SELECT * FROM grids WHERE code = ? COLLATE NOCASE", (code,)).fetchone()
    return _grid(row) if row else None


def grid_by_name(conn: sqlite3.Connection, name: str) -> Grid | None:
    row = conn.execute("SELECT * FROM grids WHERE name = ?", (name,)).fetchone()
    return _grid(row) if row else None


def grid_by_id(conn: sqlite3.Connection, grid_id: str) -> Grid | None:
    row = conn.execute("SELECT * FROM grids WHERE id = ?", (grid_id,)).fetchone()
    return _grid(row) if row else None


def grid_of_household(conn: sqlite3.Connection, household_id: str) -> Grid | None:
    row = conn.execute(
        "SELECT g.* FROM households h JOIN grids g ON g.id = h.grid_id WHERE h.id = ?",
        (household_id,),
    ).fetchone()
    return _grid(row) if row else None


def grids_by_ids(conn: sqlite3.Connection, grid_ids: list[str]) -> list[Grid]:
    """These grids, in code order."""
    if not grid_ids:
        return []
    marks = ",".join("?" * len(grid_ids))
    rows = conn.execute(f"SELECT * FROM grids WHERE id IN ({marks}) ORDER BY code", grid_ids)
    return [_grid(r) for r in rows]


def compound_by_name(conn: sqlite3.Connection, grid_id: str, name: str) -> Compound | None:
    row = conn.execute(
        "SELECT id, grid_id, name FROM compounds WHERE grid_id = ? AND name = ?", (grid_id, name)
    ).fetchone()
    return Compound(row["id"], row["grid_id"], row["name"]) if row else None


def compound_names(conn: sqlite3.Connection, grid_ids: list[str]) -> list[str]:
    """The names of these grids' compounds (offered while a new household's is typed)."""
    if not grid_ids:
        return []
    marks = ",".join("?" * len(grid_ids))
    return [
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT name FROM compounds WHERE grid_id IN ({marks}) ORDER BY name",
            grid_ids,
        )
    ]

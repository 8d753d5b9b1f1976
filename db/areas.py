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
    retired_at: str | None = None


@dataclass(frozen=True)
class Compound:
    id: str
    grid_id: str
    name: str
    retired_at: str | None = None


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
        "SELECT id, grid_id, name, retired_at FROM compounds WHERE grid_id = ? AND name = ?",
        (grid_id, name),
    ).fetchone()
    if row:
        if row["retired_at"] is not None:  # households again: in use again
            update_area(ctx, "compound", row["id"], retired_at=None)
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
        row["id"],
        row["code"],
        row["name"],
        row["community"],
        row["street"],
        row["district"],
        row["retired_at"] if "retired_at" in row.keys() else None,
    )


def list_grids(conn: sqlite3.Connection, *, retired: bool = True) -> list[Grid]:
    """Every grid by code (``retired`` False: only those still in use)."""
    where = "" if retired else " WHERE retired_at IS NULL"
    return [_grid(r) for r in conn.execute(f"SELECT * FROM grids{where} ORDER BY code")]


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
    """The names of these grids' compounds in use (offered while a new household's is typed)."""
    if not grid_ids:
        return []
    marks = ",".join("?" * len(grid_ids))
    return [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT name FROM compounds"
            f" WHERE grid_id IN ({marks}) AND retired_at IS NULL ORDER BY name",
            grid_ids,
        )
    ]


@dataclass(frozen=True)
class AreaCount:
    """A grid or compound with how many households live in it (moved out and empty flats
    not counted)."""

    id: str
    name: str
    households: int
    retired_at: str | None


def grid_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Households lived in, per grid id."""
    return dict(
        conn.execute(
            "SELECT grid_id, count(*) FROM households WHERE status = '' AND forgotten_at IS NULL"
            " GROUP BY grid_id"
        ).fetchall()
    )


def compounds_of_grid(conn: sqlite3.Connection, grid_id: str) -> list[AreaCount]:
    """A grid's compounds by name, each with its households lived in."""
    rows = conn.execute(
        "SELECT c.id, c.name, c.retired_at, count(h.id) FROM compounds c"
        " LEFT JOIN households h ON h.compound_id = c.id AND h.status = ''"
        " AND h.forgotten_at IS NULL WHERE c.grid_id = ? GROUP BY c.id ORDER BY c.name",
        (grid_id,),
    ).fetchall()
    return [AreaCount(r[0], r[1], r[3], r[2]) for r in rows]


def compound_by_id(conn: sqlite3.Connection, compound_id: str) -> Compound | None:
    row = conn.execute("SELECT * FROM compounds WHERE id = ?", (compound_id,)).fetchone()
    return Compound(row["id"], row["grid_id"], row["name"], row["retired_at"]) if row else None


def lived_in(conn: sqlite3.Connection, *, grid_id: str = "", compound_id: str = "") -> int:
    """Households somebody lives in, in a grid or a compound."""
    column, value = ("grid_id", grid_id) if grid_id else ("compound_id", compound_id)
    return conn.execute(
        f"SELECT count(*) FROM households WHERE {column} = ? AND status = ''"
        " AND forgotten_at IS NULL",
        (value,),
    ).fetchone()[0]


def update_area(ctx: WriteContext, entity: str, record_id: str, **changes: object) -> bool:
    """Change a grid's or compound's fields (name, community, street, district, retired_at),
    stamped and logged; returns False when nothing changed."""
    table = {"grid": "grids", "compound": "compounds"}[entity]
    row = ctx.conn.execute(f"SELECT * FROM {table} WHERE id = ?", (record_id,)).fetchone()
    if row is None:
        raise KeyError(record_id)
    diff = {k: v for k, v in changes.items() if row[k] != v}
    if not diff:
        return False
    hlc = ctx.stamp()
    extra = {}
    if entity == "compound" and "name" in diff:
        extra["pinyin"], extra["initials"] = compound_pinyin(str(diff["name"]))
    sets = ", ".join(f"{k} = :{k}" for k in {**diff, **extra})
    ctx.conn.execute(
        f"UPDATE {table} SET {sets}, hlc = :hlc, worker_id = :w, device_id = :d WHERE id = :id",
        {**diff, **extra, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id, "id": record_id},
    )
    ctx.emit(entity, record_id, "update", diff, hlc, base_version=row["hlc"])
    return True


def first_grid_of_community(conn: sqlite3.Connection, community: str) -> str | None:
    """The id of the community's first grid by code (None: it has none)."""
    row = conn.execute(
        "SELECT id FROM grids WHERE community = ? ORDER BY code LIMIT 1", (community,)
    ).fetchone()
    return row[0] if row else None


def grid_ids(conn: sqlite3.Connection) -> set[str]:
    """The ids of every grid this database holds."""
    return {r[0] for r in conn.execute("SELECT id FROM grids")}


def area_has_grid(conn: sqlite3.Connection, level: str, name: str) -> bool:
    """Does some grid of this database lie in the street (``level`` "street") or district
    ("district") ``name``?"""
    column = {"street": "street", "district": "district"}[level]
    found = conn.execute(f"SELECT 1 FROM grids WHERE {column} = ? LIMIT 1", (name,))
    return found.fetchone() is not None

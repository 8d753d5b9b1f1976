"""Where a record lives on this laptop: the grid of each record a write touches or names,
found from the records as this replica holds them (the declarations in
:mod:`db.replication`). The hub decides the same from its own knowledge (kiosk/hub/scope.py);
this is the laptop's side, so a write outside the worker's reach is refused before it is
made, not only when it reaches the hub."""

from __future__ import annotations

import sqlite3
from typing import Any

from db.replication import ENTITIES

#: The grid of a record this replica does not hold (its write fails on its own anyway).
UNKNOWN = "?"


def record_grid(
    conn: sqlite3.Connection, entity: str, entity_id: str, _depth: int = 0
) -> str | None:
    """The grid ``entity_id`` belongs to: its owner's, through the first record it names
    (None: a global record; :data:`UNKNOWN`: not on this laptop)."""
    if entity == "grid":
        return entity_id
    ent = ENTITIES.get(entity)
    if ent is None or not ent.refs or _depth > 4:
        return None
    fields = ", ".join(f for f, _ in ent.refs)
    row = conn.execute(
        f"SELECT {fields} FROM {ent.table} WHERE {ent.key} = ?", (entity_id,)
    ).fetchone()
    if row is None:
        return UNKNOWN
    for (_, target), value in zip(ent.refs, row, strict=True):
        if value:
            return record_grid(conn, target, value, _depth + 1)
    return None


def write_grids(
    conn: sqlite3.Connection, entity: str, entity_id: str, kind: str, payload: dict[str, Any]
) -> list[tuple[str, str | None]]:
    """(field, grid) of the record a write changes (``"id"``: an update's record as it is)
    and of every record its payload names."""
    ent = ENTITIES.get(entity)
    out: list[tuple[str, str | None]] = []
    if kind == "update":
        out.append(("id", record_grid(conn, entity, entity_id)))
    elif entity == "grid":
        out.append(("id", entity_id))
    if ent is not None:
        for fname, target in ent.refs:
            value = payload.get(fname)
            if isinstance(value, str) and value:
                out.append((fname, record_grid(conn, target, value)))
    return out

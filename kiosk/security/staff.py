"""Adding a worker (the command ``kiosk workers add`` and the office set-up screen): the
name, the role's grids or community, the PIN's rules, then the stored hash. Refusals say what
is wrong; nothing is written unless everything holds."""

from __future__ import annotations

import sqlite3

from db.areas import area_has_grid, grid_by_code
from db.context import WriteContext
from db.errors import UserError
from db.workers import Worker, create_worker, worker_by_name
from kiosk.security.auth import check_pin_rules, hash_pin

MAX_NAME = 64


def check_worker(
    conn: sqlite3.Connection,
    name: str,
    role: str,
    grids: list[str] | tuple[str, ...] = (),
    community: str | None = None,
    *,
    street: str | None = None,
    district: str | None = None,
) -> tuple[str, list[str], str | None]:
    """(name, grid codes, community) of a worker that may be added, else a UserError. A grid
    worker needs a grid, a supervisor a community (their grids' when not given), a street's
    overseer a street and a district's a district, each one the laptop knows a grid of."""
    name = " ".join(name.split())
    if not name:
        raise UserError("error.worker_unknown", exit_code=2, name=name)
    if len(name) > MAX_NAME:
        raise UserError("error.field_too_long", exit_code=2, field=name[:20], limit=MAX_NAME)
    if worker_by_name(conn, name) is not None:
        raise UserError("error.worker_exists", exit_code=2, name=name)
    codes = []
    for code in grids:
        grid = grid_by_code(conn, code.strip())
        if grid is None:
            raise UserError("error.worker_grid_unknown", exit_code=2, grid=code)
        codes.append(grid.code)
        community = community or grid.community
    if role == "worker" and not codes:
        raise UserError("error.worker_grid_required", exit_code=2)
    if role == "kiosk" and not community:
        raise UserError("resident.cli.counter_needs_community", exit_code=2)
    if role == "supervisor" and not community:
        raise UserError("error.worker_community_required", exit_code=2)
    for level, value in (("street", street), ("district", district)):
        if role != level:
            if value:  # a street names no one else's reach
                raise UserError("error.worker_area_for_role", exit_code=2, option=f"--{level}")
            continue
        if not value or not value.strip():
            raise UserError("error.worker_area_required", exit_code=2, option=f"--{level}")
        if not area_has_grid(conn, level, value.strip()):
            raise UserError("error.worker_area_unknown", exit_code=2, area=value.strip())
    return name, codes, community


def add_worker(
    ctx: WriteContext,
    name: str,
    role: str,
    *,
    grids: list[str] | tuple[str, ...] = (),
    community: str | None = None,
    street: str | None = None,
    district: str | None = None,
    pin: str,
) -> Worker:
    """A new worker with their PIN (inside the caller's transaction)."""
    name, codes, community = check_worker(
        ctx.conn, name, role, grids, community, street=street, district=district
    )
    pin_hash = hash_pin(check_pin_rules(pin))
    return create_worker(
        ctx,
        name,
        role,
        codes,
        community,
        pin_hash=pin_hash,
        street=street.strip() if street else None,
        district=district.strip() if district else None,
    )

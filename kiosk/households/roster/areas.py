"""Grids a roster names that the database does not have yet: listed once (the whole import is
refused, nothing written), or, when an administrator asks (``--create-areas``), created from
the roster's own 街道 / 社区 / 网格 columns. See docs/roster-import.md."""

from __future__ import annotations

import hashlib
import re

from db.areas import Grid, get_or_create_grid, grid_by_name, list_grids
from db.context import WriteContext
from db.limits import FIELD_TEXT

#: characters of a name a message shows (a cell may hold a page)
SHOWN_CHARS = 40

#: a 网格 cell that is already a code (G003, 3-12): kept as the grid's code
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,15}")


def describe_unknown(unknown: dict[tuple[str, str, str], int], sep: str, limit: int = 8) -> str:
    """The unknown grids as a person reads them, ``sep`` between: 新伟社区 / 第三网格 (the
    first ``limit``, then an ellipsis)."""
    names = [
        " / ".join(p[:SHOWN_CHARS] for p in (community, grid) if p)
        for _, community, grid in unknown
    ]
    return sep.join(names[:limit]) + ("…" if len(names) > limit else "")


def grid_name(community: str, grid: str) -> str:
    """The name a created grid gets: the community's name before the grid's, as the demo and
    most rosters write them (新伟社区第三网格), so two communities' 第三网格 stay apart."""
    return grid if grid.startswith(community) else community + grid


def grid_code(street: str, community: str, grid: str) -> str:
    """A code for a created grid: the cell itself when it is one (G003), else made from the
    names, so the same roster gives the same code on every import and every machine."""
    if _CODE.fullmatch(grid):
        return grid.upper()
    digest = hashlib.sha256(f"{street}/{community}/{grid}".encode()).hexdigest()
    return "W" + digest[:7].upper()


class AreaMaker:
    """Creates, as a roster is read, each grid it names that the database lacks (inside the
    caller's transaction): a grid needs its street and community, and names a record may
    hold (db/limits.py); a name that is not one is left unknown (its rows are rejected as
    such). Given to :func:`kiosk.households.roster.apply.plan_import`, so the file is read
    once: reading it again after creating its grids was half of a first import's time.
    ``before_first``: called once before the first grid is created (a permission check)."""

    def __init__(self, ctx: WriteContext, before_first=None) -> None:  # type: ignore[no-untyped-def]
        self.ctx = ctx
        self.before_first = before_first
        self.created: list[Grid] = []
        self._district: str | None = None

    def __call__(self, street: str, community: str, grid: str) -> Grid | None:
        name = grid_name(community, grid)
        if (
            not (street and community and grid)
            or max(map(len, (name, street, community))) > (FIELD_TEXT["name"])
        ):
            return None
        existing = grid_by_name(self.ctx.conn, name)
        if existing is not None:
            return existing
        if self._district is None:
            if self.before_first is not None:
                self.before_first()
            districts = {g.district for g in list_grids(self.ctx.conn) if g.district}
            self._district = districts.pop() if len(districts) == 1 else ""
        made = get_or_create_grid(
            self.ctx,
            grid_code(street, community, grid),
            name,
            community,
            street,
            self._district,
        )
        self.created.append(made)
        return made

"""Privacy rules (PIPL; docs/security.md "Privacy"): who may erase a household or export
personal data and for which grids, and the confirmation a person gives before either.

* Phone and ID numbers are masked by :func:`kiosk.domain.masking.mask` in every list, screen
  and export. Only a supervisor's explicit full export (``--full``) carries them in clear,
  and it is audited.
* ``households forget`` is for supervisors (their community's households) and
  administrators (any), never grid workers.
* An export covers grids inside the acting worker's scope: named grids are checked, none
  named means all of the worker's own grids.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from db.areas import grid_by_id, list_grids
from db.workers import Worker
from kiosk.core.errors import UserError
from kiosk.core.i18n import t
from kiosk.security.roles import grid_in_scope, require, require_in_grid


@dataclass(frozen=True)
class GridRef:
    id: str
    code: str
    community: str


def _grid(conn: sqlite3.Connection, text: str) -> GridRef | None:
    row = conn.execute(
        "SELECT id, code, community FROM grids WHERE code = ? OR id = ?",
        (text.strip(), text.strip()),
    ).fetchone()
    return GridRef(row[0], row[1], row[2]) if row else None


def require_forget(worker: Worker | None, conn: sqlite3.Connection, household_id: str) -> Worker:
    """The acting worker if they may erase this household (supervisor of its community, or
    an administrator), else a :class:`UserError` (exit 3) naming the rule."""
    row = conn.execute(
        "SELECT g.code, g.community FROM households h JOIN grids g"
        " ON g.id = h.grid_id WHERE h.id = ?",
        (household_id,),
    ).fetchone()
    if row is None:
        return require(worker, "household.forget")
    return require(worker, "household.forget", grid=row[0], community=row[1])


def export_grids(
    worker: Worker | None, conn: sqlite3.Connection, requested: Sequence[str], *, full: bool
) -> list[GridRef]:
    """The grids an export may cover. ``requested`` grid codes (or ids) are each checked
    against the worker's scope; none requested means every grid of the worker's scope.

    Raises :class:`UserError`: exit 2 for an unknown grid, exit 3 when the worker may not
    export (a full export is for supervisors only) or a grid is outside their scope.
    Nothing has been written when it does.
    """
    action = "export.full" if full else "export.masked"
    who = require(worker, action)
    grids: list[GridRef] = []
    for text in dict.fromkeys(requested):
        g = _grid(conn, text)
        if g is None:
            raise UserError("privacy.unknown_grid", exit_code=2, grid=text[:40])
        require_in_grid(who, action, grid_by_id(conn, g.id))
        grids.append(g)
    if grids:
        return grids
    rows = [(g.id, g.code, g.community) for g in list_grids(conn) if grid_in_scope(who, g)]
    if not rows:
        raise UserError("privacy.no_grids", exit_code=3, name=who.name)
    return [GridRef(r[0], r[1], r[2]) for r in rows]


def confirm(
    prompt: str, *, yes: bool, stdin: TextIO | None = None, stderr: TextIO | None = None
) -> None:
    """Go on only if the person confirms: ``--yes`` in a script, else a typed ``y`` on a
    terminal. Raises :class:`UserError` (exit 2 without a terminal, 1 when declined)."""
    if yes:
        return
    stream = stdin or sys.stdin
    if not stream.isatty():
        raise UserError("privacy.needs_yes", exit_code=2)
    out = stderr or sys.stderr
    out.write(prompt + " " + t("privacy.confirm_hint") + " ")
    out.flush()
    answer = stream.readline().strip().lower()
    if answer not in ("y", "yes", "是", "确认"):
        raise UserError("privacy.declined", exit_code=1)

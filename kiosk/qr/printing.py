"""Printing label sheets and case slips: choose, plan, render, then write.

Shared by ``kiosk labels``/``kiosk slip`` and the labels screen. The order makes bad input
and failures harmless: the font, the selection and the output folder are checked first; the
PDF is rendered to a temporary file beside the target; only then are new labels written (one
transaction) and the file moved into place. A run that fails anywhere writes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from db.context import WriteContext
from db.labels import commit_planned, ensure_case_slip, plan_household_labels
from kiosk.core.errors import UserError
from kiosk.qr.fonts import CjkFont
from kiosk.qr.labels_pdf import LAYOUTS, LabelItem, Progress, render_labels
from kiosk.qr.payload import make, new_code

T = TypeVar("T")
Writer = Callable[[Callable[[WriteContext], T]], T]

_ORDER = (
    " ORDER BY g.street, g.community, g.code, c.pinyin, c.name,"
    " CAST(h.building AS INTEGER), h.building, CAST(h.unit AS INTEGER), h.unit,"
    " CAST(h.room AS INTEGER), h.room"
)
_SELECT = (
    "SELECT h.id, c.name AS compound, h.building, h.unit, h.room, g.code AS grid_code"
    " FROM households h"
    " JOIN compounds c ON c.id = h.compound_id JOIN grids g ON g.id = h.grid_id"
)


@dataclass
class Selection:
    """Which households get labels; all empty means every household ``within`` the worker's
    grids (ids; None: every grid)."""

    grid: str | None = None
    compound: str | None = None
    household_ids: list[str] = field(default_factory=list)
    within: list[str] | None = None


@dataclass(frozen=True)
class PrintSummary:
    path: str
    labels: int
    pages: int
    created: int
    reused: int
    payloads: tuple[str, ...] = ()  # what the QR codes hold, in print order


def select_households(conn: sqlite3.Connection, sel: Selection) -> list[sqlite3.Row]:
    """The households to label, in address order; :class:`UserError` for an unknown grid,
    compound or household, and when nothing matches."""
    where, params = "", []
    if sel.grid:
        grid = conn.execute(
            "SELECT id FROM grids WHERE code = ? OR name = ?", (sel.grid.strip(), sel.grid.strip())
        ).fetchone()
        if grid is None:
            raise UserError("qr.print.unknown_grid", grid=sel.grid[:60])
        if sel.within is not None and grid[0] not in sel.within:
            raise UserError("qr.print.out_of_reach", exit_code=3, grid=sel.grid[:60])
        where, params = " WHERE h.grid_id = ?", [grid[0]]
    elif sel.compound:
        text = sel.compound.strip()
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM compounds WHERE name = ? OR pinyin = ? OR initials = ?",
                (text, text.lower().replace(" ", ""), text.lower()),
            )
        ]
        if not ids:
            raise UserError("qr.print.unknown_compound", compound=text[:60])
        where, params = f" WHERE h.compound_id IN ({','.join('?' * len(ids))})", ids
    elif sel.household_ids:
        wanted = list(dict.fromkeys(h.strip() for h in sel.household_ids if h.strip()))
        rows = []
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            rows += conn.execute(
                _SELECT + f" WHERE h.id IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
        known = {r["id"] for r in rows}
        missing = [h for h in wanted if h not in known]
        if missing:
            raise UserError("qr.print.unknown_household", id=missing[0][:60], n=len(missing))
        where, params = " WHERE h.id IN (SELECT value FROM json_each(?))", [json.dumps(wanted)]
    # A household whose personal data was erased gets no label (its old one was retired).
    where += (" AND" if where else " WHERE") + " h.forgotten_at IS NULL"
    if sel.within is not None:
        where += " AND h.grid_id IN (SELECT value FROM json_each(?))"
        params = [*params, json.dumps(sel.within)]
    rows = conn.execute(_SELECT + where + _ORDER, params).fetchall()
    if not rows:
        raise UserError("qr.print.nothing")
    return rows


def _check_output(out: str | Path) -> Path:
    path = Path(out).expanduser()
    if path.is_dir():
        raise UserError("qr.print.out_is_dir", path=str(path))
    if not path.parent.is_dir():
        raise UserError("qr.print.no_dir", path=str(path.parent))
    if not os.access(path.parent, os.W_OK):
        raise UserError("qr.print.no_write", path=str(path.parent))
    return path


@contextlib.contextmanager
def _staged(path: Path):
    """A temporary file beside ``path``: moved into place on success, removed on failure."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def print_labels(
    conn: sqlite3.Connection,
    write: Writer[Any],
    sel: Selection,
    out: str | Path,
    font: CjkFont,
    *,
    layout: str = "3x8",
    reprint: bool = False,
    progress: Progress | None = None,
) -> PrintSummary:
    """Label sheets for ``sel`` into ``out`` (A4 PDF); see the module docstring for the order
    of the steps. ``conn`` reads; ``write(fn)`` runs ``fn(ctx)`` in one transaction."""
    if layout not in LAYOUTS:
        raise UserError("qr.print.bad_layout", layout=str(layout)[:20], known=", ".join(LAYOUTS))
    path = _check_output(out)
    rows = select_households(conn, sel)
    plans = plan_household_labels(conn, [r["id"] for r in rows], reprint=reprint)
    items = [
        LabelItem(make("HH", p.code), r["compound"], r["building"], r["unit"], r["room"])
        for r, p in zip(rows, plans, strict=True)
    ]
    # Audited with the labels it creates: format, count, the grids (labels show an address
    # and a code, never a name or number: masked).
    detail = {
        "format": "pdf",
        "rows": len(items),
        "masked": True,
        "layout": layout,
        "reprint": reprint,
        "grids": sorted({r["grid_code"] for r in rows}),
    }
    only = rows[0]["id"] if len(rows) == 1 else None

    def commit(ctx: WriteContext) -> int:
        created = commit_planned(ctx, plans, reprint=reprint)
        ctx.audit("print", "label", None, household_id=only, detail=detail)
        return created

    with _staged(path) as tmp:
        pages = render_labels(items, tmp, font, layout=layout, progress=progress)
        created = write(commit)
        os.replace(tmp, path)
    return PrintSummary(
        str(path),
        len(items),
        pages,
        created,
        len(items) - created,
        tuple(item.payload.text for item in items),
    )


def print_case_slip(
    conn: sqlite3.Connection,
    write: Writer[Any],
    case_text: str,
    out: str | Path,
    font: CjkFont,
    *,
    reprint: bool = False,
) -> tuple[str, str]:
    """The slip for the case named by ``case_text`` (id or number) into ``out``; returns
    (case number, readable CS1 code). ``reprint``: a new code, the earlier slip retired (a
    scan of it says it was replaced)."""
    from db.cases import find_case_id
    from db.labels import case_slip
    from kiosk.qr.slip import render_slip, slip_data

    path = _check_output(out)
    case_id = find_case_id(conn, case_text)
    if case_id is None:
        raise UserError("qr.slip.unknown_case", case=case_text[:60])
    existing = None if reprint else case_slip(conn, case_id)
    payload = make("CS", existing.code if existing else new_code())
    data = slip_data(conn, case_id, payload)
    if data is None:
        raise UserError("qr.slip.unknown_case", case=case_text[:60])

    def commit(ctx: WriteContext) -> None:
        if reprint:
            from db.labels import reprint_case_slip

            reprint_case_slip(ctx, case_id, payload.code)
        elif existing is None:
            ensure_case_slip(ctx, case_id, payload.code)
        grid, household = ctx.conn.execute(
            "SELECT g.code, (SELECT household_id FROM case_households WHERE case_id = c.id"
            " ORDER BY hlc LIMIT 1) FROM cases c LEFT JOIN grids g ON g.id = c.grid_id"
            " WHERE c.id = ?",
            (case_id,),
        ).fetchone()
        # The slip shows the case number, category, date and worker: no resident's data.
        ctx.audit(
            "print",
            "case",
            case_id,
            household_id=household,
            detail={
                "format": "pdf",
                "rows": 1,
                "masked": True,
                "slip": True,
                "grids": [grid] if grid else [],
            },
        )

    with _staged(path) as tmp:
        render_slip(data, tmp, font)
        try:
            write(commit)
        except ValueError:
            raise UserError("qr.slip.changed") from None
        os.replace(tmp, path)
    return data.number, payload.readable

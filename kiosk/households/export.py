"""The household roster as a spreadsheet (``kiosk households export``): one row per member,
phone and ID numbers masked unless a supervisor asks for the full export (kiosk/security/privacy.py).

Forgotten households are left out (there is nobody in them to list). Rows stream from SQL
into the writer; the file is written beside its final name and renamed only after the
export has been audited, so a refused or failed export leaves no file behind. Text cells are
neutralised against formula injection as the ledgers are (:func:`kiosk.core.spreadsheet.neutralise`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from kiosk.core.csv_sheet import write_csv
from kiosk.core.errors import UserError
from kiosk.core.i18n import t
from kiosk.core.spreadsheet import INT, TEXT, write_sheet
from kiosk.domain.masking import mask

COLUMNS = (
    "grid",
    "compound",
    "address",
    "name",
    "relation",
    "gender",
    "birth_year",
    "phone",
    "id_number",
    "member_tags",
    "household_tags",
    "household_id",
)
WIDTHS = (8, 14, 14, 10, 8, 6, 8, 14, 20, 14, 14, 38)


def headers() -> list[str]:
    return [t(f"privacy.export.col.{c}") for c in COLUMNS]


def _clear(_field: str, value: object) -> str:
    """A full export's phone and ID numbers: as stored."""
    return "" if value is None else str(value)


def rows(conn: sqlite3.Connection, grid_ids: Sequence[str], *, full: bool) -> Iterator[list]:
    """One list per member of the grids' households, in walking order."""
    from kiosk.domain.present import tags

    marks = ",".join("?" * len(grid_ids))
    show = _clear if full else mask
    short = t("address.short")
    for r in conn.execute(
        "SELECT g.code, c.name, h.building, h.unit, h.room, m.name, m.relation, m.gender,"
        " m.birth_year, m.phone, m.id_number, m.tags, h.tags, h.id"
        " FROM households h JOIN grids g ON g.id = h.grid_id"
        " JOIN compounds c ON c.id = h.compound_id"
        " JOIN members m ON m.household_id = h.id"
        f" WHERE h.grid_id IN ({marks}) AND h.forgotten_at IS NULL"
        " ORDER BY g.code, c.name, CAST(h.building AS INTEGER), h.building,"
        " CAST(h.unit AS INTEGER), CAST(h.room AS INTEGER), h.room, m.position",
        list(grid_ids),
    ):
        yield [
            r[0],
            r[1],
            short.format(building=r[2], unit=r[3], room=r[4]),
            r[5],
            r[6],
            r[7],
            r[8],
            show("phone", r[9]),
            show("id_number", r[10]),
            tags(r[11]),
            tags(r[12]),
            r[13],
        ]


def _kinds() -> list[str]:
    return [INT if c == "birth_year" else TEXT for c in COLUMNS]  # the one number


def _write_xlsx(path: Path, data: Iterator[list]) -> int:
    return write_sheet(
        path, t("privacy.export.sheet"), headers(), list(zip(_kinds(), WIDTHS, strict=True)), data
    )


def _write_csv(path: Path, data: Iterator[list]) -> int:
    return write_csv(path, headers(), _kinds(), data)


def export(
    conn: sqlite3.Connection,
    grid_ids: Sequence[str],
    out: Path,
    *,
    full: bool,
    before_publish: Callable[[int], None] | None = None,
) -> int:
    """Write the roster of ``grid_ids`` to ``out`` (.xlsx or .csv); returns the rows written.

    ``before_publish(rows)`` runs after the rows are written and before the file takes its
    name (the caller audits there): if it raises, no file is left.
    """
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UserError("privacy.export.bad_out", exit_code=2, path=str(out))
    tmp = out.with_name(f".{out.name}.part")
    try:
        n = (_write_xlsx if suffix == ".xlsx" else _write_csv)(tmp, rows(conn, grid_ids, full=full))
        if before_publish is not None:
            before_publish(n)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return n

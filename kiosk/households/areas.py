"""The address hierarchy of a real community: its grids (网格) with their community, street
office and district, and each grid's compounds (小区).

* An **areas file** (.xlsx or .csv, read with the roster reader's limits) lists one grid per
  row: 区, 街道, 社区, 网格 (its name), optionally its code (made up from the names when
  absent, the same on every import and every machine), and the grid worker's name. Importing
  it again changes nothing; a grid whose code is known takes the file's names (a rename).
* Grids are an administrator's (only the administrator's device writes them, the hub
  refuses them from any other); compounds are also their community's supervisor's.
* Nothing is deleted: a grid or compound is retired, and only when nobody lives in it any
  more; its households' history keeps its name.

See docs/areas.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from db.areas import (
    Compound,
    Grid,
    compound_by_id,
    get_or_create_compound,
    get_or_create_grid,
    grid_by_code,
    grid_by_id,
    grid_by_name,
    lived_in,
    update_area,
)
from db.context import WriteContext, now_iso
from db.errors import UserError
from db.limits import FIELD_TEXT
from db.workers import Worker, set_worker_grids, worker_by_name
from kiosk.households.roster.areas import grid_code, grid_name
from kiosk.households.roster.fields import cell_text, clean_header, is_formula

#: the columns of an areas file: field -> the headers that name it
HEADERS = {
    "district": ("区", "区县", "所属区", "区（县）", "district"),
    "street": ("街道", "街道办", "街道办事处", "所属街道", "乡镇街道", "street"),
    "community": ("社区", "所属社区", "社区居委会", "居委会", "community"),
    "grid": ("网格", "网格名称", "网格名", "grid"),
    "code": ("网格编号", "网格编码", "编号", "编码", "code"),
    "worker": ("网格员", "网格员姓名", "专职网格员", "worker"),
    "phone": ("电话", "联系电话", "网格员电话", "手机", "phone"),
}
MAX_ROWS = 5_000
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,15}")
MAX_NAME = FIELD_TEXT["name"]


@dataclass(frozen=True)
class AreaRow:
    number: int
    district: str
    street: str
    community: str
    grid: str
    code: str
    worker: str


@dataclass
class AreasReport:
    created: list[Grid] = field(default_factory=list)
    renamed: list[Grid] = field(default_factory=list)
    known: list[Grid] = field(default_factory=list)
    #: (grid code, worker name): the grid added to a worker's grids
    linked: list[tuple[str, str]] = field(default_factory=list)
    #: (grid code, worker name): no such worker yet (kiosk workers add NAME --grid CODE)
    no_worker: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _name(value: str, what: str) -> str:
    name = re.sub(r"\s+", " ", cell_text(value))
    if not name:
        raise UserError("areas.error.empty", exit_code=2, what=what)
    if len(name) > MAX_NAME or name.isdigit():
        raise UserError("areas.error.bad_name", exit_code=2, what=what, name=name[:20])
    return name


def read_areas(path: Path) -> list[AreaRow | tuple[int, str]]:
    """The rows of an areas file, each an :class:`AreaRow` or (row number, why not)."""
    from kiosk.core.i18n import t
    from kiosk.households.roster.read import RosterUnreadable, open_roster

    try:
        sheet_file = open_roster(path)
    except RosterUnreadable as exc:
        raise UserError(f"roster.file.{exc.key}", exit_code=2, **exc.params) from None
    out: list[AreaRow | tuple[int, str]] = []
    try:
        for sheet in sheet_file.sheets():
            cols: dict[str, int] | None = None
            for row in sheet.rows:
                if row.number > MAX_ROWS:
                    raise UserError("areas.error.too_many", exit_code=2, max=MAX_ROWS)
                if cols is None:
                    headers = [clean_header(v).lower() for v in row.values]
                    found = {
                        name: next(i for i, h in enumerate(headers) if h in words)
                        for name, words in HEADERS.items()
                        if any(h in words for h in headers)
                    }
                    if {"street", "community", "grid"} <= found.keys():
                        cols = found
                    elif row.number >= 5:
                        break
                    continue
                cells = {
                    name: row.values[i] if i < len(row.values) else None for name, i in cols.items()
                }
                if not any(cell_text(v) for v in cells.values()):
                    continue
                formula = next(
                    (n for n, v in cells.items() if is_formula(v, cols[n] in row.formulas)), None
                )
                if formula:
                    out.append((row.number, t("roster.reason.formula")))
                    continue
                try:
                    code = cell_text(cells.get("code")).upper()
                    if code and not _CODE.fullmatch(code):
                        raise UserError("areas.error.bad_code", exit_code=2, code=code[:20])
                    out.append(
                        AreaRow(
                            row.number,
                            cell_text(cells.get("district"))[:MAX_NAME],
                            _name(str(cells.get("street") or ""), t("areas.col.street")),
                            _name(str(cells.get("community") or ""), t("areas.col.community")),
                            _name(str(cells.get("grid") or ""), t("areas.col.grid")),
                            code,
                            cell_text(cells.get("worker"))[:MAX_NAME],
                        )
                    )
                except UserError as exc:
                    out.append((row.number, exc.message()))
            if cols is not None:
                break
    except RosterUnreadable as exc:  # found while reading on (a line too long...)
        raise UserError(f"roster.file.{exc.key}", exit_code=2, **exc.params) from None
    finally:
        sheet_file.close()
    if not out:
        raise UserError("areas.error.no_columns", exit_code=2, path=str(path))
    return out


def import_areas(ctx: WriteContext, rows: list[AreaRow | tuple[int, str]]) -> AreasReport:
    """Create or update the grids of an areas file (inside a transaction): a row whose code
    is known renames that grid to the file's names; one whose name is known is that grid;
    any other is created. A row's grid worker, when they exist, is given the grid."""
    report = AreasReport()
    seen: set[str] = set()
    for row in rows:
        if isinstance(row, tuple):
            report.rejected.append(row)
            continue
        name = grid_name(row.community, row.grid)
        if len(name) > MAX_NAME:
            name = row.grid
        code = row.code or grid_code(row.street, row.community, row.grid)
        if code in seen:
            continue
        seen.add(code)
        grid = grid_by_code(ctx.conn, code) or (None if row.code else grid_by_name(ctx.conn, name))
        if grid is None:
            grid = get_or_create_grid(
                ctx, code, name, row.community, row.street, row.district or _district(ctx)
            )
            report.created.append(grid)
        else:
            wanted: dict[str, object] = {
                "name": name,
                "community": row.community,
                "street": row.street,
            }
            if row.district:
                wanted["district"] = row.district
            if grid.retired_at is not None:
                wanted["retired_at"] = None  # in the file again: in use again
            if update_area(ctx, "grid", grid.id, **wanted):
                grid = grid_by_id(ctx.conn, grid.id) or grid
                report.renamed.append(grid)
            else:
                report.known.append(grid)
        if row.worker:
            _link(ctx, report, grid, row.worker)
    return report


def _district(ctx: WriteContext) -> str:
    from db.areas import list_grids

    districts = {g.district for g in list_grids(ctx.conn) if g.district}
    return districts.pop() if len(districts) == 1 else ""


def _link(ctx: WriteContext, report: AreasReport, grid: Grid, name: str) -> None:
    worker = worker_by_name(ctx.conn, name)
    if worker is None:
        report.no_worker.append((grid.code, name))
        return
    if worker.role == "worker" and grid.code not in worker.grids:
        set_worker_grids(ctx, worker.id, [*worker.grids, grid.code])
        report.linked.append((grid.code, name))


# --- one at a time, from the areas screen -------------------------------------------------
def add_grid(
    ctx: WriteContext, *, street: str, community: str, name: str, district: str = "", code: str = ""
) -> Grid:
    """A new grid (its code made up from the names when not given); refused when its code or
    name is taken."""
    street, community = _name(street, "street"), _name(community, "community")
    grid = _name(name, "grid")
    full = grid_name(community, grid) if len(grid_name(community, grid)) <= MAX_NAME else grid
    code = code.strip().upper() or grid_code(street, community, grid)
    if not _CODE.fullmatch(code):
        raise UserError("areas.error.bad_code", exit_code=2, code=code[:20])
    if grid_by_code(ctx.conn, code) is not None or grid_by_name(ctx.conn, full) is not None:
        raise UserError("areas.error.grid_exists", exit_code=2, name=full, code=code)
    return get_or_create_grid(ctx, code, full, community, street, district or _district(ctx))


def rename_grid(ctx: WriteContext, grid_id: str, name: str) -> bool:
    new = _name(name, "grid")
    other = grid_by_name(ctx.conn, new)
    if other is not None and other.id != grid_id:
        raise UserError("areas.error.grid_exists", exit_code=2, name=new, code=other.code)
    return update_area(ctx, "grid", grid_id, name=new)


def add_compound(ctx: WriteContext, grid_id: str, name: str) -> Compound:
    return get_or_create_compound(ctx, grid_id, _name(name, "compound"))


def rename_compound(ctx: WriteContext, compound_id: str, name: str) -> bool:
    compound = compound_by_id(ctx.conn, compound_id)
    if compound is None:
        raise KeyError(compound_id)
    new = _name(name, "compound")
    from db.areas import compound_by_name

    other = compound_by_name(ctx.conn, compound.grid_id, new)
    if other is not None and other.id != compound_id:
        raise UserError("areas.error.compound_exists", exit_code=2, name=new)
    return update_area(ctx, "compound", compound_id, name=new)


def retire(ctx: WriteContext, entity: str, record_id: str) -> bool:
    """Retire a grid or compound nobody lives in any more (refused, saying how many
    households still do)."""
    if entity == "grid":
        left = lived_in(ctx.conn, grid_id=record_id)
    else:
        left = lived_in(ctx.conn, compound_id=record_id)
    if left:
        raise UserError("areas.error.still_lived_in", exit_code=2, n=left)
    return update_area(ctx, entity, record_id, retired_at=now_iso())


def bring_back(ctx: WriteContext, entity: str, record_id: str) -> bool:
    return update_area(ctx, entity, record_id, retired_at=None)


def may_manage_grids(worker: Worker | None) -> bool:
    """Grids are the administrator's (compounds their community's supervisor's too)."""
    return worker is not None and worker.role == "admin"

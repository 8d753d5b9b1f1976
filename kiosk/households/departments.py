"""Keeping a community's list of responsible departments (责任单位): added one by one or from a
sheet, retired when a department no longer takes cases (the cases assigned to it keep its
name). A supervisor keeps their own community's list, an administrator any community's.
Assigning from the list is kiosk/cases/departments.py's. See docs/cases.md#departments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from db.context import WriteContext
from db.departments import Department, add_department, find_department, retire_department
from db.errors import UserError
from db.workers import Worker
from kiosk.households.roster.fields import cell_text, clean_header, is_formula

MAX_NAME = 64
#: headers of a departments sheet's name column, and of its optional community column
NAME_HEADERS = (
    "责任单位",
    "责任部门",
    "单位",
    "部门",
    "单位名称",
    "部门名称",
    "名称",
    "department",
    "name",
)
COMMUNITY_HEADERS = ("社区", "所属社区", "community")
#: a sheet of departments is small: more rows than this is not one
MAX_ROWS = 2_000


def clean_name(value: object) -> str:
    """A department's name as stored: trimmed, inner runs of spaces made one."""
    name = re.sub(r"\s+", " ", cell_text(value))
    if not name:
        raise UserError("departments.error.empty", exit_code=2)
    if len(name) > MAX_NAME:
        raise UserError("departments.error.too_long", exit_code=2, max=MAX_NAME, name=name[:20])
    return name


def community_for(worker: Worker | None, community: str | None) -> str:
    """The community a command or screen keeps the list of: a supervisor's own (another is
    refused), the one an administrator names."""
    if worker is not None and worker.role == "supervisor":
        if community and community != worker.community:
            raise UserError(
                "error.role_out_of_scope",
                exit_code=3,
                name=worker.name,
                action=_action(),
                grid=community,
            )
        return worker.community or ""
    if not community:
        raise UserError("departments.error.community_needed", exit_code=2)
    return community


def _action() -> str:
    from kiosk.security.roles import action_label

    return action_label("departments.manage")


def add(ctx: WriteContext, community: str, name: object) -> tuple[Department, bool]:
    return add_department(ctx, community, clean_name(name))


def retire(ctx: WriteContext, community: str, name: object) -> bool:
    d = find_department(ctx.conn, community, clean_name(name))
    if d is None:
        raise UserError("departments.error.unknown", exit_code=2, name=str(name)[:40])
    return retire_department(ctx, d.id)


@dataclass
class SheetReport:
    added: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)


def read_sheet(path: Path, community: str) -> tuple[list[str], list[tuple[int, str]]]:
    """The department names of a sheet (.xlsx or .csv) for ``community``: its 责任单位 (or
    部门, 单位...) column; rows whose 社区 column names another community are left out. Rows
    that cannot be taken are returned with the reason, in the interface's words."""
    from kiosk.core.i18n import t
    from kiosk.households.roster.read import RosterUnreadable, open_roster

    try:
        sheet_file = open_roster(path)
    except RosterUnreadable as exc:
        raise UserError(f"roster.file.{exc.key}", exit_code=2, **exc.params) from None
    names: list[str] = []
    rejected: list[tuple[int, str]] = []
    try:
        for sheet in sheet_file.sheets():
            name_col = community_col = None
            for row in sheet.rows:
                if row.number > MAX_ROWS:
                    raise UserError("departments.error.too_many", exit_code=2, max=MAX_ROWS)
                if name_col is None:
                    headers = [clean_header(v).lower() for v in row.values]
                    name_col = next((i for i, h in enumerate(headers) if h in NAME_HEADERS), None)
                    community_col = next(
                        (i for i, h in enumerate(headers) if h in COMMUNITY_HEADERS), None
                    )
                    if name_col is None and row.number >= 5:
                        break  # no header in the first rows: not a departments sheet
                    continue
                cells = row.values
                value = cells[name_col] if name_col < len(cells) else None
                if community_col is not None and community_col < len(cells):
                    where = cell_text(cells[community_col])
                    if where and where != community:
                        continue
                if is_formula(value, name_col in row.formulas):
                    rejected.append((row.number, t("roster.reason.formula")))
                    continue
                if not cell_text(value):
                    continue
                try:
                    name = clean_name(value)
                except UserError as exc:
                    rejected.append((row.number, exc.message()))
                    continue
                if name not in names:
                    names.append(name)
            if names or rejected:
                break
    except RosterUnreadable as exc:  # found while reading on (a line too long...)
        raise UserError(f"roster.file.{exc.key}", exit_code=2, **exc.params) from None
    finally:
        sheet_file.close()
    if not names and not rejected:
        raise UserError("departments.error.no_column", exit_code=2, path=str(path))
    return names, rejected


def import_sheet(ctx: WriteContext, community: str, names: list[str]) -> SheetReport:
    """Add the sheet's departments the community does not have yet (inside a transaction)."""
    report = SheetReport()
    for name in names:
        _dep, wrote = add_department(ctx, community, name)
        (report.added if wrote else report.known).append(name)
    return report

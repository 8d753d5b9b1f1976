"""``kiosk households import FILE``: household rosters (.xlsx, .csv) as street offices keep them.

The work is in :mod:`kiosk.households.roster.read` (reading files), :mod:`kiosk.households.roster.fields` (headers
and cell values) and :mod:`kiosk.households.roster.apply` (judging rows, writing in one transaction);
this module is the command and its report. Exit status: 0 when every row was taken, 1 when
some were rejected, 2 when the file cannot be read at all. See docs/roster-import.md.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import cast

from kiosk.core.i18n import t

log = logging.getLogger("kiosk.cli.households_import")


def register_import(hs, common) -> None:
    """Register ``kiosk households import`` on the ``households`` subparsers."""
    p = hs.add_parser(
        "import",
        parents=[common],
        help=t("roster.cli.help"),
        description=t("roster.cli.description"),
    )
    p.add_argument("file", metavar="FILE", help=t("roster.cli.file"))
    p.add_argument("--dry-run", action="store_true", help=t("roster.cli.dry_run"))
    p.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    p.add_argument("--grid", metavar="CODE", help=t("roster.cli.grid"))
    p.add_argument("--create-areas", action="store_true", help=t("roster.cli.create_areas"))
    p.set_defaults(handler=run_import)


def _problem_doc(p) -> dict[str, object]:
    return {
        "row": p.row,
        "sheet": p.sheet,
        "column": p.column,
        "column_letter": p.letter,
        "code": p.code,
        "reason": t(f"roster.reason.{p.code}", **p.params),
    }


def _where(p) -> str:
    where = t("roster.report.row", row=p.row)
    if p.sheet:
        where = t("roster.report.sheet_row", sheet=p.sheet, row=p.row)
    if p.column:
        where += t("roster.report.column", column=p.column, letter=p.letter)
    return where


def build_report(plan, result, dry_run: bool, created=()) -> dict[str, object]:
    return {
        "file": str(plan.path),
        "format": plan.format,
        "encoding": plan.encoding or None,
        "layout": plan.layout,
        "sheets": plan.sheets if plan.format == "xlsx" else [],
        "rows": plan.rows,
        "dry_run": dry_run,
        "imported_households": result.imported_households,
        "imported_members": result.imported_members,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": [_problem_doc(p) for p in plan.rejected],
        "warnings": [_problem_doc(p) for p in plan.warnings],
        "ignored_columns": plan.ignored_columns,
        "created_areas": [
            {"code": g.code, "name": g.name, "community": g.community, "street": g.street}
            for g in created
        ],
    }


def print_report(report: dict[str, object], plan) -> None:
    from kiosk.cli.output import info

    layout = t("ui.list_sep").join(
        t(f"roster.layout.{x}") for x in str(report["layout"]).split("/") if x
    )
    kind = plan.format.upper()
    if plan.encoding:
        kind += " " + t(f"roster.encoding.{plan.encoding}")
    info(
        t("roster.report.head", file=plan.path.name, kind=kind, layout=layout, rows=report["rows"])
    )
    info(
        t(
            "roster.report.dry_run_counts" if report["dry_run"] else "roster.report.counts",
            households=report["imported_households"],
            members=report["imported_members"],
            updated=report["updated"],
            unchanged=report["unchanged"],
            rejected=len(plan.rejected),
        )
    )
    if plan.rejected:
        info(t("roster.report.rejected_head"))
        for p in plan.rejected:
            info(f"  {_where(p)}: {t(f'roster.reason.{p.code}', **p.params)}")
    if plan.warnings:
        info(t("roster.report.warnings_head"))
        for p in plan.warnings:
            info(f"  {_where(p)}: {t(f'roster.reason.{p.code}', **p.params)}")
    created = cast("list[dict[str, str]]", report.get("created_areas") or [])
    if created:
        names = t("ui.list_sep").join(f"{g['name']} ({g['code']})" for g in created)
        info(t("roster.report.created_areas", n=len(created), grids=names))
    if plan.ignored_columns:
        info(t("roster.report.ignored", columns=t("ui.list_sep").join(plan.ignored_columns)))
    if plan.rejected:
        info(t("roster.report.fix_and_rerun"))


class _DryRun(Exception):
    """Undo a dry run's grids with its households."""


def run_import(args: argparse.Namespace) -> int:
    from db.connection import transaction
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError
    from kiosk.households.roster.apply import apply_plan, plan_import, resolve_grid
    from kiosk.households.roster.areas import AreaMaker, describe_unknown
    from kiosk.households.roster.read import RosterUnreadable
    from kiosk.runtime import runtime_for
    from kiosk.security.roles import ADMIN, grid_in_scope, require_unless_setting_up

    runtime = runtime_for(args, create=False, writes=True)
    started = time.perf_counter()

    def progress(key: str, params: dict) -> None:
        info(t(key, **params))

    try:
        reach = None
        # a new laptop's first roster is nobody's yet
        worker = require_unless_setting_up(runtime.worker, "household.import", runtime.conn)
        if worker is not None and worker.role != ADMIN:

            def reach(g) -> bool:
                return grid_in_scope(worker, g)

        grid = None
        if args.grid:
            grid = resolve_grid(runtime.conn, args.grid.strip())
            if grid is None:
                raise UserError("roster.file.unknown_grid", exit_code=2, grid=args.grid[:40])

        def planned(create_grid=None):  # type: ignore[no-untyped-def]
            try:
                return plan_import(
                    runtime.conn,
                    args.file,
                    default_grid=grid,
                    progress=progress,
                    reach=reach,
                    create_grid=create_grid,
                )
            except RosterUnreadable as exc:
                message = t(f"roster.file.{exc.key}", **exc.params)
                log.info("roster unreadable: %s", exc.key)
                if args.json:
                    emit_json(
                        {"file": str(args.file), "error": {"code": exc.key, "message": message}}
                    )
                raise UserError(f"roster.file.{exc.key}", exit_code=2, **exc.params) from None

        created: list = []
        if args.create_areas:
            # The grids are created as the file is read, with the households: all or none.
            maker = AreaMaker(
                runtime.ctx,
                before_first=lambda: require_unless_setting_up(
                    runtime.worker, "devices.manage", runtime.conn
                ),
            )
            try:
                with transaction(runtime.conn):
                    plan = planned(maker)
                    created = maker.created
                    result = apply_plan(runtime.ctx, plan, dry_run=args.dry_run, progress=progress)
                    if args.dry_run:
                        raise _DryRun
            except _DryRun:
                pass
        else:
            plan = planned()
            if plan.unknown_grids:
                # Refused once, as a whole: a roster of an office's own grids, row after row
                # refused for the same unknown grid, says nothing a person can act on.
                params = {
                    "path": str(args.file),
                    "n": len(plan.unknown_grids),
                    "grids": describe_unknown(plan.unknown_grids, t("ui.list_sep")),
                }
                if args.json:
                    emit_json(
                        {
                            "file": str(args.file),
                            "error": {
                                "code": "unknown_grids",
                                "message": t("roster.file.unknown_grids", **params),
                                "grids": [
                                    {"street": s, "community": c, "grid": g, "row": row}
                                    for (s, c, g), row in plan.unknown_grids.items()
                                ],
                            },
                        }
                    )
                raise UserError("roster.file.unknown_grids", exit_code=2, **params)
            result = apply_plan(runtime.ctx, plan, dry_run=args.dry_run, progress=progress)
    finally:
        runtime.close()
    log.info(
        "roster import: rows=%d new_households=%d new_members=%d updated=%d unchanged=%d"
        " rejected=%d dry_run=%s seconds=%.1f",
        plan.rows,
        result.imported_households,
        result.imported_members,
        result.updated,
        result.unchanged,
        len(plan.rejected),
        args.dry_run,
        time.perf_counter() - started,
    )
    report = build_report(plan, result, args.dry_run, created)
    if args.json:
        emit_json(report)
    else:
        print_report(report, plan)
    return 1 if plan.rejected else 0

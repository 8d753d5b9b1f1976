"""``kiosk areas import|list``: the grids of a real community from its own file
(kiosk/households/areas.py); adding, renaming and retiring one at a time is the areas
screen's (F6)."""

from __future__ import annotations

import argparse

from kiosk.cli.output import open_runtime
from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "areas", parents=[common], help=t("cli.areas.help"), description=t("cli.areas.description")
    )
    s = p.add_subparsers(dest="areas_command", metavar="ACTION", required=True)
    imp = s.add_parser(
        "import",
        parents=[common],
        help=t("cli.areas.import_help"),
        description=t("cli.areas.import_description"),
    )
    imp.add_argument("file", metavar="FILE", help=t("cli.areas.opt.file"))
    imp.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    imp.set_defaults(handler=run_import)
    ls = s.add_parser("list", parents=[common], help=t("cli.areas.list_help"))
    ls.add_argument("--retired", action="store_true", help=t("cli.areas.opt.retired"))
    ls.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    ls.set_defaults(handler=run_list)


def run_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from db.connection import transaction
    from kiosk.cli.output import emit_json, info
    from kiosk.households.areas import import_areas, read_areas
    from kiosk.security.roles import require_unless_setting_up

    runtime = open_runtime(args, create=True, writes=True)
    try:
        require_unless_setting_up(runtime.worker, "areas.import", runtime.conn)
        rows = read_areas(Path(args.file).expanduser())
        with transaction(runtime.conn):
            report = import_areas(runtime.ctx, rows)
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "created": [g.code for g in report.created],
                "renamed": [g.code for g in report.renamed],
                "known": [g.code for g in report.known],
                "linked": [{"grid": g, "worker": w} for g, w in report.linked],
                "no_worker": [{"grid": g, "worker": w} for g, w in report.no_worker],
                "rejected": [{"row": n, "reason": why} for n, why in report.rejected],
            }
        )
        return 0
    info(
        t(
            "cli.areas.imported",
            created=len(report.created),
            renamed=len(report.renamed),
            known=len(report.known),
            rejected=len(report.rejected),
        )
    )
    for g in report.created:
        info(t("cli.areas.created_line", code=g.code, name=g.name, community=g.community))
    for code, name in report.linked:
        info(t("cli.areas.linked", code=code, name=name))
    for code, name in report.no_worker:
        info(t("cli.areas.no_worker", code=code, name=name))
    for n, why in report.rejected:
        info(t("cli.areas.rejected_row", row=n, reason=why))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from db.areas import grid_counts, list_grids
    from kiosk.cli.output import emit_json, info, table

    runtime = open_runtime(args)
    try:
        grids = list_grids(runtime.conn, retired=args.retired)
        counts = grid_counts(runtime.conn)
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "grids": [
                    {
                        "code": g.code,
                        "name": g.name,
                        "community": g.community,
                        "street": g.street,
                        "district": g.district,
                        "households": counts.get(g.id, 0),
                        "retired_at": g.retired_at,
                    }
                    for g in grids
                ]
            }
        )
        return 0
    if not grids:
        info(t("cli.areas.none"))
        return 0
    print(
        table(
            [
                t("areas.col.code"),
                t("areas.col.grid"),
                t("areas.col.community"),
                t("areas.col.street"),
                t("areas.col.households"),
                t("areas.col.state"),
            ],
            [
                (
                    g.code,
                    g.name,
                    g.community,
                    g.street,
                    str(counts.get(g.id, 0)),
                    t("areas.retired") if g.retired_at else "",
                )
                for g in grids
            ],
        )
    )
    return 0

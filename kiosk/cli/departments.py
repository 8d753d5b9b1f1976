"""``kiosk departments list|add|retire|import``: a community's responsible departments
(责任单位), chosen from when a case is assigned (kiosk/cases/departments.py)."""

from __future__ import annotations

import argparse

from kiosk.cli.output import open_runtime
from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "departments",
        parents=[common],
        help=t("cli.departments.help"),
        description=t("cli.departments.description"),
    )
    ds = p.add_subparsers(dest="departments_command", metavar="ACTION", required=True)

    def community(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--community", default=None, metavar="NAME", help=t("cli.departments.opt.community")
        )
        parser.add_argument("--json", action="store_true", help=t("cli.opt.json"))

    ls = ds.add_parser("list", parents=[common], help=t("cli.departments.list_help"))
    community(ls)
    ls.add_argument("--retired", action="store_true", help=t("cli.departments.opt.retired"))
    ls.set_defaults(handler=run_list)

    add = ds.add_parser("add", parents=[common], help=t("cli.departments.add_help"))
    add.add_argument("names", nargs="+", metavar="NAME", help=t("cli.departments.opt.name"))
    community(add)
    add.set_defaults(handler=run_add)

    retire = ds.add_parser("retire", parents=[common], help=t("cli.departments.retire_help"))
    retire.add_argument("names", nargs="+", metavar="NAME", help=t("cli.departments.opt.name"))
    community(retire)
    retire.set_defaults(handler=run_retire)

    imp = ds.add_parser(
        "import",
        parents=[common],
        help=t("cli.departments.import_help"),
        description=t("cli.departments.import_description"),
    )
    imp.add_argument("file", metavar="FILE", help=t("cli.departments.opt.file"))
    community(imp)
    imp.set_defaults(handler=run_import)


def _community(runtime, args) -> str:
    from kiosk.households.departments import community_for
    from kiosk.security.roles import require

    worker = require(runtime.worker, "departments.manage")
    return community_for(worker, args.community)


def _write(runtime, fn):  # type: ignore[no-untyped-def]
    from db.connection import transaction

    with transaction(runtime.conn):
        return fn(runtime.ctx)


def run_list(args: argparse.Namespace) -> int:
    from db.departments import list_departments
    from kiosk.cli.output import emit_json, info, table

    runtime = open_runtime(args)
    try:
        worker = runtime.worker
        community = args.community
        if community is None and worker is not None and worker.role != "admin":
            community = worker.community
        rows = list_departments(runtime.conn, community, retired=args.retired)
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "community": community,
                "departments": [
                    {"name": d.name, "community": d.community, "retired_at": d.retired_at}
                    for d in rows
                ],
            }
        )
        return 0
    if not rows:
        info(t("cli.departments.none", community=community or ""))
        return 0
    print(
        table(
            [t("departments.col.name"), t("departments.col.community"), t("departments.col.state")],
            [
                (
                    d.name,
                    d.community,
                    t("departments.active") if d.active else t("departments.retired"),
                )
                for d in rows
            ],
        )
    )
    return 0


def run_add(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.households.departments import add

    runtime = open_runtime(args, writes=True)
    try:
        community = _community(runtime, args)
        done = _write(runtime, lambda ctx: [add(ctx, community, n) for n in args.names])
    finally:
        runtime.close()
    added = [d.name for d, wrote in done if wrote]
    known = [d.name for d, wrote in done if not wrote]
    if args.json:
        emit_json({"community": community, "added": added, "known": known})
    else:
        sep = t("ui.list_sep")
        if added:
            info(t("cli.departments.added", community=community, names=sep.join(added)))
        if known:
            info(t("cli.departments.already", names=sep.join(known)))
    return 0


def run_retire(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.households.departments import retire

    runtime = open_runtime(args, writes=True)
    try:
        community = _community(runtime, args)
        _write(runtime, lambda ctx: [retire(ctx, community, n) for n in args.names])
    finally:
        runtime.close()
    if args.json:
        emit_json({"community": community, "retired": list(args.names)})
    else:
        info(t("cli.departments.retired", names=t("ui.list_sep").join(args.names)))
    return 0


def run_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kiosk.cli.output import emit_json, info
    from kiosk.households.departments import import_sheet, read_sheet

    runtime = open_runtime(args, writes=True)
    try:
        community = _community(runtime, args)
        names, rejected = read_sheet(Path(args.file).expanduser(), community)
        report = _write(runtime, lambda ctx: import_sheet(ctx, community, names))
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "community": community,
                "added": report.added,
                "known": report.known,
                "rejected": [{"row": n, "reason": why} for n, why in rejected],
            }
        )
    else:
        info(
            t(
                "cli.departments.imported",
                community=community,
                added=len(report.added),
                known=len(report.known),
                rejected=len(rejected),
            )
        )
        for n, why in rejected:
            info(t("cli.departments.rejected_row", row=n, reason=why))
    return 0

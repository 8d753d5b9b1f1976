"""``kiosk sync`` (push then pull), ``kiosk sync export|import FILE`` (USB bundles),
``kiosk sync conflicts`` and ``kiosk sync resolve``."""

from __future__ import annotations

import argparse

from kiosk.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser("sync", parents=[common], help=t("sync.cli.help"),
                       description=t("sync.cli.help"))
    p.add_argument("--hub", metavar="URL", help=t("sync.cli.hub"))
    p.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    p.set_defaults(handler=run_sync)
    ss = p.add_subparsers(dest="sync_command", metavar="ACTION")

    exp = ss.add_parser("export", parents=[common], help=t("sync.cli.export_help"),
                        description=t("sync.cli.export_help"))
    exp.add_argument("file", metavar="FILE", help=t("sync.cli.file"))
    exp.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    exp.set_defaults(handler=run_export)

    imp = ss.add_parser("import", parents=[common], help=t("sync.cli.import_help"),
                        description=t("sync.cli.import_help"))
    imp.add_argument("file", metavar="FILE", help=t("sync.cli.file"))
    imp.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    imp.set_defaults(handler=run_import)

    con = ss.add_parser("conflicts", parents=[common], help=t("sync.cli.conflicts_help"),
                        description=t("sync.cli.conflicts_help"))
    con.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    con.set_defaults(handler=run_conflicts)

    res = ss.add_parser("resolve", parents=[common], help=t("sync.cli.resolve_help"),
                        description=t("sync.cli.resolve_help"))
    res.add_argument("id", type=int, metavar="ID", help=t("sync.cli.conflict_id"))
    res.add_argument("choice", choices=["mine", "theirs", "edit"], help=t("sync.cli.choice"))
    res.add_argument("--value", help=t("sync.cli.value"))
    res.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    res.set_defaults(handler=run_resolve)


def _runtime(args: argparse.Namespace):
    from kiosk.runtime import runtime_for

    return runtime_for(args, create=False)


def run_sync(args: argparse.Namespace) -> int:
    from kiosk.output import emit_json, info
    from kiosk.sync.client import run_sync as sync

    runtime = _runtime(args)
    try:
        s = runtime.settings
        report = sync(runtime.ctx, hub_url=args.hub or s.hub_url, batch_size=s.sync_batch,
                      timeout=s.sync_timeout)
    finally:
        runtime.close()
    if args.json:
        emit_json(report.as_dict())
    else:
        info(t("sync.cli.result", **report.as_dict()))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from kiosk.output import emit_json, info
    from kiosk.sync.bundle import export_pending

    runtime = _runtime(args)
    try:
        n = export_pending(runtime.ctx, args.file)
    finally:
        runtime.close()
    if args.json:
        emit_json({"file": args.file, "ops": n})
    else:
        info(t("sync.cli.exported", n=n, path=args.file))
    return 0


def run_import(args: argparse.Namespace) -> int:
    from kiosk.output import emit_json, info
    from kiosk.sync.bundle import import_down

    runtime = _runtime(args)
    try:
        counts = import_down(runtime.ctx, args.file)
    finally:
        runtime.close()
    if args.json:
        emit_json(counts)
    else:
        info(t("sync.cli.imported", **counts))
    return 0


def run_conflicts(args: argparse.Namespace) -> int:
    from db.sync import list_conflicts
    from kiosk.output import emit_json, info, table
    from kiosk.sync.present import conflict_row

    runtime = _runtime(args)
    try:
        conflicts = list_conflicts(runtime.conn, limit=10_000)
    finally:
        runtime.close()
    rows = [conflict_row(c) for c in conflicts]
    if args.json:
        emit_json({"conflicts": rows})
        return 0
    if not rows:
        info(t("sync.cli.none"))
        return 0
    print(table(["#", t("sync.col_record"), t("sync.col_field"), t("sync.col_mine"),
                 t("sync.col_theirs"), t("sync.col_winner")],
                [(str(r["id"]), r["record"], r["field"], r["mine"], r["theirs"], r["applied"])
                 for r in rows]))
    return 0


def run_resolve(args: argparse.Namespace) -> int:
    from db.connection import transaction
    from db.sync import get_conflict, resolve_conflict
    from kiosk.errors import UserError
    from kiosk.output import emit_json, info

    if args.choice == "edit" and args.value is None:
        raise UserError("sync.error.need_value", exit_code=2)
    runtime = _runtime(args)
    try:
        if get_conflict(runtime.conn, args.id) is None:
            raise UserError("sync.error.bad_conflict", exit_code=2, id=args.id)
        with transaction(runtime.conn):
            wrote = resolve_conflict(runtime.ctx, args.id, args.choice, args.value)
    finally:
        runtime.close()
    if args.json:
        emit_json({"id": args.id, "choice": args.choice, "written": wrote})
    else:
        info(t("sync.cli.resolved", id=args.id, choice=args.choice))
    return 0

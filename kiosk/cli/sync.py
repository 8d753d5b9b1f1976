"""``kiosk sync`` (push then pull), ``kiosk sync export|import FILE`` (USB bundles),
``kiosk sync conflicts`` and ``kiosk sync resolve``, and the changes the hub refused:
``kiosk sync refused``, ``kiosk sync resend``, ``kiosk sync discard``."""

from __future__ import annotations

import argparse

from kiosk.cli.output import open_runtime
from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "sync", parents=[common], help=t("sync.cli.help"), description=t("sync.cli.help")
    )
    p.add_argument("--hub", metavar="URL", help=t("sync.cli.hub"))
    p.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    p.set_defaults(handler=run_sync)
    ss = p.add_subparsers(dest="sync_command", metavar="ACTION")

    exp = ss.add_parser(
        "export",
        parents=[common],
        help=t("sync.cli.export_help"),
        description=t("sync.cli.export_help"),
    )
    exp.add_argument("file", metavar="FILE", help=t("sync.cli.file"))
    exp.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    exp.set_defaults(handler=run_export)

    imp = ss.add_parser(
        "import",
        parents=[common],
        help=t("sync.cli.import_help"),
        description=t("sync.cli.import_help"),
    )
    imp.add_argument("file", metavar="FILE", help=t("sync.cli.file"))
    imp.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    imp.set_defaults(handler=run_import)

    con = ss.add_parser(
        "conflicts",
        parents=[common],
        help=t("sync.cli.conflicts_help"),
        description=t("sync.cli.conflicts_help"),
    )
    con.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    con.set_defaults(handler=run_conflicts)

    res = ss.add_parser(
        "resolve",
        parents=[common],
        help=t("sync.cli.resolve_help"),
        description=t("sync.cli.resolve_help"),
    )
    res.add_argument("id", type=int, metavar="ID", help=t("sync.cli.conflict_id"))
    res.add_argument("choice", choices=["mine", "theirs", "edit"], help=t("sync.cli.choice"))
    res.add_argument("--value", help=t("sync.cli.value"))
    res.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    res.set_defaults(handler=run_resolve)

    ref = ss.add_parser(
        "refused",
        parents=[common],
        help=t("sync.cli.refused_help"),
        description=t("sync.cli.refused_help"),
    )
    ref.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    ref.set_defaults(handler=run_refused)

    snd = ss.add_parser(
        "resend",
        parents=[common],
        help=t("sync.cli.resend_help"),
        description=t("sync.cli.resend_help"),
    )
    snd.add_argument("ops", nargs="*", metavar="OP_ID", help=t("sync.cli.op_id"))
    snd.add_argument("--all", action="store_true", help=t("sync.cli.resend_all"))
    snd.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    snd.set_defaults(handler=run_resend)

    dis = ss.add_parser(
        "discard",
        parents=[common],
        help=t("sync.cli.discard_help"),
        description=t("sync.cli.discard_help"),
    )
    dis.add_argument("ops", nargs="+", metavar="OP_ID", help=t("sync.cli.op_id"))
    dis.add_argument("--note", default="", help=t("sync.cli.discard_note"))
    dis.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    dis.set_defaults(handler=run_discard)


def run_sync(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.sync.client import run_sync as sync

    runtime = open_runtime(args, acts=False)  # it sends what was written
    try:
        s = runtime.settings
        report = sync(
            runtime.ctx,
            hub_url=args.hub or s.hub_url,
            batch_size=s.sync_batch,
            timeout=s.sync_timeout,
        )
        held = _held_rows(runtime.conn)
    finally:
        runtime.close()
    if args.json:
        emit_json({**report.as_dict(), "held": held})
    else:
        info(t("sync.cli.result", **report.as_dict()))
        if report.photos_sent or report.photos_received:
            info(t("sync.photos", sent=report.photos_sent, received=report.photos_received))
        _report_held(held)
    skew = report.clock_skew_hours
    if skew:
        info(t("sync.cli.clock_ahead" if skew > 0 else "sync.cli.clock_behind", hours=abs(skew)))
    return HELD_EXIT if held else 0


#: ``kiosk sync`` ends with this status when changes the hub refused are held on the laptop
#: (everything else was sent and received).
HELD_EXIT = 5


def _held_rows(conn) -> list[dict]:
    from db.sync import held_changes
    from kiosk.sync.present import held_row

    return [held_row(conn, h) for h in held_changes(conn, limit=10_000)]


def _report_held(rows: list[dict]) -> None:
    from kiosk.cli.output import info, table

    if not rows:
        return
    info(t("sync.cli.held", n=len(rows)))
    print(
        table(
            [
                t("sync.cli.col_record"),
                t("sync.cli.col_household"),
                t("sync.cli.col_why"),
                t("sync.cli.col_todo"),
                "ID",
            ],
            [(r["record"], r["household"] or "-", r["why"], r["todo"], r["op_id"]) for r in rows],
        )
    )
    info(t("sync.cli.held_hint"))


def run_refused(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info

    runtime = open_runtime(args)
    try:
        rows = _held_rows(runtime.conn)
    finally:
        runtime.close()
    if args.json:
        emit_json({"held": rows})
    elif rows:
        _report_held(rows)
    else:
        info(t("sync.cli.none_held"))
    return 0


def run_resend(args: argparse.Namespace) -> int:
    """Send refused changes again at the next sync (once their cause is fixed)."""
    from db.connection import transaction
    from db.sync import release
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError
    from kiosk.security.roles import require

    if not args.ops and not args.all:
        raise UserError("sync.error.resend_what", exit_code=2)
    runtime = open_runtime(args, writes=True)
    try:
        require(runtime.worker, "sync.run")
        with transaction(runtime.conn):
            n = release(runtime.conn, None if args.all else args.ops)
    finally:
        runtime.close()
    if args.json:
        emit_json({"released": n})
    else:
        info(t("sync.cli.released", n=n))
    return 0


def run_discard(args: argparse.Namespace) -> int:
    """Give up sending refused changes (a supervisor's decision): they stay on this laptop
    only, recorded in the operation log with the reason."""
    from db.connection import transaction
    from db.sync import discard
    from kiosk.cli.output import emit_json, info
    from kiosk.security.roles import require

    runtime = open_runtime(args, writes=True)
    try:
        worker = require(runtime.worker, "sync.discard")
        with transaction(runtime.conn):
            n = discard(runtime.conn, args.ops, by=worker.id, note=args.note)
            runtime.ctx.audit("discard", detail={"ops": n})
    finally:
        runtime.close()
    if args.json:
        emit_json({"discarded": n})
    else:
        info(t("sync.cli.discarded", n=n))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.sync.bundle import export_pending

    runtime = open_runtime(args, writes=True)  # data leaves
    try:
        counts = export_pending(runtime.ctx, args.file)
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "file": args.file,
                "ops": counts.ops,
                "photos": counts.pictures,
                "photos_left": counts.pictures_left,
            }
        )
    else:
        info(t("sync.cli.exported", n=counts.ops, path=args.file))
        if counts.pictures:
            info(t("sync.cli.exported_photos", n=counts.pictures))
        if counts.pictures_left:
            info(t("sync.cli.photos_left", n=counts.pictures_left))
    return 0


def run_import(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.sync.bundle import import_down

    runtime = open_runtime(args, acts=False)
    try:
        counts = import_down(runtime.ctx, args.file)
    finally:
        runtime.close()
    if args.json:
        emit_json(counts)
    else:
        info(t("sync.cli.imported", **counts))
        if counts["photos_received"] or counts["photos_sent"]:
            info(
                t(
                    "sync.cli.imported_photos",
                    received=counts["photos_received"],
                    sent=counts["photos_sent"],
                )
            )
        if counts["photos_refused"]:
            info(t("sync.cli.photos_refused", n=counts["photos_refused"]))
    return 0


def run_conflicts(args: argparse.Namespace) -> int:
    from db.sync import list_conflicts
    from kiosk.cli.output import emit_json, info, table
    from kiosk.sync.present import conflict_row

    runtime = open_runtime(args)
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
    print(
        table(
            [
                "#",
                t("sync.col_record"),
                t("sync.col_field"),
                t("sync.col_mine"),
                t("sync.col_theirs"),
                t("sync.col_winner"),
            ],
            [
                (str(r["id"]), r["record"], r["field"], r["mine"], r["theirs"], r["applied"])
                for r in rows
            ],
        )
    )
    return 0


def run_resolve(args: argparse.Namespace) -> int:
    from db.connection import transaction
    from db.sync import get_conflict, resolve_conflict
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError

    if args.choice == "edit" and args.value is None:
        raise UserError("sync.error.need_value", exit_code=2)
    runtime = open_runtime(args, writes=True)
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

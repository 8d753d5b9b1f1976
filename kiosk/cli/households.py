"""``kiosk households find|show|import|export|forget`` (``add|edit``: kiosk/cli/members.py)."""

from __future__ import annotations

import argparse

from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "households",
        parents=[common],
        help=t("cli.households.help"),
        description=t("cli.households.help"),
    )
    hs = p.add_subparsers(dest="households_command", metavar="ACTION", required=True)

    find = hs.add_parser(
        "find",
        parents=[common],
        help=t("cli.households.find_help"),
        description=t("cli.households.find_help"),
    )
    find.add_argument("query", metavar="QUERY", help=t("cli.households.query"))
    find.add_argument("--limit", type=int, default=20, metavar="N", help=t("cli.opt.limit"))
    find.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    find.set_defaults(handler=run_find)

    show = hs.add_parser(
        "show",
        parents=[common],
        help=t("cli.households.show_help"),
        description=t("cli.households.show_help"),
    )
    show.add_argument("id", metavar="ID")
    show.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    show.set_defaults(handler=run_show)

    from kiosk.cli.households_import import register_import

    register_import(hs, common)

    from kiosk.cli.members import register_households

    register_households(hs, common)  # add, edit

    # privacy: the roster export (masked unless --full) and the erasure on request
    export = hs.add_parser(
        "export",
        parents=[common],
        help=t("privacy.cli.export_help"),
        description=t("privacy.cli.export_description"),
    )
    export.add_argument("--out", required=True, metavar="FILE", help=t("privacy.cli.out"))
    export.add_argument(
        "--grid", action="append", default=[], metavar="G", help=t("privacy.cli.grid")
    )
    export.add_argument("--full", action="store_true", help=t("privacy.cli.full"))
    export.add_argument("--yes", action="store_true", help=t("privacy.cli.yes"))
    export.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    export.set_defaults(handler=run_export)

    forget = hs.add_parser(
        "forget",
        parents=[common],
        help=t("privacy.cli.forget_help"),
        description=t("privacy.cli.forget_description"),
    )
    forget.add_argument("id", metavar="ID", help=t("privacy.cli.forget_id"))
    forget.add_argument("--yes", action="store_true", help=t("privacy.cli.yes"))
    forget.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    forget.set_defaults(handler=run_forget)


def run_find(args: argparse.Namespace) -> int:
    from db.search import search_households
    from kiosk.cli.output import emit_json, info, table
    from kiosk.core.errors import UserError
    from kiosk.domain import present
    from kiosk.runtime import runtime_for

    runtime = runtime_for(args, create=False)
    try:
        if not args.query.strip():
            raise UserError("cli.households.empty_query", exit_code=2)
        limit = max(1, min(args.limit, 1000))
        hits = search_households(runtime.conn, args.query, limit=limit)
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "query": args.query,
                "results": [
                    {
                        **present.household_summary(h.household),
                        "match": h.matched,
                        "matched_member": h.member or None,
                        "rank": h.rank,
                    }
                    for h in hits
                ],
            }
        )
        return 0
    if not hits:
        info(t("cli.households.no_match", query=args.query[:64]))
        return 0
    rows = [
        (
            present.address(h.household),
            present.head(h.household),
            str(h.household.member_count),
            h.household.grid_code,
            present.tags(h.household.tags),
            present.match(h),
            h.household.id,
        )
        for h in hits
    ]
    print(
        table(
            [
                t("col.address"),
                t("col.head"),
                t("col.members"),
                t("col.grid"),
                t("col.tags"),
                t("col.matched"),
                "ID",
            ],
            rows,
        )
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    from db.households import get_household
    from db.labels import active_household_label
    from kiosk.cli.output import emit_json, table
    from kiosk.core.errors import UserError
    from kiosk.domain import present
    from kiosk.qr.payload import make
    from kiosk.runtime import runtime_for

    runtime = runtime_for(args, create=False)
    try:
        h = get_household(runtime.conn, args.id)
        label = active_household_label(runtime.conn, h.id) if h is not None else None
        if h is not None:  # members, phones and ID numbers: an audited lookup
            runtime.ctx.audit(
                "lookup", "household", h.id, household_id=h.id, detail={"via": "households show"}
            )
    finally:
        runtime.close()
    if h is None:
        raise UserError("cli.households.not_found", id=args.id[:64])
    members = [present.member_row(m) for m in h.members]
    # the door label's code (no personal data in it): what a scan or `cases add` takes
    code = make("HH", label.code).readable if label is not None else None
    if args.json:
        emit_json({**present.household_summary(h), "label": code, "members_list": members})
        return 0
    print(present.address(h), f"({h.grid_name})", present.tags(h.tags))
    if h.status:
        print(present.household_status(h))
    print(t("cli.households.label", code=code or t("cli.households.no_label")))
    if h.forgotten:
        return 0  # nobody left to list
    print(
        table(
            [
                t("col.name"),
                t("col.relation"),
                t("col.gender"),
                t("col.birth_year"),
                t("col.phone"),
                t("col.id_number"),
            ],
            [
                (
                    str(m["name"]) + present.member_status(member, short=True),
                    present.relation_label(str(m["relation"] or "")),
                    present.gender_label(str(m["gender"] or "")),
                    str(m["birth_year"] or ""),
                    present.marked(str(m["phone"]), "phone" in m["to_verify"]),  # type: ignore[operator]
                    present.marked(str(m["id_number"]), "id_number" in m["to_verify"]),  # type: ignore[operator]
                )
                for m, member in zip(members, h.members, strict=True)
            ],
        )
    )
    return 0


def _acting_worker(runtime):
    """The worker named with --worker (or KIOSK_WORKER). Erasing a household never falls back
    to the laptop's default worker: the person asking must say who they are."""
    return runtime.worker if runtime.settings.worker else None


def run_forget(args: argparse.Namespace) -> int:
    from db.connection import transaction
    from db.forget import AlreadyForgotten, empty_wal, forget_household
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError
    from kiosk.runtime import act_as_worker, runtime_for
    from kiosk.security.privacy import confirm, require_forget

    runtime = runtime_for(args, create=False, acts=False)
    try:
        conn = runtime.conn
        hid = args.id.strip()
        worker = require_forget(_acting_worker(runtime), conn, hid)
        act_as_worker(runtime, args, writes=True)
        row = conn.execute("SELECT forgotten_at FROM households WHERE id = ?", (hid,)).fetchone()
        if row is None:
            raise UserError("cli.households.not_found", exit_code=2, id=args.id[:64])
        if row[0]:
            raise UserError("privacy.already_forgotten", exit_code=2, id=hid)
        members = conn.execute(
            "SELECT count(*) FROM members WHERE household_id = ?", (hid,)
        ).fetchone()[0]
        confirm(t("privacy.forget_confirm", id=hid, members=members), yes=args.yes)
        try:
            with transaction(conn):
                erasure = forget_household(runtime.ctx, hid)
        except AlreadyForgotten:
            raise UserError("privacy.already_forgotten", exit_code=2, id=hid) from None
        empty_wal(conn)
    finally:
        runtime.close()
    counts = erasure.counts()
    if args.json:
        emit_json({"id": hid, "forgotten": True, "by": worker.id, **counts})
    else:
        info(t("privacy.forgotten_done", id=hid, **counts))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from db.connection import transaction
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError
    from kiosk.households.export import export
    from kiosk.runtime import runtime_for
    from kiosk.security.privacy import confirm, export_grids

    out = Path(args.out).expanduser()
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise UserError("privacy.export.bad_out", exit_code=2, path=str(out))
    if not out.parent.is_dir():
        raise UserError("privacy.export.no_dir", exit_code=2, path=str(out.parent))
    runtime = runtime_for(args, create=False, writes=True)
    try:
        conn = runtime.conn
        grids = export_grids(runtime.worker, conn, args.grid, full=args.full)
        codes = [g.code for g in grids]
        if args.full:
            confirm(
                t("privacy.export.full_confirm", grids=t("ui.list_sep").join(codes)), yes=args.yes
            )

        def audit(rows: int) -> None:
            with transaction(conn):
                runtime.ctx.audit(
                    "export",
                    "households",
                    None,
                    detail={"masked": not args.full, "rows": rows, "grids": codes},
                )

        n = export(conn, [g.id for g in grids], out, full=args.full, before_publish=audit)
    finally:
        runtime.close()
    if args.json:
        emit_json({"out": str(out), "rows": n, "grids": codes, "masked": not args.full})
    else:
        info(
            t(
                "privacy.export.done_full" if args.full else "privacy.export.done",
                rows=n,
                out=str(out),
                grids=t("ui.list_sep").join(codes),
            )
        )
    return 0

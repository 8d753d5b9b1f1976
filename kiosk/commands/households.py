"""``kiosk households find|show|import``."""

from __future__ import annotations

import argparse

from kiosk.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser("households", parents=[common], help=t("cli.households.help"),
                       description=t("cli.households.help"))
    hs = p.add_subparsers(dest="households_command", metavar="ACTION", required=True)

    find = hs.add_parser("find", parents=[common], help=t("cli.households.find_help"),
                         description=t("cli.households.find_help"))
    find.add_argument("query", metavar="QUERY", help=t("cli.households.query"))
    find.add_argument("--limit", type=int, default=20, metavar="N", help=t("cli.opt.limit"))
    find.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    find.set_defaults(handler=run_find)

    show = hs.add_parser("show", parents=[common], help=t("cli.households.show_help"),
                         description=t("cli.households.show_help"))
    show.add_argument("id", metavar="ID")
    show.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    show.set_defaults(handler=run_show)

    from kiosk.roster import register_import

    register_import(hs, common)


def run_find(args: argparse.Namespace) -> int:
    from db.search import search_households
    from kiosk import present
    from kiosk.errors import UserError
    from kiosk.output import emit_json, info, table
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
        emit_json({"query": args.query, "results": [
            {**present.household_summary(h.household), "match": h.matched, "rank": h.rank}
            for h in hits]})
        return 0
    if not hits:
        info(t("cli.households.no_match", query=args.query[:64]))
        return 0
    rows = [(present.address(h.household), h.household.head_name, str(h.household.member_count),
             h.household.grid_code, present.tags(h.household.tags), t(f"match.{h.matched}"),
             h.household.id) for h in hits]
    print(table([t("col.address"), t("col.head"), t("col.members"), t("col.grid"), t("col.tags"),
                 t("col.matched"), "ID"], rows))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from db.households import get_household
    from kiosk import present
    from kiosk.errors import UserError
    from kiosk.output import emit_json, table
    from kiosk.runtime import runtime_for

    runtime = runtime_for(args, create=False)
    try:
        h = get_household(runtime.conn, args.id)
    finally:
        runtime.close()
    if h is None:
        raise UserError("cli.households.not_found", id=args.id[:64])
    members = [present.member_row(m) for m in h.members]
    if args.json:
        emit_json({**present.household_summary(h), "members_list": members})
        return 0
    print(present.address(h), f"({h.grid_name})", present.tags(h.tags))
    print(table([t("col.name"), t("col.relation"), t("col.gender"), t("col.birth_year"),
                 t("col.phone"), t("col.id_number")],
                [(str(m["name"]), str(m["relation"]), str(m["gender"]),
                  str(m["birth_year"] or ""), str(m["phone"]), str(m["id_number"]))
                 for m in members]))
    return 0

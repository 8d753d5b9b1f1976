"""``kiosk visits add|list``: record and read visits from the command line."""

from __future__ import annotations

import argparse

from kiosk.cli.output import open_runtime
from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "visits", parents=[common], help=t("visits.cli.help"), description=t("visits.cli.help")
    )
    vs = p.add_subparsers(dest="visits_command", metavar="ACTION", required=True)

    add = vs.add_parser(
        "add", parents=[common], help=t("visits.cli.add_help"), description=t("visits.cli.add_help")
    )
    add.add_argument("household", metavar="HOUSEHOLD", help=t("visits.cli.household"))
    add.add_argument(
        "--type",
        default="door",
        choices=["door", "patrol", "meeting", "phone"],
        help=t("visits.cli.type"),
    )
    add.add_argument("--met", action="append", default=[], metavar="NAME", help=t("visits.cli.met"))
    add.add_argument("--nobody-home", action="store_true", help=t("visits.cli.nobody_home"))
    add.add_argument("--revisit", default="", metavar="DATE", help=t("visits.cli.revisit"))
    add.add_argument("--note", default="", help=t("visits.cli.note"))
    add.add_argument(
        "--problem",
        action="append",
        default=[],
        metavar="CATEGORY:TEXT",
        help=t("visits.cli.problem"),
    )
    add.add_argument(
        "--problem-photo",
        action="append",
        default=[],
        metavar="N:FILE",
        help=t("visits.cli.problem_photo"),
    )
    add.add_argument(
        "--suggestion", action="append", default=[], metavar="TEXT", help=t("visits.cli.suggestion")
    )
    add.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    add.set_defaults(handler=run_add)

    ls = vs.add_parser(
        "list",
        parents=[common],
        help=t("visits.cli.list_help"),
        description=t("visits.cli.list_help"),
    )
    ls.add_argument("household", metavar="HOUSEHOLD", help=t("visits.cli.household"))
    ls.add_argument("--limit", type=int, default=20, metavar="N", help=t("cli.opt.limit"))
    ls.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    ls.set_defaults(handler=run_list)


def run_add(args: argparse.Namespace) -> int:
    from datetime import date

    from db.connection import transaction
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError
    from kiosk.domain.categories import load_categories
    from kiosk.domain.visits import record_visit
    from kiosk.security.roles import require_on_household

    problems = []
    runtime = open_runtime(args, writes=True)
    try:
        require_on_household(runtime.worker, "visit.record", runtime.conn, args.household)
        cats = load_categories(runtime.settings)
        for value in args.problem:
            code, sep, text = value.partition(":")
            if not sep:
                code, sep, text = value.partition("：")
            if not sep or not code.strip():
                raise UserError("visits.cli.problem_format", exit_code=2, value=value[:60])
            category = cats.get(code.strip()) or cats.resolve(code.strip())
            problems.append({"category": category.code, "text": text})
        # every photo prepared before anything is written: a bad file is refused by name
        photos = _problem_photos(args.problem_photo, len(problems), runtime.settings)
        form = {
            "visit_type": args.type,
            "met_other": "、".join(args.met),
            "nobody_home": args.nobody_home,
            "revisit_on": args.revisit,
            "note": args.note,
            "problems": problems,
            "suggestions": [{"text": s} for s in args.suggestion],
        }
        with transaction(runtime.conn):
            vid = record_visit(
                runtime.ctx,
                args.household,
                form,
                today=date.today(),
                categories=cats,
                photos=photos,
            )
        cases = runtime.conn.execute(
            "SELECT count(*) FROM visit_items WHERE visit_id = ? AND case_id IS NOT NULL", (vid,)
        ).fetchone()[0]
    finally:
        runtime.close()
    if args.json:
        emit_json({"id": vid, "cases": cases})
    else:
        info(t("visits.cli.saved", id=vid))
    return 0


def _problem_photos(values: list[str], problems: int, settings) -> dict:
    """``--problem-photo N:FILE`` values as each problem's prepared photos (index from 0)."""
    from kiosk.core.errors import UserError
    from kiosk.photos.attach import prepare_files

    paths: dict[int, list[str]] = {}
    for value in values:
        n, sep, path = value.partition(":")
        if not sep:
            n, sep, path = value.partition("：")
        n = n.strip()
        if not sep or not n.isdigit() or not 1 <= int(n) <= problems or not path.strip():
            raise UserError(
                "visits.cli.problem_photo_format", exit_code=2, n=problems, value=value[:60]
            )
        paths.setdefault(int(n) - 1, []).append(path.strip())
    return {i: prepare_files(p, settings) for i, p in paths.items()}


def run_list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from db.visits import list_visits
    from kiosk.cli.output import emit_json, info
    from kiosk.domain.visits import format_visit

    runtime = open_runtime(args)
    try:
        visits = list_visits(runtime.conn, args.household, limit=max(1, min(args.limit, 500)))
    finally:
        runtime.close()
    if args.json:
        emit_json({"household_id": args.household, "visits": [asdict(v) for v in visits]})
        return 0
    if not visits:
        info(t("visits.none"))
    for v in visits:
        print(format_visit(v))
    return 0

"""``kiosk feedback add|list``: community feedback not tied to one household."""

from __future__ import annotations

import argparse

from kiosk.cli.output import open_runtime
from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "feedback",
        parents=[common],
        help=t("visits.cli.feedback_help"),
        description=t("visits.cli.feedback_help"),
    )
    fs = p.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    add = fs.add_parser(
        "add",
        parents=[common],
        help=t("visits.cli.feedback_add_help"),
        description=t("visits.cli.feedback_add_help"),
    )
    add.add_argument("--category", required=True, help=t("visits.cli.feedback_category"))
    add.add_argument("--text", required=True, help=t("visits.cli.feedback_text"))
    add.add_argument("--place", default="", help=t("visits.cli.feedback_place"))
    add.add_argument("--source", default="other", help=t("visits.cli.feedback_source"))
    add.add_argument("--anonymous", action="store_true", help=t("visits.cli.feedback_anonymous"))
    add.add_argument(
        "--raised-by", default="", metavar="NAME", help=t("visits.cli.feedback_raised_by")
    )
    add.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    add.set_defaults(handler=run_add)
    ls = fs.add_parser(
        "list",
        parents=[common],
        help=t("visits.cli.feedback_list_help"),
        description=t("visits.cli.feedback_list_help"),
    )
    ls.add_argument("--limit", type=int, default=50, metavar="N", help=t("cli.opt.limit"))
    ls.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    ls.set_defaults(handler=run_list)


def _grid_id(runtime) -> str | None:
    from db.areas import grid_by_code

    worker = runtime.worker
    if worker and worker.grids:
        grid = grid_by_code(runtime.conn, worker.grids[0])
        return grid.id if grid else None
    return None


def run_add(args: argparse.Namespace) -> int:
    from db.connection import transaction
    from db.feedback import save_feedback
    from kiosk.cli.output import emit_json, info
    from kiosk.domain.categories import load_categories
    from kiosk.domain.feedback import validate_feedback
    from kiosk.security.roles import require

    runtime = open_runtime(args, writes=True)
    try:
        require(runtime.worker, "feedback.record")
        fb = validate_feedback(
            {
                "category": args.category,
                "text": args.text,
                "place": args.place,
                "source": args.source,
                "anonymous": args.anonymous,
                "raised_by": args.raised_by,
            },
            categories=load_categories(runtime.settings),
            grid_id=_grid_id(runtime),
        )
        with transaction(runtime.conn):
            fid = save_feedback(runtime.ctx, fb)
    finally:
        runtime.close()
    if args.json:
        emit_json({"id": fid})
    else:
        info(t("visits.cli.feedback_saved", id=fid))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from db.feedback import list_feedback
    from kiosk.cli.output import emit_json, info, table
    from kiosk.domain.categories import load_categories

    runtime = open_runtime(args)
    try:
        items = list_feedback(runtime.conn, limit=max(1, min(args.limit, 1000)))
        cats = load_categories(runtime.settings)
    finally:
        runtime.close()
    if args.json:
        emit_json({"feedback": [asdict(f) for f in items]})
        return 0
    if not items:
        info(t("visits.feedback.list_empty"))
        return 0
    print(
        table(
            [
                t("visits.feedback.category"),
                t("visits.feedback.source"),
                t("visits.feedback.place"),
                t("visits.feedback.raised_by"),
                t("visits.feedback.text"),
            ],
            [
                (
                    cats.label(f.category),
                    t(f"visits.feedback.sources.{f.source}"),
                    f.place,
                    t("visits.feedback.anonymous_mark") if f.anonymous else f.raised_by,
                    f.text.replace("\n", " ")[:60],
                )
                for f in items
            ],
        )
    )
    return 0

"""``kiosk feedback add|list|show``: community feedback not tied to one household, and its
photos."""

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
    add.add_argument(
        "--photo",
        action="append",
        default=[],
        metavar="FILE",
        help=t("photos.cli.photo_feedback"),
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
    show = fs.add_parser(
        "show",
        parents=[common],
        help=t("visits.cli.feedback_show_help"),
        description=t("visits.cli.feedback_show_help"),
    )
    show.add_argument("feedback_id", metavar="ID", help=t("visits.cli.feedback_id"))
    show.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    show.set_defaults(handler=run_show)


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
    from kiosk.photos.attach import attach_prepared_to_feedback, prepare_files
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
        # every file prepared before anything is written: a bad file leaves no feedback
        photos = prepare_files(args.photo, runtime.settings)
        with transaction(runtime.conn):
            fid = save_feedback(runtime.ctx, fb)
            photo_ids = attach_prepared_to_feedback(runtime.ctx, fid, photos)
    finally:
        runtime.close()
    if args.json:
        emit_json({"id": fid, "photos": photo_ids})
    elif photo_ids:
        info(t("visits.cli.feedback_saved_photos", id=fid, n=len(photo_ids)))
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
                t("visits.feedback.photos"),
            ],
            [
                (
                    cats.label(f.category),
                    t(f"visits.feedback.sources.{f.source}"),
                    f.place,
                    t("visits.feedback.anonymous_mark") if f.anonymous else f.raised_by,
                    f.text.replace("\n", " ")[:60],
                    str(f.photos) if f.photos else "",
                )
                for f in items
            ],
        )
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from db.feedback import get_feedback
    from db.photos import photos_of_feedback
    from kiosk.cli.output import emit_json
    from kiosk.core.errors import UserError
    from kiosk.domain.categories import load_categories

    runtime = open_runtime(args)
    try:
        item = get_feedback(runtime.conn, args.feedback_id)
        if item is None:
            raise UserError("visits.cli.feedback_not_found", exit_code=2, id=args.feedback_id[:40])
        photos = photos_of_feedback(runtime.conn, item.id)
        cats = load_categories(runtime.settings)
    finally:
        runtime.close()
    if args.json:
        emit_json({**asdict(item), "photos": [asdict(p) for p in photos]})
        return 0
    who = t("visits.feedback.anonymous_mark") if item.anonymous else item.raised_by
    for label, value in (
        (t("visits.feedback.category"), cats.label(item.category)),
        (t("visits.feedback.source"), t(f"visits.feedback.sources.{item.source}")),
        (t("visits.feedback.place"), item.place),
        (t("visits.feedback.raised_by"), who),
        (t("visits.feedback.text"), item.text),
    ):
        print(f"{label}: {value}")
    if photos:
        print(t("photos.count", n=len(photos)))
    for p in photos:
        line = t("photos.one", width=p.width, height=p.height, kb=max(1, p.bytes // 1024))
        where = "" if p.here else "  " + t("photos.not_here")
        print(f"  {line}  {p.sha256[:12]}{where}")
    return 0

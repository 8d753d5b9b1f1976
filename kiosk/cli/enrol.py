"""``kiosk enrol --hub URL --code CODE``: enrol this laptop with a hub."""

from __future__ import annotations

import argparse

from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "enrol",
        parents=[common],
        help=t("sync.cli.enrol_help"),
        description=t("sync.cli.enrol_help"),
    )
    p.add_argument("--hub", required=True, metavar="URL", help=t("sync.cli.enrol_hub"))
    p.add_argument("--code", required=True, metavar="CODE", help=t("sync.cli.enrol_code"))
    p.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.runtime import runtime_for
    from kiosk.sync.client import enrol

    runtime = runtime_for(args, acts=False)  # the code is the proof, not a worker
    try:
        resp = enrol(runtime.ctx, args.hub, args.code)
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {"hub": args.hub, "name": resp.name, "device_id": resp.device_id, "grids": resp.grids}
        )
    else:
        info(t("sync.cli.enrolled", hub=args.hub, name=resp.name))
    return 0

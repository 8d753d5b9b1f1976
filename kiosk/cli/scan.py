"""``kiosk scan``: read labels from a keyboard-wedge scanner typing into the terminal (one
payload per line on standard input), or with ``--camera`` from a webcam."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "scan", parents=[common], help=t("qr.cli.scan_help"), description=t("qr.cli.scan_help")
    )
    p.add_argument("--camera", action="store_true", help=t("qr.cli.camera"))
    p.add_argument("--timeout", type=float, default=30.0, metavar="S", help=t("qr.cli.timeout"))
    p.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.cli.lookup import audit_lookup, print_result
    from kiosk.cli.output import emit_json, info
    from kiosk.core.config import camera_source
    from kiosk.core.errors import UserError
    from kiosk.qr.lookup import resolve_text, to_json
    from kiosk.runtime import load, open_runtime

    settings = load(
        getattr(args, "db", None), getattr(args, "lang", None), getattr(args, "worker", None)
    )
    if args.camera:
        from kiosk.qr.camera import scan_camera

        info(t("qr.camera.looking", seconds=int(args.timeout)))
        texts: Iterable[str] = [
            scan_camera(camera_source(settings.camera_index), max(1.0, args.timeout))
        ]
    else:
        if sys.stdin.isatty():
            info(t("qr.cli.scan_prompt"))
        texts = (line.strip() for line in sys.stdin)
    runtime = open_runtime(settings, create=False)
    results, failed = [], 0
    try:
        for text in texts:
            if not text:
                continue
            try:
                result = resolve_text(runtime.conn, text)
            except UserError as exc:
                failed += 1
                info(exc.message())
                results.append({"input": text[:64], "error": exc.message()})
                continue
            audit_lookup(runtime.ctx, result, "camera" if args.camera else "scan")
            if args.json:
                results.append(to_json(result))
            else:
                print_result(result)
                sys.stdout.flush()
    finally:
        runtime.close()
    if args.json:
        emit_json({"scans": results} if not args.camera else results[0])
    return 1 if failed else 0

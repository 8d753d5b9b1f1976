"""``kiosk labels --out FILE.pdf``: A4 label sheets; ``kiosk slip CASE --out FILE.pdf``: the
resident's case slip."""

from __future__ import annotations

import argparse
import sys
import time

from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "labels",
        parents=[common],
        help=t("qr.cli.labels_help"),
        description=t("qr.cli.labels_help"),
    )
    p.add_argument("--out", required=True, metavar="FILE.pdf", help=t("qr.cli.out"))
    which = p.add_mutually_exclusive_group()
    which.add_argument("--grid", metavar="G", help=t("qr.cli.grid"))
    which.add_argument("--compound", metavar="C", help=t("qr.cli.compound"))
    which.add_argument("--household", action="append", metavar="ID", help=t("qr.cli.household"))
    p.add_argument("--layout", default="3x8", choices=["3x8", "3x7"], help=t("qr.cli.layout"))
    p.add_argument("--reprint", action="store_true", help=t("qr.cli.reprint"))
    p.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    p.set_defaults(handler=run_labels)

    s = sub.add_parser(
        "slip", parents=[common], help=t("qr.cli.slip_help"), description=t("qr.cli.slip_help")
    )
    s.add_argument("case", metavar="CASE", help=t("qr.cli.case"))
    what = s.add_mutually_exclusive_group(required=True)
    what.add_argument("--out", metavar="FILE.pdf", help=t("qr.cli.out"))
    what.add_argument("--revoke", action="store_true", help=t("resident.cli.revoke"))
    s.add_argument("--reprint", action="store_true", help=t("resident.cli.reprint"))
    s.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    s.set_defaults(handler=run_slip)


class TerminalProgress:
    """A progress bar on stderr: redrawn in place on a terminal, a line every few seconds
    otherwise (logs, pipes)."""

    def __init__(self, stream=sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        final = done >= total
        if not final and now - self.last < (0.1 if self.tty else 2.0):
            return
        self.last = now
        filled = int(self.width * done / max(total, 1))
        bar = "█" * filled + "░" * (self.width - filled)
        text = t(
            "qr.print.progress",
            bar=bar,
            done=done,
            total=total,
            pct=int(100 * done / max(total, 1)),
        )
        if self.tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _writer(runtime):
    from db.connection import transaction

    def write(fn):
        with transaction(runtime.conn):
            return fn(runtime.ctx)

    return write


def run_labels(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.qr.fonts import font_for
    from kiosk.qr.printing import Selection, print_labels
    from kiosk.runtime import runtime_for
    from kiosk.security.roles import reach_grids, require_unless_setting_up

    runtime = runtime_for(args, create=False, writes=True)
    try:
        font = font_for(runtime.settings)
        require_unless_setting_up(runtime.worker, "labels.print", runtime.conn)
        within = reach_grids(runtime.conn, runtime.worker)
        summary = print_labels(
            runtime.conn,
            _writer(runtime),
            Selection(args.grid, args.compound, args.household or [], within),
            args.out,
            font,
            layout=args.layout,
            reprint=args.reprint,
            progress=TerminalProgress(),
        )
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "out": summary.path,
                "labels": summary.labels,
                "pages": summary.pages,
                "created": summary.created,
                "reused": summary.reused,
                "layout": args.layout,
            }
        )
    else:
        info(
            t(
                "qr.print.done",
                path=summary.path,
                labels=summary.labels,
                pages=summary.pages,
                created=summary.created,
            )
        )
    return 0


def run_slip(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.qr.fonts import font_for
    from kiosk.qr.printing import print_case_slip
    from kiosk.runtime import runtime_for

    if args.revoke:
        return _revoke_slip(args)
    runtime = runtime_for(args, create=False, writes=True)
    try:
        font = font_for(runtime.settings)
        number, code = print_case_slip(
            runtime.conn, _writer(runtime), args.case, args.out, font, reprint=args.reprint
        )
    finally:
        runtime.close()
    if args.json:
        emit_json({"out": args.out, "case": number, "code": code})
    else:
        info(t("qr.slip.done", path=args.out, number=number, code=code))
    return 0


def _revoke_slip(args: argparse.Namespace) -> int:
    """``kiosk slip CASE --revoke``: the case's slips lead nowhere any more (a scan at the
    counter says the slip was withdrawn)."""
    from db.cases import find_case_id
    from db.labels import revoke_case_slip
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError
    from kiosk.runtime import runtime_for
    from kiosk.security.roles import require_on_case

    runtime = runtime_for(args, create=False, writes=True)
    try:
        case_id = find_case_id(runtime.conn, args.case)
        if case_id is None:
            raise UserError("qr.slip.unknown_case", exit_code=2, case=args.case[:60])
        require_on_case(runtime.worker, "labels.print", runtime.conn, case_id)
        n = _writer(runtime)(lambda ctx: revoke_case_slip(ctx, case_id))
    finally:
        runtime.close()
    if args.json:
        emit_json({"case": args.case, "revoked": n})
    else:
        info(t("resident.cli.revoked", n=n))
    return 0

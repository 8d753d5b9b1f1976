"""``kiosk ledger original|progress|resolution --out FILE``: the three ledgers as spreadsheets."""

from __future__ import annotations

import argparse

from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "ledger", parents=[common], help=t("ledger.cli.help"), description=t("ledger.cli.help")
    )
    p.add_argument(
        "kind",
        choices=["original", "progress", "resolution"],
        metavar="KIND",
        help=t("ledger.cli.kind"),
    )
    p.add_argument("--out", required=True, metavar="FILE", help=t("ledger.cli.out"))
    p.add_argument("--from", dest="date_from", metavar="DATE", help=t("ledger.cli.from"))
    p.add_argument("--to", dest="date_to", metavar="DATE", help=t("ledger.cli.to"))
    p.add_argument("--grid", metavar="G", help=t("ledger.cli.grid"))
    p.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    p.set_defaults(handler=run)


def parse_date(value: str | None):
    from datetime import date

    from kiosk.core.errors import UserError

    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UserError("cases.error.bad_date", exit_code=2, value=value[:40]) from None


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from db.areas import grid_by_code
    from db.case_fold import EscalationRules
    from kiosk.cases.ledger import LedgerQuery, export
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError
    from kiosk.domain.categories import load_categories
    from kiosk.runtime import runtime_for
    from kiosk.security.privacy import export_grids

    out = Path(args.out).expanduser()
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise UserError("cases.error.bad_out", exit_code=2, path=str(out))
    if not out.parent.exists():
        raise UserError("ledger.no_dir", exit_code=2, path=str(out.parent))
    date_from, date_to = parse_date(args.date_from), parse_date(args.date_to)
    if date_from and date_to and date_from > date_to:
        raise UserError("cases.error.bad_range", exit_code=2)
    runtime = runtime_for(args, create=False, writes=True)  # an export
    started = time.perf_counter()
    try:
        grid_id = None
        if args.grid:
            g = grid_by_code(runtime.conn, args.grid)
            if g is None:
                raise UserError("cases.error.bad_grid", exit_code=2, grid=args.grid[:40])
            grid_id = g.id
        # A ledger names residents (who raised a case, their door): only the grids of the
        # acting worker's scope, checked before anything is written (kiosk/security/privacy.py).
        scope = export_grids(
            runtime.worker, runtime.conn, [args.grid] if args.grid else [], full=False
        )
        query = LedgerQuery(
            args.kind, date_from, date_to, grid_id, grid_ids=tuple(g.id for g in scope)
        )
        n = export(
            runtime.conn,
            query,
            out,
            categories=load_categories(runtime.settings),
            rules=EscalationRules.from_settings(runtime.settings),
        )
        # Audited: the ledgers carry addresses and names, never phone or ID numbers (masked).
        runtime.ctx.audit(
            "export",
            "ledger",
            None,
            detail={
                "format": out.suffix.lower().lstrip("."),
                "ledger": args.kind,
                "rows": n,
                "masked": True,
                "grids": sorted(g.code for g in scope),
            },
        )
    finally:
        runtime.close()
    seconds = round(time.perf_counter() - started, 2)
    if args.json:
        emit_json({"kind": args.kind, "out": str(out), "rows": n, "seconds": seconds})
    else:
        info(t("ledger.cli.done", name=t(f"ledger.name.{args.kind}"), rows=n, out=str(out)))
    return 0

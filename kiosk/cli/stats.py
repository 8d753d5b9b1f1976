"""``kiosk stats``: the figures, as a table or as JSON."""

from __future__ import annotations

import argparse

from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "stats", parents=[common], help=t("cli.stats.help"), description=t("cli.stats.help")
    )
    p.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.cases.stats import collect
    from kiosk.cli.output import emit_json
    from kiosk.runtime import runtime_for

    runtime = runtime_for(args, create=False)
    try:
        figures = collect(runtime.conn)
    finally:
        runtime.close()
    if args.json:
        emit_json(figures)
    else:
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            if not isinstance(value, dict | list):
                print(f"{key:<{width}}  {value}")
    return 0

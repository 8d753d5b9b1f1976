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
    from kiosk.cli.output import emit_json, table
    from kiosk.core.i18n import has
    from kiosk.runtime import runtime_for

    runtime = runtime_for(args, create=False)
    try:
        figures = collect(runtime.conn)
    finally:
        runtime.close()
    if args.json:
        emit_json(figures)  # keys and fractions, for programs
        return 0
    rows = []
    for key, value in figures.items():
        if isinstance(value, dict | list):
            continue
        label = t(f"stats.{key}") if has(f"stats.{key}") else key
        if key.endswith("_rate") and isinstance(value, int | float):
            shown = f"{value * 100:.1f}%"
        else:
            shown = str(value)
        rows.append((label, shown))
    print(table([t("cli.stats.col_figure"), t("cli.stats.col_value")], rows))
    return 0

"""``kiosk`` with no subcommand: open the interface."""

from __future__ import annotations

import argparse


def run_app(args: argparse.Namespace) -> int:
    from kiosk.runtime import load, open_runtime

    settings = load(getattr(args, "db", None), getattr(args, "lang", None),
                    getattr(args, "worker", None))
    runtime = open_runtime(settings)
    try:
        if getattr(args, "ensure_demo", False) and runtime.conn.execute(
            "SELECT 1 FROM households LIMIT 1"
        ).fetchone() is None:
            from kiosk.commands.demo import build_demo
            from kiosk.i18n import t
            from kiosk.output import info

            info(t("cli.demo.building"))
            build_demo(runtime, 3000, 1)
        from kiosk.app import KioskApp

        KioskApp(runtime).run()
    finally:
        runtime.close()
    return 0

"""``kiosk`` with no subcommand: open the interface."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.core.config import Settings


def run_app(args: argparse.Namespace) -> int:
    from kiosk.runtime import load, open_runtime

    settings = load(
        getattr(args, "db", None), getattr(args, "lang", None), getattr(args, "worker", None)
    )
    if getattr(args, "ensure_demo", False):
        ensure_demo(settings)
    runtime = open_runtime(settings)
    try:
        from kiosk.core.hangup import exit_on_hangup

        app = start_app(runtime)
        exit_on_hangup(app)
        app.run()
    finally:
        runtime.close()
    return 0


def ensure_demo(settings: Settings) -> None:
    """The demo district in an empty database (``make run``'s first run). Opened without the
    worker the settings name: on a fresh machine that worker (``KIOSK_WORKER=演示网格员``) is
    one the demo is about to create."""
    import msgspec

    from kiosk.runtime import open_runtime

    runtime = open_runtime(msgspec.structs.replace(settings, worker=None))
    try:
        if runtime.conn.execute("SELECT 1 FROM households LIMIT 1").fetchone() is None:
            from kiosk.cli.demo import build_demo
            from kiosk.cli.output import info
            from kiosk.core.i18n import t

            info(t("cli.demo.building"))
            build_demo(runtime, 3000, 1)
    finally:
        runtime.close()


def start_app(runtime):  # type: ignore[no-untyped-def]
    """The interface for ``runtime``: the sign-in screen, offering the ``worker`` setting's
    name or else the last worker who signed in on this laptop. That worker's home screen is
    fetched while they type their PIN (``KioskApp.prefetch_home``), and dropped if someone
    else signs in."""
    from kiosk.security.session import last_worker

    offered = runtime.worker if runtime.settings.worker else last_worker(runtime.conn)
    from kiosk.app.shell import KioskApp

    return KioskApp(runtime, offered_worker=offered)

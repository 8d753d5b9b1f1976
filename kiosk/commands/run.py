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
        from kiosk.hangup import exit_on_hangup

        app = start_app(runtime)
        exit_on_hangup(app)
        app.run()
    finally:
        runtime.close()
    return 0


def start_app(runtime):  # type: ignore[no-untyped-def]
    """The interface for ``runtime``: the sign-in screen, with the worker it offers (the
    ``worker`` setting, else the last worker who signed in on this laptop) and that worker's
    home screen already being fetched.

    The first load runs on a thread from before Textual is imported, so the database work
    overlaps the import and the app's own start-up; if someone else signs in, it is dropped.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    from kiosk.home_data import load_home
    from kiosk.session import last_worker

    settings = runtime.settings
    offered = runtime.worker if settings.worker else last_worker(runtime.conn)

    def fetch():  # type: ignore[no-untyped-def]
        conn = runtime.db.reader()
        try:
            return load_home(conn, offered, settings.care_revisit_days, settings.page_size)
        finally:
            conn.close()

    future: Future | None = None
    if offered is not None:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="home-prefetch")
        future = executor.submit(fetch)
        executor.shutdown(wait=False)
    from kiosk.app import KioskApp

    return KioskApp(runtime, offered_worker=offered, home_prefetch=future)

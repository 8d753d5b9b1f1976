"""``kiosk office serve``: the office replica (a community's or a street's database, enrolled
at the hub as an office device) kept fresh, every minute and on demand (docs/office.md).

``kiosk office web [--db PATH] [--host H] [--port P] [--lang zh|en]``: the interface in the
supervisors' browsers on the office LAN (kiosk/app/web.py; docs/deployment.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.core.i18n import t


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 86_400:
        raise argparse.ArgumentTypeError(t("office.error.every", value=text[:12]))
    return value


def register(sub, common) -> None:
    p = sub.add_parser(
        "office", parents=[common], help=t("office.cli.help"), description=t("office.cli.help")
    )
    ss = p.add_subparsers(dest="office_command", required=True, metavar="ACTION")
    serve = ss.add_parser(
        "serve",
        parents=[common],
        help=t("office.cli.serve_help"),
        description=t("office.cli.serve_help"),
    )
    serve.add_argument("--hub", metavar="URL", help=t("sync.cli.hub"))
    serve.add_argument(
        "--every", type=_seconds, default=60.0, metavar="SECONDS", help=t("office.cli.every")
    )
    serve.add_argument("--once", action="store_true", help=t("office.cli.once"))
    serve.set_defaults(handler=run_serve)
    web = ss.add_parser(
        "web",
        parents=[common],
        help=t("office.web.help"),
        description=t("office.web.description"),
    )
    web.add_argument("--host", default="127.0.0.1", help=t("office.web.host"))
    web.add_argument("--port", type=_port, default=8420, help=t("office.web.port"))
    web.set_defaults(handler=run_web)


def _check_replica(args: argparse.Namespace) -> str:
    """The replica's database path, once it is known to be an office device's."""
    from db.context import get_meta
    from db.sync import META_ROLE
    from kiosk.cli.output import open_runtime
    from kiosk.core.errors import UserError

    runtime = open_runtime(args, acts=False)
    try:
        role = get_meta(runtime.conn, META_ROLE)
        path = str(runtime.db.path)
    finally:
        runtime.close()
    if role != "office":
        raise UserError(
            "office.error.not_office",
            exit_code=2,
            path=path,
            role=t(f"sync.hub_cli.role_{role}") if role else t("office.not_enrolled"),
        )
    return path


def sync_database(db: str | None, hub_url: str | None = None, lang: str | None = None) -> dict:
    """One sync of the replica database ``db``, opened for the round and closed after (the
    browser sessions' own connections see a file nobody holds open between rounds)."""
    from kiosk.runtime import load, open_runtime
    from kiosk.sync.client import run_sync

    runtime = open_runtime(load(db=db, lang=lang))  # the command's language, not the default
    try:
        s = runtime.settings
        report = run_sync(
            runtime.ctx,
            hub_url=hub_url or s.hub_url,
            batch_size=s.sync_batch,
            timeout=s.sync_timeout,
        )
        return report.as_dict()
    finally:
        runtime.close()


def run_serve(args: argparse.Namespace) -> int:
    import signal
    import threading

    from kiosk.cli.output import info
    from kiosk.sync.replica import Freshener, Round

    path = _check_replica(args)
    failures = [0]

    def said(r: Round) -> None:
        if r.error is None and r.figures is not None:
            info(t("office.round", took=f"{r.took:.1f}", **r.figures))
            failures[0] = 0
        else:
            failures[0] += 1
            info(t("office.round_failed", why=r.error or "", every=int(args.every)))

    fresh = Freshener(
        lambda: sync_database(path, args.hub, getattr(args, "lang", None)), args.every, said
    )
    if args.once:
        return 0 if fresh.run_round().error is None else 6
    done = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: fresh.now())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    info(t("office.ready", path=path, every=int(args.every)))
    fresh.start()
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        fresh.stop()
    return 0


def _port(text: str) -> int:
    """A TCP port, or argparse's usage error in the interface's language."""
    if not text.isdigit() or len(text) > 5 or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(t("error.bad_port", value=text[:12]))
    return int(text)


def run_web(args: argparse.Namespace) -> int:
    from kiosk.app.web import serve, wildcard
    from kiosk.cli.output import info
    from kiosk.core.errors import UserError
    from kiosk.core.i18n import language
    from kiosk.runtime import load, open_runtime
    from kiosk.security.roles import setting_up

    settings = load(getattr(args, "db", None), getattr(args, "lang", None))
    # The database must exist and open (its key too, when encrypted), and someone must be able
    # to sign in: the first-run set-up screen is for the office PC itself, never for any
    # browser on the LAN (whoever filled it in would make themselves the administrator).
    runtime = open_runtime(settings, create=False)
    try:
        path = Path(runtime.db.path).resolve()
        if setting_up(runtime.conn):
            raise UserError("office.web.not_set_up", exit_code=2, path=str(path))
    finally:
        runtime.close()

    def ready(url: str) -> None:
        # One line once the port is bound (scripts and tests wait on it), then the LAN note.
        info(t("office.web.ready", url=url, db=str(path)))
        if wildcard(args.host):
            info(t("office.web.every_address", port=args.port))

    serve(path, host=args.host, port=args.port, lang=language(), ready=ready)
    return 0

"""``kiosk office web [--db PATH] [--host H] [--port P] [--lang zh|en]``: the interface in
the supervisors' browsers on the office LAN (kiosk/app/web.py; docs/deployment.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "office", parents=[common], help=t("office.cli.help"), description=t("office.cli.help")
    )
    actions = p.add_subparsers(dest="office_command", metavar="ACTION", required=True)
    web = actions.add_parser(
        "web",
        parents=[common],
        help=t("office.web.help"),
        description=t("office.web.description"),
    )
    web.add_argument("--host", default="127.0.0.1", help=t("office.web.host"))
    web.add_argument("--port", type=_port, default=8420, help=t("office.web.port"))
    web.set_defaults(handler=run_web)


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

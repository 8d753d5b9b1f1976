"""``kiosk resident``: the resident self-service counter (kiosk/app/resident.py)."""

from __future__ import annotations

import argparse

from kiosk.core.i18n import t


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 86400:
        raise argparse.ArgumentTypeError(t("resident.cli.bad_idle", value=text[:12]))
    return value


def register(sub, common) -> None:
    p = sub.add_parser(
        "resident",
        parents=[common],
        help=t("resident.cli.help"),
        description=t("resident.cli.description"),
    )
    p.add_argument(
        "--idle",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help=t("resident.cli.idle"),
    )
    p.set_defaults(handler=run_resident)


def run_resident(args: argparse.Namespace) -> int:
    """Start the counter as its identity (``--worker``, role ``kiosk``), after its PIN."""
    from kiosk.core.errors import UserError
    from kiosk.runtime import act_as_worker, runtime_for
    from kiosk.security.roles import KIOSK, role_label

    runtime = runtime_for(args, create=False, acts=False)
    try:
        counter = runtime.worker
        if not runtime.settings.worker or counter is None:
            raise UserError("resident.cli.no_counter", exit_code=2)
        if counter.role != KIOSK:
            raise UserError(
                "resident.cli.not_counter",
                exit_code=3,
                name=counter.name,
                role=role_label(counter.role),
            )
        if counter.disabled:
            raise UserError("error.worker_disabled", exit_code=3, name=counter.name)
        _check_counter_pc(runtime.conn)
        act_as_worker(runtime, args, writes=True)  # the counter's PIN, as any command's
        from kiosk.app.resident import IDLE_SECONDS, ResidentApp
        from kiosk.core.hangup import exit_on_hangup

        app = ResidentApp(runtime, counter, idle_seconds=args.idle or IDLE_SECONDS)
        exit_on_hangup(app)
        app.run()
    finally:
        runtime.close()
    return 0


def _check_counter_pc(conn) -> None:
    """The counter runs on a counter PC, or a database not enrolled anywhere (trying it out):
    never on a worker's laptop or an office PC, whose databases hold households behind a
    public screen. And only once an administrator can sign in: nobody else can end it (F10),
    and until then no PIN, the counter's included, would be asked."""
    from db.context import get_meta
    from db.sync import META_ROLE
    from kiosk.core.errors import UserError
    from kiosk.security.roles import setting_up

    role = get_meta(conn, META_ROLE)
    if role not in (None, "counter"):
        raise UserError(
            "resident.cli.not_counter_pc", exit_code=3, device=t(f"sync.hub_cli.role_{role}")
        )
    if setting_up(conn):
        raise UserError("resident.cli.setting_up", exit_code=3)

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
        act_as_worker(runtime, args, writes=True)  # the counter's PIN, as any command's
        from kiosk.app.resident import IDLE_SECONDS, ResidentApp
        from kiosk.core.hangup import exit_on_hangup

        app = ResidentApp(runtime, counter, idle_seconds=args.idle or IDLE_SECONDS)
        exit_on_hangup(app)
        app.run()
    finally:
        runtime.close()
    return 0

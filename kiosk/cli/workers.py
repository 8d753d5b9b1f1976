"""``kiosk workers``: add, list, disable, enable, set-pin. Administrators only, acting as
``--worker NAME``; the very first administrator of a database may be added by anyone."""

from __future__ import annotations

import argparse

from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "workers", parents=[common], help=t("workers.help"), description=t("workers.help")
    )
    ws = p.add_subparsers(
        dest="workers_command", required=True, metavar="{add,list,disable,enable,set-pin}"
    )

    add = ws.add_parser(
        "add", parents=[common], help=t("workers.add_help"), description=t("workers.add_help")
    )
    add.add_argument("name", help=t("workers.name"))
    add.add_argument(
        "--role",
        required=True,
        choices=("worker", "supervisor", "street", "district", "admin", "kiosk"),
        help=t("workers.role"),
    )
    add.add_argument("--grid", action="append", default=[], metavar="G", help=t("workers.grid"))
    add.add_argument("--community", help=t("workers.community"))
    add.add_argument("--street", help=t("workers.street"))
    add.add_argument("--district", help=t("workers.district"))
    add.add_argument("--new-pin-stdin", action="store_true", help=t("workers.pin_stdin"))
    add.set_defaults(handler=run_add)

    ls = ws.add_parser(
        "list", parents=[common], help=t("workers.list_help"), description=t("workers.list_help")
    )
    ls.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    ls.set_defaults(handler=run_list)

    for verb, handler in (("disable", run_disable), ("enable", run_enable)):
        v = ws.add_parser(
            verb,
            parents=[common],
            help=t(f"workers.{verb}_help"),
            description=t(f"workers.{verb}_help"),
        )
        v.add_argument("name", help=t("workers.name"))
        v.set_defaults(handler=handler)

    sp = ws.add_parser(
        "set-pin",
        parents=[common],
        help=t("workers.set_pin_help"),
        description=t("workers.set_pin_help"),
    )
    sp.add_argument("name", help=t("workers.name"))
    sp.add_argument("--new-pin-stdin", action="store_true", help=t("workers.pin_stdin"))
    sp.set_defaults(handler=run_set_pin)


def _admin_runtime(args: argparse.Namespace):
    """The runtime, its acting worker checked to be an administrator."""
    from kiosk.runtime import act_as_worker, runtime_for
    from kiosk.security.roles import require

    runtime = runtime_for(args, create=False, acts=False)
    try:
        require(_named_worker(runtime), "workers.manage")  # named and an administrator first
        act_as_worker(runtime, args, writes=True)
    except BaseException:
        runtime.close()
        raise
    return runtime


def _named_worker(runtime):
    """The worker named with --worker (or KIOSK_WORKER): administration never falls back to
    the laptop's default grid worker."""
    return runtime.worker if runtime.settings.worker else None


def _new_pin(args: argparse.Namespace, name: str) -> str:
    from kiosk.security.auth import check_pin_rules, read_pin

    return check_pin_rules(
        read_pin(
            from_stdin=args.new_pin_stdin,
            option="--new-pin-stdin",
            prompt=t("workers.pin_prompt", name=name),
            confirm_prompt=t("workers.pin_confirm"),
        )
    )


def run_add(args: argparse.Namespace) -> int:
    from db.connection import transaction
    from kiosk.cli.output import info
    from kiosk.runtime import act_as_worker, runtime_for
    from kiosk.security.roles import require, setting_up
    from kiosk.security.staff import add_worker, check_worker

    runtime = runtime_for(args, create=True, acts=False)  # or a new laptop's first admin
    try:
        conn = runtime.conn
        # Bootstrap: a database nobody can administer gets its first administrator freely.
        bootstrap = args.role == "admin" and setting_up(conn)
        if bootstrap:
            info(t("workers.bootstrap"))
        else:
            require(_named_worker(runtime), "workers.manage")
            act_as_worker(runtime, args, writes=True)
        name, _codes, _community = check_worker(
            conn,
            args.name,
            args.role,
            args.grid,
            args.community,
            street=args.street,
            district=args.district,
        )  # before the PIN is asked
        pin = _new_pin(args, name)
        with transaction(conn):
            add_worker(
                runtime.ctx,
                args.name,
                args.role,
                grids=args.grid,
                community=args.community,
                street=args.street,
                district=args.district,
                pin=pin,
            )
        info(t("workers.added", role=t(f"role.{args.role}"), name=name))
    finally:
        runtime.close()
    return 0


def run_list(args: argparse.Namespace) -> int:
    from db.workers import list_workers
    from kiosk.cli.output import emit_json, table

    runtime = _admin_runtime(args)
    try:
        conn = runtime.conn
        with_pin = {r[0] for r in conn.execute("SELECT id FROM workers WHERE pin_hash IS NOT NULL")}
        workers = list_workers(conn)
    finally:
        runtime.close()
    if args.json:
        emit_json(
            [
                {
                    "name": w.name,
                    "role": w.role,
                    "grids": list(w.grids),
                    "community": w.community,
                    "street": w.street,
                    "district": w.district,
                    "disabled": w.disabled,
                    "pin_set": w.id in with_pin,
                }
                for w in workers
            ]
        )
        return 0
    rows = [
        (
            w.name,
            t(f"role.{w.role}"),
            ",".join(w.grids),
            w.community or w.street or w.district or "",
            t("workers.inactive") if w.disabled else t("workers.active"),
            t("workers.pin_yes") if w.id in with_pin else t("workers.pin_no"),
        )
        for w in workers
    ]
    print(
        table(
            [
                t("workers.col_name"),
                t("workers.col_role"),
                t("workers.col_grids"),
                t("workers.col_community"),
                t("workers.col_status"),
                t("workers.col_pin"),
            ],
            rows,
        )
    )
    return 0


def _target(conn, name: str):
    from db.workers import worker_by_name
    from kiosk.core.errors import UserError

    target = worker_by_name(conn, name.strip())
    if target is None:
        raise UserError("error.worker_unknown", exit_code=2, name=name)
    return target


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    from db.connection import transaction
    from db.workers import set_disabled
    from kiosk.cli.output import info
    from kiosk.core.errors import UserError

    runtime = _admin_runtime(args)
    try:
        conn = runtime.conn
        target = _target(conn, args.name)
        with transaction(conn):
            if disabled and target.role == "admin" and not target.disabled:
                others = conn.execute(
                    "SELECT count(*) FROM workers WHERE role = 'admin'"
                    " AND disabled = 0 AND id != ?",
                    (target.id,),
                ).fetchone()[0]
                if others == 0:
                    raise UserError("error.last_admin", exit_code=2, name=target.name)
            if target.disabled != disabled:
                set_disabled(runtime.ctx, target.id, disabled)
        info(t("workers.disabled" if disabled else "workers.enabled", name=target.name))
    finally:
        runtime.close()
    return 0


def run_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, True)


def run_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, False)


def run_set_pin(args: argparse.Namespace) -> int:
    from db.connection import transaction
    from db.workers import set_pin_hash
    from kiosk.cli.output import info
    from kiosk.security.auth import hash_pin

    runtime = _admin_runtime(args)
    try:
        conn = runtime.conn
        target = _target(conn, args.name)
        pin_hash = hash_pin(_new_pin(args, target.name))
        with transaction(conn):
            set_pin_hash(runtime.ctx, target.id, pin_hash)
            conn.execute("DELETE FROM signin_failures WHERE worker_id = ?", (target.id,))
        info(t("workers.pin_set", name=target.name))
    finally:
        runtime.close()
    return 0

"""``kiosk households add|edit`` and ``kiosk members add|edit|leave|return``: the household
screen's edits from the command line (kiosk/households/editing.py does the work).

Every one acts as the named worker after their PIN (a write), on a household in their scope.
Options left out change nothing; ``-`` clears a phone or ID number.
"""

from __future__ import annotations

import argparse
from datetime import date

from kiosk.cli.output import open_runtime
from kiosk.core.i18n import t

_MEMBER_OPTIONS = (
    ("--name", "name"),
    ("--relation", "relation"),
    ("--gender", "gender"),
    ("--birth-year", "birth_year"),
    ("--phone", "phone"),
    ("--id-number", "id_number"),
    ("--tags", "tags"),
)


def _member_options(p: argparse.ArgumentParser, *, name_required: bool) -> None:
    for flag, dest in _MEMBER_OPTIONS:
        p.add_argument(
            flag,
            dest=dest,
            default=None,
            required=name_required and dest == "name",
            metavar="TEXT",
            help=t(f"cli.members.opt.{dest}"),
        )


def register_households(hs, common) -> None:
    """``kiosk households add`` and ``kiosk households edit`` (under the households parser)."""
    add = hs.add_parser(
        "add",
        parents=[common],
        help=t("cli.households.add_help"),
        description=t("cli.households.add_description"),
    )
    add.add_argument("--grid", default=None, metavar="G", help=t("cli.households.opt.grid"))
    add.add_argument("--compound", required=True, metavar="NAME", help=t("col.compound"))
    add.add_argument("--building", required=True, metavar="B", help=t("household.form.building"))
    add.add_argument("--unit", required=True, metavar="U", help=t("household.form.unit"))
    add.add_argument("--room", required=True, metavar="R", help=t("household.form.room"))
    add.add_argument("--head", required=True, metavar="NAME", help=t("household.form.head"))
    add.add_argument("--phone", default="", metavar="TEXT", help=t("cli.members.opt.phone"))
    add.add_argument("--id-number", default="", metavar="TEXT", help=t("cli.members.opt.id_number"))
    add.add_argument("--household-tags", dest="tags", default="", metavar="TEXT",
                     help=t("cli.households.opt.tags"))  # fmt: skip
    add.add_argument("--note", default="", metavar="TEXT", help=t("household.form.note"))
    add.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    add.set_defaults(handler=run_household_add)

    edit = hs.add_parser(
        "edit",
        parents=[common],
        help=t("cli.households.edit_help"),
        description=t("cli.households.edit_description"),
    )
    edit.add_argument("id", metavar="ID")
    edit.add_argument("--tags", default=None, metavar="TEXT", help=t("cli.households.opt.tags"))
    edit.add_argument("--note", default=None, metavar="TEXT", help=t("household.form.note"))
    edit.add_argument(
        "--status",
        default=None,
        choices=["lived_in", "moved_out", "vacant"],
        help=t("cli.households.opt.status"),
    )
    edit.add_argument("--on", default="", metavar="DATE", help=t("cli.members.opt.on"))
    edit.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    edit.set_defaults(handler=run_household_edit)


def register(sub, common) -> None:
    p = sub.add_parser(
        "members", parents=[common], help=t("cli.members.help"), description=t("cli.members.help")
    )
    ms = p.add_subparsers(dest="members_command", metavar="ACTION", required=True)

    add = ms.add_parser(
        "add", parents=[common], help=t("cli.members.add_help"),
        description=t("cli.members.add_help"),
    )  # fmt: skip
    add.add_argument("household", metavar="HOUSEHOLD", help=t("visits.cli.household"))
    _member_options(add, name_required=True)
    add.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    add.set_defaults(handler=run_member_add)

    edit = ms.add_parser(
        "edit", parents=[common], help=t("cli.members.edit_help"),
        description=t("cli.members.edit_description"),
    )  # fmt: skip
    edit.add_argument("member", metavar="MEMBER", help=t("cli.members.member"))
    _member_options(edit, name_required=False)
    edit.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    edit.set_defaults(handler=run_member_edit)

    leave = ms.add_parser(
        "leave", parents=[common], help=t("cli.members.leave_help"),
        description=t("cli.members.leave_help"),
    )  # fmt: skip
    leave.add_argument("member", metavar="MEMBER", help=t("cli.members.member"))
    leave.add_argument(
        "--why", required=True, choices=["moved_out", "deceased"], help=t("cli.members.opt.why")
    )
    leave.add_argument("--on", default="", metavar="DATE", help=t("cli.members.opt.on"))
    leave.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    leave.set_defaults(handler=run_member_leave)

    back = ms.add_parser(
        "return", parents=[common], help=t("cli.members.return_help"),
        description=t("cli.members.return_help"),
    )  # fmt: skip
    back.add_argument("member", metavar="MEMBER", help=t("cli.members.member"))
    back.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    back.set_defaults(handler=run_member_return)


def _member_form(args: argparse.Namespace) -> dict[str, object]:
    """The member fields the command names (a ``-`` phone or ID number clears it)."""
    form: dict[str, object] = {}
    for _flag, dest in _MEMBER_OPTIONS:
        value = getattr(args, dest, None)
        if value is None:
            continue
        form[dest] = "" if dest in ("phone", "id_number") and value.strip() == "-" else value
    return form


def _household_of_member(conn, member_id: str) -> str:
    from db.households import household_of_member
    from kiosk.core.errors import UserError

    hid = household_of_member(conn, member_id)
    if hid is None:
        raise UserError("household.edit.no_member", exit_code=2, id=member_id[:64])
    return hid


def _write(runtime, fn):  # type: ignore[no-untyped-def]
    from db.connection import transaction

    with transaction(runtime.conn):
        return fn(runtime.ctx)


def _done(args: argparse.Namespace, doc: dict[str, object], message: str) -> int:
    from kiosk.cli.output import emit_json, info

    if args.json:
        emit_json(doc)
    else:
        info(message)
    return 0


def _changed_words(changes: dict[str, object]) -> str:
    if not changes:
        return t("household.edit.nothing_changed")
    return t("household.edit.changed", fields=t("ui.list_sep").join(
        t(f"household.form.{k}") for k in changes if k not in ("to_verify", "status_on")
    ))  # fmt: skip


def run_member_add(args: argparse.Namespace) -> int:
    from kiosk.households.editing import new_member
    from kiosk.security.roles import require_on_household

    runtime = open_runtime(args, writes=True)
    try:
        require_on_household(runtime.worker, "household.edit", runtime.conn, args.household)
        form = _member_form(args)
        mid = _write(runtime, lambda ctx: new_member(ctx, args.household, form, today=date.today()))
    finally:
        runtime.close()
    return _done(
        args,
        {"id": mid, "household_id": args.household},
        t("household.edit.added_member", name=args.name),
    )


def _on_member(args: argparse.Namespace, fn):  # type: ignore[no-untyped-def]
    """``fn(ctx)`` written as the acting worker (after their PIN), on a member of a household
    in their reach; returns (the household's id, what ``fn`` returned)."""
    from kiosk.security.roles import require_on_household

    runtime = open_runtime(args, writes=True)
    try:
        hid = _household_of_member(runtime.conn, args.member)
        require_on_household(runtime.worker, "household.edit", runtime.conn, hid)
        return hid, _write(runtime, fn)
    finally:
        runtime.close()


def run_member_edit(args: argparse.Namespace) -> int:
    from kiosk.households.editing import edit_member

    form = _member_form(args)
    hid, changes = _on_member(
        args, lambda ctx: edit_member(ctx, args.member, form, today=date.today())
    )
    return _done(
        args,
        {"id": args.member, "household_id": hid, "changed": sorted(changes)},
        _changed_words(changes),
    )


def run_member_leave(args: argparse.Namespace) -> int:
    from kiosk.households.editing import member_leaves

    hid, left_on = _on_member(
        args, lambda ctx: member_leaves(ctx, args.member, args.why, args.on, today=date.today())
    )
    return _done(
        args,
        {"id": args.member, "household_id": hid, "status": args.why, "on": left_on},
        t("household.edit.left", status=t(f"member.status.{args.why}"), date=left_on),
    )


def run_member_return(args: argparse.Namespace) -> int:
    from kiosk.households.editing import member_returns

    hid, changed = _on_member(args, lambda ctx: member_returns(ctx, args.member))
    return _done(
        args,
        {"id": args.member, "household_id": hid, "changed": changed},
        t("household.edit.returned") if changed else t("household.edit.nothing_changed"),
    )


def run_household_edit(args: argparse.Namespace) -> int:
    from kiosk.households.editing import edit_household
    from kiosk.security.roles import require_on_household

    form: dict[str, object] = {}
    if args.tags is not None:
        form["tags"] = args.tags
    if args.note is not None:
        form["note"] = args.note
    if args.status is not None:
        form["status"] = "" if args.status == "lived_in" else args.status
        form["status_on"] = args.on
    runtime = open_runtime(args, writes=True)
    try:
        require_on_household(runtime.worker, "household.edit", runtime.conn, args.id)
        changes = _write(
            runtime, lambda ctx: edit_household(ctx, args.id, form, today=date.today())
        )
    finally:
        runtime.close()
    return _done(args, {"id": args.id, "changed": sorted(changes)}, _changed_words(changes))


def run_household_add(args: argparse.Namespace) -> int:
    from db.areas import grid_by_code, grid_by_name
    from db.households import get_household
    from kiosk.core.errors import UserError
    from kiosk.domain import present
    from kiosk.households.editing import NewHousehold, register_household
    from kiosk.security.roles import require

    runtime = open_runtime(args, writes=True)
    try:
        worker = runtime.worker
        code = args.grid
        if code is None:
            if worker is None or len(worker.grids) != 1:
                raise UserError("cli.households.grid_needed", exit_code=2)
            code = worker.grids[0]
        grid = grid_by_code(runtime.conn, code) or grid_by_name(runtime.conn, code)
        if grid is None:
            raise UserError("cli.households.no_grid", exit_code=2, grid=code[:40])
        require(worker, "household.edit", grid=grid.code, community=grid.community)
        new = NewHousehold(
            compound=args.compound,
            building=args.building,
            unit=args.unit,
            room=args.room,
            head={"name": args.head, "phone": args.phone, "id_number": args.id_number},
            tags=args.tags,
            note=args.note,
        )
        hid = _write(runtime, lambda ctx: register_household(ctx, grid, new, today=date.today()))
        h = get_household(runtime.conn, hid)
        assert h is not None
    finally:
        runtime.close()
    return _done(
        args,
        {**present.household_summary(h), "head": h.head_name},
        t("household.edit.registered", address=present.address(h))
        + "\n"
        + t("household.edit.registered_id", id=hid),
    )

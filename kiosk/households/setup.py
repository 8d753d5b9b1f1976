"""Setting up a community office on its first run (screens/signin/setup.py and the office
set-up screen, screens/office/setup.py): the office's name and its first administrator; then
the hub seeded from the office PC, with an enrolment code for each grid worker's laptop and
one for the office PC itself. The steps between (grids, roster, workers) are the areas, the
roster import and the workers' own services. See docs/deployment.md."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from db.context import WriteContext, get_meta, set_meta
from db.errors import UserError
from db.workers import Worker, list_workers
from kiosk.households.roster.fields import cell_text
from kiosk.security.roles import setting_up
from kiosk.security.staff import add_worker

OFFICE_NAME = "office.name"


def first_administrator(ctx: WriteContext, office: str, name: str, pin: str) -> Worker:
    """The office's name and its first administrator, with their PIN (inside a transaction).
    Only while nobody can administer this computer: afterwards workers are added by an
    administrator."""
    if not setting_up(ctx.conn):
        raise UserError("setup.error.already", exit_code=3)
    office = cell_text(office)
    if not office:
        raise UserError("setup.error.office_needed", exit_code=2)
    if len(office) > 64:
        raise UserError("error.field_too_long", exit_code=2, field=office[:20], limit=64)
    worker = add_worker(ctx, name, "admin", pin=pin)
    set_meta(ctx.conn, OFFICE_NAME, office)
    return worker


def office_name(conn: sqlite3.Connection) -> str:
    return get_meta(conn, OFFICE_NAME) or ""


@dataclass(frozen=True)
class LaptopCode:
    """A device added to the hub and its one-time enrolment code."""

    device: str
    person: str | None
    grids: list[str] | None
    code: str


def hub_and_codes(
    conn: sqlite3.Connection, store_url: str, *, office_device: str, laptop_name: str
) -> tuple[int, list[LaptopCode]]:
    """Seed the hub at ``store_url`` (a SQLite file or postgresql://) from this database (a
    seed stores nothing twice), and add a device with a code for every grid worker who has
    none yet (``laptop_name`` formats their laptop's name from theirs) and for the office PC
    (``office_device``, an administrator's device). Returns (operations stored, codes)."""
    from kiosk.hub.store.open import open_store
    from kiosk.sync.seed import seed_ops

    store = open_store(store_url)
    try:
        stored = 0
        for batch in seed_ops(conn):
            stored += store.ingest(None, batch).stored
        known = {d.name for d in store.list_devices()}
        codes: list[LaptopCode] = []
        if office_device not in known:
            code = store.add_device(office_device, None, None, role="admin")
            codes.append(LaptopCode(office_device, None, None, code))
        for worker in list_workers(conn):
            if worker.role != "worker" or worker.disabled or not worker.grids:
                continue
            device = laptop_name.format(name=worker.name)
            if device in known:
                continue
            code = store.add_device(device, list(worker.grids), worker.name)
            codes.append(LaptopCode(device, worker.name, list(worker.grids), code))
        return stored, codes
    finally:
        store.close()


@dataclass(frozen=True)
class RosterDone:
    """What a roster import on the set-up screen did."""

    households: int
    members: int
    updated: int
    to_verify: int
    rejected: list[tuple[int, str]]  # (row, why, in the interface's words)
    created_grids: list[str]


def import_roster_file(ctx: WriteContext, path: str, progress=None) -> RosterDone:  # type: ignore[no-untyped-def]
    """The office's roster, the grids it names created when they are new (the administrator
    setting up an office: ``kiosk households import --create-areas``), all in one
    transaction. Raises :class:`UserError` for a file that cannot be read."""
    from db.transaction import transaction
    from kiosk.core.i18n import t
    from kiosk.households.roster.apply import apply_plan, plan_import
    from kiosk.households.roster.areas import AreaMaker
    from kiosk.households.roster.read import RosterUnreadable

    make = AreaMaker(ctx)
    with transaction(ctx.conn):
        try:
            plan = plan_import(ctx.conn, path, progress=progress, create_grid=make)
        except RosterUnreadable as exc:
            raise UserError(f"roster.file.{exc.key}", exit_code=2, **exc.params) from None
        result = apply_plan(ctx, plan, progress=progress)
    created = make.created
    return RosterDone(
        result.imported_households,
        result.imported_members,
        result.updated,
        sum(1 for w in plan.warnings if w.code.startswith("doubtful")),
        [(p.row, t(f"roster.reason.{p.code}", **p.params)) for p in plan.rejected],
        [g.code for g in created],
    )

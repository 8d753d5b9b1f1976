"""Two grid workers' laptops for the same grid and the community office: both change the same
household field offline, the second to sync meets the conflict on its sync screen (signed in
on the real sign-in screen) and settles it there; after everyone syncs, every replica holds
what the hub holds, row for row."""

from __future__ import annotations

import sqlite3

from textual.widgets import DataTable, Input

from tests.conftest import DEMO_PINS, GRID_WORKER
from tests.journeys.conftest import sync, the_day_holds
from tests.pages import sign_in
from tests.pilot_helpers import settle, until

#: what is compared between replicas, per table: the replicated columns a person sees
COMPARE = {
    "households": "id, grid_id, compound_id, building, unit, room, note, tags",
    "members": "id, household_id, name, relation, phone",
    "visits": "id, household_id, nobody_home, note",
    "cases": "id, number, grid_id, category, summary",
    "case_events": "id, case_id, type",
}


def _rows(path, table: str, grid_code: str) -> set[tuple]:
    conn = sqlite3.connect(path)
    try:
        grid = conn.execute("SELECT id FROM grids WHERE code = ?", (grid_code,)).fetchone()[0]
        where = {
            "households": "grid_id = :g",
            "members": "household_id IN (SELECT id FROM households WHERE grid_id = :g)",
            "visits": "household_id IN (SELECT id FROM households WHERE grid_id = :g)",
            "cases": "grid_id = :g",
            "case_events": "case_id IN (SELECT id FROM cases WHERE grid_id = :g)",
        }[table]
        return {
            tuple(r)
            for r in conn.execute(
                f"SELECT {COMPARE[table]} FROM {table} WHERE {where}", {"g": grid}
            )
        }
    finally:
        conn.close()


def _edit_note(laptop, household_id: str, note: str) -> None:
    """The grid worker changes the household's note on their laptop (the household service
    the screens use, acting as the signed-in worker)."""
    from db.connection import transaction
    from db.households import update_household
    from kiosk.runtime import load, open_runtime

    rt = open_runtime(load(db=str(laptop), worker=GRID_WORKER))
    try:
        rt.ctx.verified = True
        with transaction(rt.conn):
            update_household(rt.ctx, household_id, note=note)
    finally:
        rt.close()


async def test_two_laptops_one_household_and_the_office(hub, demo_db, tmp_path):
    from kiosk.cli.run import start_app
    from kiosk.runtime import load, open_runtime
    from screens.households.home import HomeScreen

    first, second, office = demo_db, tmp_path / "second.db", tmp_path / "office.db"
    community = (
        sqlite3.connect(first)
        .execute("SELECT community FROM grids WHERE code = 'G001'")
        .fetchone()[0]
    )
    hub.enrol(first, "第一台", "--grid", "G001")
    hub.enrol(second, "第二台", "--grid", "G001")
    hub.enrol(office, "社区办公室", "--community", community)
    for laptop in (first, second, office):
        sync(laptop)
    hid = (
        sqlite3.connect(first)
        .execute(
            "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code = 'G001'"
            " ORDER BY h.rid LIMIT 1"
        )
        .fetchone()[0]
    )

    # Both change the same field offline; the first syncs first.
    _edit_note(first, hid, "独居，每周看一次")
    _edit_note(second, hid, "子女已接走")
    sync(first)

    # The second worker syncs from the sync screen and settles the conflict there.
    runtime = open_runtime(load(db=str(second)))
    app = start_app(runtime)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await sign_in(app, pilot, GRID_WORKER, DEMO_PINS[GRID_WORKER])
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await pilot.press("f4")
            await settle(app, pilot)
            await pilot.press("s")
            await settle(app, pilot, rounds=6)
            table = app.screen.query_one("#sync-conflicts", DataTable)
            await until(pilot, lambda: table.row_count == 1)
            table.focus()
            await pilot.press("enter")
            await settle(app, pilot)
            assert type(app.screen).__name__ == "ConflictScreen"
            await pilot.press("e")
            box = app.screen.query_one(Input)
            box.value = ""
            await pilot.press(*"子女已接走每月回访", "enter")
            await settle(app, pilot)
            assert table.row_count == 0
            await pilot.press("s")
            await settle(app, pilot, rounds=6)
    finally:
        runtime.close()

    for laptop in (first, office, second, first):
        sync(laptop)
    for laptop in (first, second, office):
        note = (
            sqlite3.connect(laptop)
            .execute("SELECT note FROM households WHERE id = ?", (hid,))
            .fetchone()[0]
        )
        assert note == "子女已接走每月回访", laptop

    # Every replica equals the hub: a new office PC that pulls everything is the reference.
    reference = tmp_path / "reference.db"
    hub.enrol(reference, "核对用", "--admin")
    sync(reference)
    for laptop in (first, second, office):
        for table in COMPARE:
            mine, hubs = _rows(laptop, table, "G001"), _rows(reference, table, "G001")
            assert mine == hubs, (laptop.name, table, sorted(mine ^ hubs)[:3])
    the_day_holds(hub, first, second, office)

"""A household changes, and the grid worker records it at the door. On the first laptop, on
the real screens: a phone the roster gave wrong (待核实) is put right, a newborn is added, a
member has moved out, the flat next door stands empty, and a household nobody registered is
found on the walk. The second laptop of the grid changes the same phone at the office desk
through the command; the conflict is settled with the command. After everyone syncs, both
laptops hold what the hub holds, field for field, and the day holds."""

from __future__ import annotations

import json
import sqlite3

import pytest
from textual.widgets import Input, Select

from tests.conftest import DEMO_PINS, GRID_WORKER
from tests.journeys.conftest import kiosk_as, sync, the_day_holds
from tests.pages import sign_in
from tests.pilot_helpers import settle, until

#: The SQLite hub only: the PostgreSQL store's side of what this journey crosses is held by
#: its own tests (test_hub_store, tests/adversarial/, the journeys kept on both hubs), and
#: each journey run twice kept `make test` from its 15 minutes (docs/development.md).
ONE_HUB = pytest.mark.parametrize("hub", ["sqlite"], indirect=True)

COMPARE = {
    "households": "id, compound_id, building, unit, room, head_name, member_count, tags, status,"
    " status_on",
    "members": "id, household_id, name, relation, gender, birth_year, phone, id_number,"
    " to_verify, status, left_on",
}


def _q(path, sql, *args):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _rows(path, table: str) -> set[tuple]:
    where = {
        "households": "grid_id = (SELECT id FROM grids WHERE code = 'G001')",
        "members": "household_id IN (SELECT h.id FROM households h JOIN grids g"
        " ON g.id = h.grid_id WHERE g.code = 'G001')",
    }[table]
    return set(_q(path, f"SELECT {COMPARE[table]} FROM {table} WHERE {where}"))


async def _type(pilot, text: str) -> None:
    for ch in text:
        await pilot.press(ch)


@ONE_HUB
async def test_a_household_changes_and_both_laptops_know_it(hub, demo_db, tmp_path):
    from kiosk.cli.run import start_app
    from kiosk.runtime import load, open_runtime
    from screens.households.editing import HouseholdFormScreen, MemberFormScreen
    from screens.households.home import HomeScreen
    from screens.households.household import HouseholdScreen

    first, second = demo_db, tmp_path / "second.db"
    hub.enrol(first, "第一台", "--grid", "G001")
    hub.enrol(second, "第二台", "--grid", "G001")
    for laptop in (first, second):
        sync(laptop)

    # the office's roster update, typed by hand: a phone too short, kept and marked
    roster = tmp_path / "更新.csv"
    roster.write_text(
        "姓名,与户主关系,手机号,网格,小区,楼栋,单元,房号\n"
        "孙秀兰,户主,1381234,G001,春华新苑,9,1,101\n"
        "孙大海,配偶,,G001,春华新苑,9,1,101\n"
        "周平,户主,13912345678,G001,春华新苑,9,1,102\n",
        encoding="utf-8",
    )
    out = kiosk_as(first, GRID_WORKER, "households", "import", str(roster))
    assert out.returncode == 0, out.stderr
    hid = _q(first, "SELECT household_id FROM members WHERE name = '孙秀兰'")[0][0]
    next_door = _q(first, "SELECT household_id FROM members WHERE name = '周平'")[0][0]

    runtime = open_runtime(load(db=str(first)))
    app = start_app(runtime)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await sign_in(app, pilot, GRID_WORKER, DEMO_PINS[GRID_WORKER])
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await settle(app, pilot)

            # 孙秀兰's phone, put right at the door
            await app.push_screen(HouseholdScreen(hid))
            await settle(app, pilot)
            await pilot.press("m")
            await settle(app, pilot)
            assert isinstance(app.screen, MemberFormScreen)
            await _type(pilot, "13812345678")
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
            await settle(app, pilot)

            # a newborn
            await pilot.press("a")
            await settle(app, pilot)
            await _type(pilot, "孙小宝")
            await pilot.press("tab")
            await _type(pilot, "孙子")
            form = app.screen
            form.query_one("#m-birth-year", Input).focus()
            await _type(pilot, "2026")
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
            await settle(app, pilot)

            # 孙大海 has moved out
            app.screen.query_one("#members-table").focus()
            await pilot.press("down", "enter")
            await settle(app, pilot)
            form = app.screen
            assert isinstance(form, MemberFormScreen) and form.member.name == "孙大海"
            form.query_one("#m-status", Select).focus()
            await pilot.press("enter", "down", "enter")
            form.query_one("#m-left-on", Input).focus()
            await _type(pilot, "2026-11-20")
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
            await settle(app, pilot)
            assert [m.status for m in app.screen.household.members] == ["", "", "moved_out"]
            await pilot.press("escape")
            await settle(app, pilot)

            # next door stands empty
            await app.push_screen(HouseholdScreen(next_door))
            await settle(app, pilot)
            await pilot.press("e")
            await settle(app, pilot)
            assert isinstance(app.screen, HouseholdFormScreen)
            app.screen.query_one("#h-status", Select).focus()
            await pilot.press("enter", "down", "down", "enter")
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
            await pilot.press("escape")
            await settle(app, pilot)

            # a household nobody registered, found on the walk
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await pilot.press("n")
            await settle(app, pilot)
            for text in ("春华新苑", "9", "1", "103", "吴桂英"):
                await _type(pilot, text)
                await pilot.press("tab")
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
            await settle(app, pilot)
    finally:
        runtime.close()

    # the same phone changed on the second laptop, before it hears of the first
    sun = _q(first, "SELECT id FROM members WHERE name = '孙秀兰'")[0][0]
    out = kiosk_as(second, GRID_WORKER, "members", "edit", sun, "--phone", "13800000001")
    assert out.returncode != 0  # the roster's update has not reached the second laptop yet
    sync(first)
    sync(second)
    out = kiosk_as(second, GRID_WORKER, "members", "edit", sun, "--phone", "13800000001")
    assert out.returncode == 0, out.stderr
    out = kiosk_as(first, GRID_WORKER, "members", "edit", sun, "--phone", "13800000002")
    assert out.returncode == 0, out.stderr
    sync(second)
    sync(first)  # meets the second laptop's phone: a conflict, settled with the command
    listed = json.loads(kiosk_as(first, GRID_WORKER, "sync", "conflicts", "--json").stdout)
    conflicts = listed["conflicts"] if isinstance(listed, dict) else listed
    assert [(c["entity"], c["entity_id"]) for c in conflicts] == [("member", sun)], conflicts
    out = kiosk_as(first, GRID_WORKER, "sync", "resolve", str(conflicts[0]["id"]), "theirs")
    assert out.returncode == 0, out.stderr
    for laptop in (first, second, first):
        sync(laptop)

    # what the day changed, on both laptops
    for laptop in (first, second):
        people = {
            r[0]: r[1:]
            for r in _q(
                laptop,
                "SELECT name, phone, to_verify, status, left_on, birth_year FROM members"
                " WHERE household_id = ?",
                hid,
            )
        }
        assert people == {
            "孙秀兰": ("13800000001", "", "", "", None),
            "孙大海": ("", "", "moved_out", "2026-11-20", None),
            "孙小宝": ("", "", "", "", 2026),
        }, laptop
        assert _q(laptop, "SELECT member_count FROM households WHERE id = ?", hid) == [(2,)]
        assert _q(laptop, "SELECT status FROM households WHERE id = ?", next_door) == [("vacant",)]
        found = _q(
            laptop,
            "SELECT h.head_name FROM households h JOIN compounds c ON c.id = h.compound_id"
            " WHERE c.name = '春华新苑' AND h.room = '103'",
        )
        assert found == [("吴桂英",)], laptop

    # every replica equals the hub: a new office PC that pulls everything is the reference
    reference = tmp_path / "reference.db"
    hub.enrol(reference, "核对用", "--admin")
    sync(reference)
    for laptop in (first, second):
        for table in COMPARE:
            mine, hubs = _rows(laptop, table), _rows(reference, table)
            assert mine == hubs, (laptop.name, table, sorted(mine ^ hubs)[:3])
    the_day_holds(hub, first, second)

"""A roster typed by hand reaches the grid: the office's update has a mistyped ID number and a
short phone. Both people are imported (kept as typed, to verify) on the grid worker's
laptop, go to the hub, and reach the second laptop of the grid still marked; the worker's
screen marks them. Then the day holds on both laptops."""

from __future__ import annotations

import json
import sqlite3

import pytest

from kiosk.households.roster.fields import id_check_char
from tests.conftest import DEMO_PINS, GRID_WORKER
from tests.journeys.conftest import kiosk_as, sync, the_day_holds
from tests.pages import sign_in
from tests.pilot_helpers import settle, until

#: The SQLite hub only: the PostgreSQL store's side of what this journey crosses is held by
#: its own tests (test_hub_store, tests/adversarial/, the journeys kept on both hubs), and
#: each journey run twice kept `make test` from its 15 minutes (docs/development.md).
ONE_HUB = pytest.mark.parametrize("hub", ["sqlite"], indirect=True)


def _flagged(laptop) -> dict[str, tuple[str, str, str]]:
    conn = sqlite3.connect(laptop)
    try:
        return {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute(
                "SELECT name, phone, id_number, to_verify FROM members WHERE to_verify != ''"
            )
        }
    finally:
        conn.close()


@ONE_HUB
async def test_a_roster_with_doubtful_numbers_reaches_both_laptops_marked(hub, demo_db, tmp_path):
    from kiosk.cli.run import start_app
    from kiosk.runtime import load, open_runtime
    from screens.households.home import HomeScreen
    from screens.households.household import HouseholdScreen

    first, second = demo_db, tmp_path / "second.db"
    hub.enrol(first, "第一台", "--grid", "G001")
    hub.enrol(second, "第二台", "--grid", "G001")
    for laptop in (first, second):
        sync(laptop)

    body = "23010219790315123"
    wrong = body + ("0" if id_check_char(body) != "0" else "1")
    roster = tmp_path / "更新.csv"
    roster.write_text(
        "姓名,与户主关系,手机号,身份证号,网格,小区,楼栋,单元,房号\n"
        f"孙秀兰,户主,1381234,,G001,春华新苑,9,1,101\n"
        f"陈明,户主,13912345678,{wrong},G001,春华新苑,9,1,102\n",
        encoding="utf-8",
    )
    out = kiosk_as(first, GRID_WORKER, "households", "import", str(roster))
    assert out.returncode == 0, out.stderr
    assert "待核实" in out.stderr
    expected = {
        "孙秀兰": ("1381234", "", "phone"),
        "陈明": ("13912345678", wrong, "id_number"),
    }
    assert _flagged(first) == expected
    sync(first)
    assert sync(second)["failed"] == 0  # the new 小区 too (it arrives without its pinyin)
    assert _flagged(second) == expected  # the mark travels with the member

    hid = (
        sqlite3.connect(second)
        .execute("SELECT household_id FROM members WHERE name = '陈明'")
        .fetchone()[0]
    )
    shown = kiosk_as(second, GRID_WORKER, "households", "show", hid)
    assert shown.returncode == 0 and "⚠" in shown.stdout and wrong not in shown.stdout
    doc = json.loads(kiosk_as(second, GRID_WORKER, "households", "show", hid, "--json").stdout)
    assert [m["to_verify"] for m in doc["members_list"]] == [["id_number"]]

    runtime = open_runtime(load(db=str(second)))
    app = start_app(runtime)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await sign_in(app, pilot, GRID_WORKER, DEMO_PINS[GRID_WORKER])
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await settle(app, pilot)
            assert "号码待核实 2 户" in str(app.screen.query_one("#home-head").render())
            await app.push_screen(HouseholdScreen(hid))
            await settle(app, pilot)
            assert "⚠" in str(app.screen.query_one("#members-title").render())
    finally:
        runtime.close()
    the_day_holds(hub, first, second)

"""The household screen's edits, as a grid worker makes them at the door: m on a member, a on
the household, e for the household itself, n on home for a household found on the walk. A
refusal keeps what was typed and puts the cursor on the field; another grid's household
offers no edit key."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select, Static

from db.connection import transaction
from db.households import get_household, update_member
from db.workers import worker_by_name
from kiosk.core.i18n import set_language
from kiosk.households.roster.fields import id_check_char
from screens.households.editing import HouseholdFormScreen, MemberFormScreen, NewHouseholdScreen
from screens.households.home import HomeScreen
from screens.households.household import HouseholdScreen
from screens.widgets.footer import KioskFooter
from screens.widgets.result_list import ResultList
from tests.conftest import GRID_WORKER, acting_as
from tests.pilot_helpers import settle, signed_in_app, until


@pytest.fixture(autouse=True)
def chinese():
    set_language("zh")
    yield
    set_language("zh")


def _household(conn, grid: str = "G001") -> str:
    return conn.execute(
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = ? AND h.member_count >= 2 ORDER BY h.rid LIMIT 1",
        (grid,),
    ).fetchone()[0]


def _app(runtime):
    return signed_in_app(runtime, worker_by_name(runtime.conn, GRID_WORKER))


async def _open(app, pilot, hid) -> HouseholdScreen:
    await settle(app, pilot)
    await app.push_screen(HouseholdScreen(hid))
    await settle(app, pilot)
    assert isinstance(app.screen, HouseholdScreen)
    return app.screen


def _members_text(screen) -> str:
    table = screen.query_one("#members-table", ResultList)
    return "\n".join(" ".join(table.get_row_at(i)) for i in range(table.row_count))


async def _type(pilot, text: str) -> None:
    for ch in text:
        await pilot.press(ch)


async def test_a_number_to_verify_is_put_right_with_m_and_loses_its_mark(runtime):
    hid = _household(runtime.conn)
    first = get_household(runtime.conn, hid).members[0]
    with acting_as(runtime, GRID_WORKER), transaction(runtime.conn):
        update_member(runtime.ctx, first.id, phone="1381234", to_verify="phone")
    app = _app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot, hid)
        assert "⚠" in _members_text(screen)
        await pilot.press("m")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, MemberFormScreen) and form.member.id == first.id
        phone = form.query_one("#m-phone", Input)
        assert phone.has_focus and phone.value == ""  # never shown in full
        assert "待核实" in phone.placeholder and "1381234" not in phone.placeholder
        await _type(pilot, "13800138000")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
        await settle(app, pilot)
        assert "⚠" not in _members_text(app.screen)
        assert "138****8000" in _members_text(app.screen)
        assert app.notice is not None and "已保存" in app.notice.message
    m = get_household(runtime.conn, hid).members[0]
    assert (m.phone, m.to_verify) == ("13800138000", "")


async def test_a_wrong_id_number_is_refused_on_the_form_keeping_what_was_typed(runtime):
    hid = _household(runtime.conn)
    before = runtime.conn.execute("SELECT count(*) FROM outbox WHERE entity = 'member'").fetchone()[
        0
    ]
    body = "11010119500312771"
    wrong = body + ("0" if id_check_char(body) != "0" else "1")
    app = _app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(app, pilot, hid)
        await pilot.press("m")
        await settle(app, pilot)
        await pilot.press("tab")  # from the phone to the ID number
        await _type(pilot, wrong)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, MemberFormScreen)
        assert "校验位" in str(form.query_one("#edit-error", Static).render())
        field = form.query_one("#m-id-number", Input)
        assert field.has_focus and field.value == wrong and field.has_class("-invalid")
    assert (
        runtime.conn.execute("SELECT count(*) FROM outbox WHERE entity = 'member'").fetchone()[0]
        == before
    )


async def test_a_member_moves_in_and_another_moves_out(runtime):
    hid = _household(runtime.conn)
    h = get_household(runtime.conn, hid)
    app = _app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(app, pilot, hid)
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, MemberFormScreen) and app.screen.member is None
        await _type(pilot, "王小明")
        await pilot.press("tab")
        await _type(pilot, "子")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
        await settle(app, pilot)
        assert "王小明" in _members_text(app.screen)
        # the second member moves out: the cursor on them, Enter, the status chosen
        table = app.screen.query_one("#members-table", ResultList)
        table.focus()
        await pilot.press("down", "enter")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, MemberFormScreen) and form.member.id == h.members[1].id
        status = form.query_one("#m-status", Select)
        status.focus()
        await pilot.press("enter", "down", "enter")  # 在住 -> 已迁出
        await settle(app, pilot)
        assert status.value == "moved_out"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
        await settle(app, pilot)
        assert f"{h.members[1].name}（已迁出）" in _members_text(app.screen)
    after = get_household(runtime.conn, hid)
    assert after.member_count == h.member_count  # one in, one out
    assert len(after.members) == len(h.members) + 1


async def test_an_empty_flat_says_so_on_its_screen(runtime):
    hid = _household(runtime.conn)
    app = _app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(app, pilot, hid)
        await pilot.press("e")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, HouseholdFormScreen)
        status = form.query_one("#h-status", Select)
        status.focus()
        await pilot.press("enter", "down", "down", "enter")  # 有人居住 -> 空置
        await settle(app, pilot)
        assert status.value == "vacant"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
        await settle(app, pilot)
        head = str(app.screen.query_one("#household-address", Static).render())
        assert "空置" in head and "不在走访名单" in head
    assert get_household(runtime.conn, hid).status == "vacant"


async def test_another_grids_household_offers_no_edit_key(runtime):
    hid = _household(runtime.conn, "G002")
    app = _app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot, hid)
        assert not screen.editable
        for action in ("edit_member", "add_member", "edit_household"):
            assert screen.check_action(action, ()) is False
        await pilot.press("m", "a", "e")
        await settle(app, pilot)
        assert app.screen is screen  # nothing opened
        keys = str(app.screen.query_one(KioskFooter).render())
        assert "编辑成员" not in keys and "添加成员" not in keys


async def test_a_household_found_on_the_walk_is_registered_from_home_and_opens(runtime):
    app = _app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, NewHouseholdScreen))
        form = app.screen
        assert form.query_one("#n-compound", Input).has_focus
        await _type(pilot, "春华新苑")
        for field, text in (("n-building", "9栋"), ("n-unit", "2"), ("n-room", "301"),
                            ("n-head", "赵六"), ("n-phone", "13912345678")):  # fmt: skip
            await pilot.press("tab")
            assert form.query_one(f"#{field}", Input).has_focus
            await _type(pilot, text)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
        await settle(app, pilot)
        screen = app.screen
        assert "春华新苑9栋2单元301室" in str(screen.query_one("#household-address").render())
        assert "赵六" in _members_text(screen)
        assert "139****5678" in _members_text(screen)


async def test_k_on_home_lists_the_households_to_verify_and_k_again_all(runtime):
    conn = runtime.conn
    flagged = [
        r[0]
        for r in conn.execute(
            "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
            " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 2"
        )
    ]
    with acting_as(runtime, GRID_WORKER), transaction(conn):
        for hid in flagged:
            m = get_household(conn, hid).members[0]
            update_member(runtime.ctx, m.id, phone="1381234", to_verify="phone")
    app = _app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await settle(app, pilot)
        home = app.screen
        table = home.query_one(ResultList)
        everyone = table.row_count
        assert everyone > 2 and home.check_action("to_verify", ()) is not False
        await pilot.press("k")
        await settle(app, pilot)
        await until(pilot, lambda: table.row_count == 2)
        assert set(table.keys) == set(flagged)
        assert all("待核实" in table.get_row_at(i)[0] for i in range(2))
        await pilot.press("k")
        await settle(app, pilot)
        await until(pilot, lambda: table.row_count == everyone)

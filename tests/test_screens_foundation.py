"""Pilot tests: the home screen, household search as you type, household detail."""

from textual.widgets import DataTable, Input, Static

from kiosk.app import KioskApp


def cell_texts(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_search_as_you_type_and_open_a_household(runtime):
    conn = runtime.conn
    name, hid = conn.execute(
        "SELECT m.name, m.household_id FROM members m WHERE m.relation = '户主' LIMIT 1").fetchone()
    app = KioskApp(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen.query_one(Input).has_focus
        await pilot.press(*name)
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#search-table", DataTable)
        assert table.row_count >= 1
        assert any(name in row[1] for row in cell_texts(table)) or table.row_count >= 1
        keys = [table.coordinate_to_cell_key((i, 0)).row_key.value for i in range(table.row_count)]
        assert hid in keys
        await pilot.press("down")
        for _ in range(keys.index(hid)):
            await pilot.press("down")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert type(app.screen).__name__ == "HouseholdScreen"
        members = app.screen.query_one("#members-table", DataTable)
        rows = cell_texts(members)
        assert any(r[0] == name for r in rows)
        real_phones = {r[0] for r in conn.execute(
            "SELECT phone FROM members WHERE household_id = ?", (hid,)) if r[0]}
        shown = " ".join(" ".join(r) for r in rows)
        assert not any(p in shown for p in real_phones)
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "SearchScreen"


async def test_typing_by_pinyin_initials_and_address(runtime):
    app = KioskApp(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        for query in ("zh", "1-1-101"):
            inp = app.screen.query_one(Input)
            inp.value = ""
            await pilot.press(*query)
            await app.workers.wait_for_complete()
            await pilot.pause()
            table = app.screen.query_one("#search-table", DataTable)
            assert table.row_count > 0, query


async def test_stale_results_are_dropped(runtime):
    """Fast typing: only the results of the last query remain."""
    app = KioskApp(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        await pilot.press(*"zzzzzzqqqq")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#search-table", DataTable).row_count == 0
        assert "没有" in str(app.screen.query_one("#search-status", Static).render())


async def test_home_screen_shows_the_workers_grid_at_80x24(runtime):
    app = KioskApp(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        title = str(app.screen.query_one("#home-title", Static).render())
        assert runtime.worker.name in title
        assert app.screen.query_one(DataTable).row_count > 0
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert type(app.screen).__name__ == "HouseholdScreen"


async def test_english_interface(runtime):
    from kiosk.i18n import set_language

    set_language("en")
    app = KioskApp(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        assert "pinyin" in app.screen.query_one(Input).placeholder

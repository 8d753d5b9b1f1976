"""Pilot tests: the home screen, household search as you type, household detail."""

from textual.widgets import DataTable, Input, Static

from screens.widgets.result_list import ResultList
from tests.pilot_helpers import settle, signed_in_app


def cell_texts(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_search_as_you_type_and_open_a_household(runtime):
    conn = runtime.conn
    name, hid = conn.execute(
        "SELECT m.name, m.household_id FROM members m WHERE m.relation = '户主' LIMIT 1"
    ).fetchone()
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen.query_one(Input).has_focus
        await pilot.press(*name)
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#search-table", ResultList)
        assert table.row_count >= 1
        keys = table.keys
        assert hid in keys
        assert name in table.get_row_at(keys.index(hid))[1] or table.get_row_at(0)
        await pilot.press("down")
        assert table.has_focus
        for _ in range(keys.index(hid)):
            await pilot.press("down")
        assert table.cursor_row == keys.index(hid)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert type(app.screen).__name__ == "HouseholdScreen"
        members = app.screen.query_one("#members-table", ResultList)
        rows = [list(members.get_row_at(i)) for i in range(members.row_count)]
        assert any(r[0] == name for r in rows)
        real_phones = {
            r[0]
            for r in conn.execute("SELECT phone FROM members WHERE household_id = ?", (hid,))
            if r[0]
        }
        shown = " ".join(" ".join(r) for r in rows)
        assert not any(p in shown for p in real_phones)
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "SearchScreen"


async def test_typing_by_pinyin_initials_and_address(runtime):
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        for query in ("zh", "1-1-101"):
            inp = app.screen.query_one(Input)
            inp.value = ""
            await pilot.press(*query)
            await app.workers.wait_for_complete()
            await pilot.pause()
            table = app.screen.query_one("#search-table", ResultList)
            assert table.row_count > 0, query


async def test_stale_results_are_dropped(runtime):
    """Fast typing: only the results of the last query remain."""
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        await pilot.press(*"zzzzzzqqqq")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#search-table", ResultList).row_count == 0
        assert "没有" in str(app.screen.query_one("#search-status", Static).render())


async def test_home_screen_shows_the_workers_grid_at_80x24(runtime):
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        title = str(app.screen.query_one("#home-head", Static).render())
        assert runtime.worker.name in title
        assert app.screen.query_one("#home-table", ResultList).row_count > 0
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert type(app.screen).__name__ == "HouseholdScreen"


async def test_english_interface(runtime):
    from kiosk.core.i18n import set_language

    set_language("en")
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        assert "pinyin" in app.screen.query_one(Input).placeholder


async def test_scrolling_to_the_end_loads_the_next_page(runtime):
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f2")
        await pilot.press("z")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#search-table", ResultList)
        first_page = table.row_count
        assert first_page == runtime.settings.page_size
        await pilot.press("down", "end")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.row_count > first_page
        assert len(set(table.keys)) == table.row_count


async def test_cjk_columns_line_up(runtime):
    """Every row's columns start at the same terminal cell, whatever mix of CJK and digits."""
    from rich.cells import cell_len

    app = signed_in_app(runtime)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("f2")
        await pilot.press(*"1-1-")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#search-table", ResultList)
        assert table.row_count > 3
        starts = set()
        for i in range(table.row_count):
            address, head = table.get_row_at(i)[:2]
            line = table._lines[i]
            at = line.index(head, len(address) + 1)
            starts.add(cell_len(line[:at]))  # terminal cell where the head's name begins
        header_at = table._header.index(table.columns[1])
        starts.add(cell_len(table._header[:header_at]))
        assert len(starts) == 1


async def test_enter_in_the_search_box_opens_the_best_match(runtime):
    """A quick ↓ Enter (or Enter alone) opens the highlighted match, never only moves focus."""
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await pilot.press(*"1-1-101")
        await app.workers.wait_for_complete()
        await pilot.pause()
        first = app.screen.query_one("#search-table", ResultList).key_at(0)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert type(app.screen).__name__ == "HouseholdScreen"
        assert app.screen.household_id == first


async def test_results_that_fit_keep_the_lists_size_and_show_no_scrollbar(runtime):
    """A new page of results that fits the list repaints it without a new layout (its
    virtual size stays), and the size floor never brings a scrollbar of its own."""
    app = signed_in_app(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f2")
        table = app.screen.query_one("#search-table", ResultList)
        sizes = []
        for query in ("1-1-101", "1-1-102", "2-1-101"):
            app.screen.query_one(Input).value = query
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert 0 < table.row_count < table.size.height - 1, query
            sizes.append(table.virtual_size)
            assert not table.show_vertical_scrollbar and not table.show_horizontal_scrollbar
        assert len(set(sizes)) == 1
        # A page taller than the list scrolls, and the rows reach the last one.
        app.screen.query_one(Input).value = "z"
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.virtual_size.height == table.row_count + 1
        assert table.show_vertical_scrollbar
        assert not table.show_horizontal_scrollbar


async def test_the_home_header_never_breaks_a_grid_name(runtime):
    """A supervisor's community has many grids: at 80x24 the first line of the header keeps
    whole names that fit and says how many more, on one line."""
    from db.workers import worker_by_name
    from screens.households.home import HomeScreen
    from tests.conftest import SUPERVISOR

    app = signed_in_app(runtime, worker_by_name(runtime.conn, SUPERVISOR))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        head = app.screen.query_one("#home-head")
        first = str(head.render()).splitlines()[0]
        assert first.startswith("我的网格")
        drawn = head.render_lines(head.region.reset_offset)
        assert drawn[0].text.strip() == first.strip()  # on one line: nothing wrapped


def test_grid_names_are_kept_whole_and_the_rest_counted():
    from rich.cells import cell_len

    from screens.households.home import grids_line

    names = [f"安静社区第{n}网格" for n in "一二三四五六七八九十"]
    line = grids_line("我的网格: 演示主管 · ", names, 76)
    shown = line.removeprefix("我的网格: 演示主管 · ").split("等")[0].split("、")
    assert cell_len(line) <= 76 and line.endswith(f"等 {len(names) - len(shown)} 个网格")
    assert shown and all(name in names for name in shown)  # whole names only
    assert grids_line("我的网格: 王芳 · ", names[:1], 20) == "我的网格: 王芳 · 安静社区第一网格"

"""The case screens driven like a user: keys in, what the screen shows and what was written."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Select, Static

from db.cases import CaseFilter, append_event, count_cases, get_case, register_case
from db.connection import transaction
from kiosk.core.i18n import t
from tests.conftest import SUPERVISOR, acting_as
from tests.pilot_helpers import settle, signed_in_app


@pytest.fixture
def runtime(runtime):
    """The community's supervisor sets the scene: cases and visits in both demo grids."""
    with acting_as(runtime, SUPERVISOR):
        yield runtime


def make_app(runtime, worker=None):

    return signed_in_app(runtime, worker)


def supervisor(runtime):
    from db.workers import worker_by_name
    from kiosk.demo.district import DEMO_ACCOUNTS

    return worker_by_name(runtime.conn, DEMO_ACCOUNTS["supervisor"][0])


def _events(conn) -> int:
    return conn.execute("SELECT count(*) FROM case_events").fetchone()[0]


def _notes(app) -> str:
    return " ".join(n.message for n in app._notifications)


async def test_case_list_filters_and_opens_a_case(runtime):
    app = make_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f3")
        await settle(app, pilot)
        screen = app.screen
        assert type(screen).__name__ == "CasesScreen"
        table = screen.query_one("#cases-table", DataTable)
        total = count_cases(runtime.conn)
        assert table.row_count == min(total, runtime.settings.page_size)
        assert str(total) in str(screen.query_one("#cases-status", Static).render())
        await pilot.press("o")  # overdue only
        await settle(app, pilot)
        overdue = count_cases(runtime.conn, CaseFilter(overdue=True))
        assert 0 < table.row_count == min(overdue, runtime.settings.page_size)
        await pilot.press("o", "g")  # all again, then my grid
        await settle(app, pilot)
        worker = runtime.worker
        grid_ids = [
            r[0]
            for r in runtime.conn.execute(
                f"SELECT id FROM grids WHERE code IN ({','.join('?' * len(worker.grids))})",
                list(worker.grids),
            )
        ]
        assert table.row_count == min(
            count_cases(runtime.conn, CaseFilter(grid_ids=grid_ids)), runtime.settings.page_size
        )
        # the status filter: a Select, opened and chosen with keys
        screen.query_one("#filter-status", Select).focus()
        await pilot.press("enter", "down", "down", "enter")  # blank, open, registered
        await settle(app, pilot)
        value = screen.query_one("#filter-status", Select).value
        first = table.coordinate_to_cell_key((0, 0)).row_key.value
        assert get_case(runtime.conn, first).state.status == value or (
            value == "open" and get_case(runtime.conn, first).state.is_open
        )
        table.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "CaseDetailScreen"
        assert app.screen.case_id == first


async def test_actions_on_keys_write_events_and_refusals_write_nothing(runtime):
    from screens.cases.case_detail import CaseDetailScreen

    conn = runtime.conn
    hh = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    with transaction(conn):
        cid = register_case(runtime.ctx, household_ids=[hh], category="sewer", summary="下水堵")
    app = make_app(
        runtime, supervisor(runtime)
    )  # assigning is a supervisor's (kiosk.security.roles)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        timeline = app.screen.query_one("#case-timeline", DataTable)
        assert timeline.row_count == 1
        # what the state does not allow is not offered: rating a case that is not resolved
        before = _events(conn)
        assert app.screen.check_action("act", ("rate",)) is False
        assert app.screen.check_action("act", ("assign",)) is True
        await pilot.press("t")
        await settle(app, pilot)
        assert isinstance(app.screen, CaseDetailScreen)
        assert _events(conn) == before
        # assign with a department and a deadline, typed into the form
        await pilot.press("a")
        await settle(app, pilot)
        await pilot.press(*"房管所", "tab", *"王主任", "tab", *"2099-01-01", "enter")
        await settle(app, pilot)
        detail = get_case(conn, cid)
        assert (detail.state.status, detail.state.department, detail.state.due) == (
            "assigned",
            "房管所",
            "2099-01-01",
        )
        assert app.screen.query_one("#case-timeline", DataTable).row_count == 2
        await pilot.press("m")  # resolve on the spot
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert get_case(conn, cid).state.status == "resolved"
        offered = {
            ev
            for ev in ("assign", "progress", "rate", "follow_up", "reopen", "close")
            if app.screen.check_action("act", (ev,))
        }
        assert offered == {"rate", "follow_up", "reopen", "close"}


async def test_register_from_a_household_proposes_repeats(runtime):
    from screens.households.household import HouseholdScreen

    conn = runtime.conn
    hh = conn.execute(
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid DESC LIMIT 1"
    ).fetchone()[0]
    with transaction(conn):
        earlier = register_case(
            runtime.ctx, household_ids=[hh], category="parking", summary="楼下乱停车"
        )
    app = make_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(HouseholdScreen(hh))
        await settle(app, pilot)
        panel = app.screen.query_one("#household-cases")
        assert "楼下乱停车" in str(panel.render())
        await pilot.press("c")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "CaseRegisterScreen"
        await pilot.press("enter", "down", "enter")  # the first category: 停车 parking
        await pilot.press("tab", *"楼下又乱停车")
        await settle(app, pilot)
        repeats = app.screen.query_one("#reg-repeats", DataTable)
        assert repeats.row_count >= 1
        assert repeats.coordinate_to_cell_key((0, 0)).row_key.value == earlier
        await pilot.press("ctrl+r")  # link it as a repeat of the highlighted case
        await settle(app, pilot)
        assert type(app.screen).__name__ == "HouseholdScreen"
        new = conn.execute("SELECT id FROM cases ORDER BY rid DESC LIMIT 1").fetchone()[0]
        state = get_case(conn, new).state
        assert (state.status, state.close_kind, state.repeat_of) == ("closed", "repeat", earlier)
        # confirm a new one instead
        await pilot.press("c")
        await settle(app, pilot)
        await pilot.press("enter", "down", "enter", "tab", *"路灯坏了", "ctrl+s")
        await settle(app, pilot)
        assert "路灯坏了" in str(app.screen.query_one("#household-cases").render())


async def test_register_from_a_visit_takes_household_and_visit_along(runtime):
    from screens.cases.case_register import CaseRegisterScreen

    conn = runtime.conn
    hh = conn.execute("SELECT id FROM households LIMIT 1 OFFSET 5").fetchone()[0]
    app = make_app(runtime)
    results = []
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(
            CaseRegisterScreen([hh], visit_id="visit-123", summary="噪音扰民", category="noise"),
            results.append,
        )
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    detail = get_case(conn, results[0])
    assert detail.visit_id == "visit-123" and detail.category == "noise"
    assert [h.id for h in detail.households] == [hh]


async def test_empty_register_form_says_what_is_missing(runtime):
    from screens.cases.case_register import CaseRegisterScreen

    before = runtime.conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(CaseRegisterScreen())
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "请选择事项类别" in _notes(app)
    assert runtime.conn.execute("SELECT count(*) FROM cases").fetchone()[0] == before


async def test_figures_screen_at_80x24(runtime):
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await settle(app, pilot)
        screen = app.screen
        assert type(screen).__name__ == "FiguresScreen"
        head = str(screen.query_one("#figures-headline", Static).render())
        assert "化解率" in head and "群众满意率" in head and "%" in head
        table = screen.query_one("#figures-table", DataTable)
        assert table.row_count == len(screen.figures["by_grid"])
        await pilot.press("b")
        await settle(app, pilot)
        assert table.row_count == len(screen.figures["by_category_group"])
        await pilot.press("p")
        await settle(app, pilot)
        assert screen.period_index == 1
        assert screen.query_one("#figures-trend").region.height > 0


async def test_case_list_usable_at_80x24_and_palette_has_case_actions(runtime):
    from kiosk.app.palette import kiosk_commands
    from screens.cases.case_detail import CaseDetailScreen

    app = make_app(runtime, supervisor(runtime))  # a grid worker's palette has fewer
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await settle(app, pilot)
        table = app.screen.query_one("#cases-table", DataTable)
        assert table.region.height >= 5 and table.row_count > 0
        cid = table.coordinate_to_cell_key((0, 0)).row_key.value
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        titles = [c.title for c in kiosk_commands(app)]
        from screens.cases.case_detail import ACTION_KEYS

        # the palette offers what the keys offer for this case: its state's actions
        offered = [ev for _, ev in ACTION_KEYS if app.screen.check_action("act", (ev,))]
        assert offered
        for _, ev in ACTION_KEYS:
            word = t(f"cases.action.{ev}")
            listed = any(
                title.endswith(f"{word} ({key})")
                for key, e in ACTION_KEYS
                if e == ev
                for title in titles
            )
            assert listed is (ev in offered), (ev, titles)


async def test_palette_has_the_list_and_figures_actions(runtime):
    from kiosk.app.palette import kiosk_commands

    app = make_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f3")
        await settle(app, pilot)
        titles = [c.title for c in kiosk_commands(app)]
        assert "我的网格" in titles and "超期" in titles and "登记事项" in titles
        overdue = next(c for c in kiosk_commands(app) if c.title == "超期")
        overdue.callback()
        await settle(app, pilot)
        assert app.screen.overdue
        await pilot.press("f5")
        await settle(app, pilot)
        titles = [c.title for c in kiosk_commands(app)]
        assert any("时段" in title for title in titles)


async def test_household_panel_reloads_when_its_screen_is_active_again(runtime):
    from screens.cases.case_detail import CaseDetailScreen
    from screens.households.household import HouseholdScreen

    conn = runtime.conn
    hh = conn.execute("SELECT id FROM households ORDER BY rid LIMIT 1 OFFSET 3").fetchone()[0]
    app = make_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(HouseholdScreen(hh))
        await settle(app, pilot)
        with transaction(conn):
            cid = register_case(
                runtime.ctx, household_ids=[hh], category="elevator", summary="电梯又坏了"
            )
        await app.push_screen(CaseDetailScreen(cid))  # e.g. a visit form that registered it
        await settle(app, pilot)
        app.pop_screen()
        await settle(app, pilot)
        assert "电梯又坏了" in str(app.screen.query_one("#household-cases").render())


async def test_the_assign_form_keeps_what_was_typed_and_says_what_is_wrong_once(runtime):
    """At 80x24: a deadline before the case was registered is refused in the form, next to
    its field, once, in the interface's words (no CLI flag), and everything typed stays;
    corrected, it is written."""
    from textual.widgets import Input, Static

    from screens.cases.case_action import CaseActionScreen
    from screens.cases.case_detail import CaseDetailScreen

    conn = runtime.conn
    hh = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    with transaction(conn):
        cid = register_case(runtime.ctx, household_ids=[hh], category="sewer", summary="下水堵")
    app = make_app(runtime, supervisor(runtime))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        before = _events(conn)
        await pilot.press("a")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, CaseActionScreen)
        await pilot.press("ctrl+u", "tab", *"王主任", "tab", *"2001-01-01", "ctrl+s")
        await settle(app, pilot)
        assert app.screen is form  # refused: no department
        error = str(form.query_one("#action-error", Static).render())
        assert "责任单位" in error and "--" not in error
        assert form.query_one("#f-department", Input).has_focus
        assert form.query_one("#f-person", Input).value == "王主任"  # kept
        assert form.query_one("#f-due", Input).value == "2001-01-01"
        await pilot.press(*"房管所", "ctrl+s")
        await settle(app, pilot)
        assert app.screen is form  # refused again: the deadline is before registration
        error = str(form.query_one("#action-error", Static).render())
        assert "--" not in error and form.query_one("#f-due", Input).has_focus
        assert _events(conn) == before and not _notes(app)  # said once, in the form only
        form.query_one("#f-due", Input).value = "2099-01-01"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, CaseDetailScreen)
    state = get_case(conn, cid).state
    assert (state.department, state.person, state.due) == ("房管所", "王主任", "2099-01-01")


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_case_list_gives_the_summary_what_is_left(demo_db, size, lang):
    """Columns give way by priority (department, then escalation, then deadline) and the
    summary gets the rest, never fewer than 16 cells; the table fits the terminal."""
    from kiosk.core.i18n import set_language
    from kiosk.runtime import load, open_runtime
    from screens.cases.case_list import SUMMARY_MIN
    from tests.pages import CaseListPage

    rt = open_runtime(load(db=str(demo_db), lang=lang))
    rt.ctx.verified = True
    try:
        app = make_app(rt)
        async with app.run_test(size=size) as pilot:
            await CaseListPage.open(app, pilot)
            table = app.screen.query_one("#cases-table", DataTable)
            widths = {c.key.value: c.get_render_width(table) for c in table.columns.values()}
            assert widths["summary"] >= SUMMARY_MIN + 2
            assert sum(widths.values()) <= size[0]
            assert {"number", "status", "category"} <= set(widths)
            if size[0] >= 100 and lang == "zh":
                assert "department" in widths
    finally:
        rt.close()
        set_language("zh")


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_category_chart_names_its_bars_and_lines_them_up(runtime, size):
    """Every category group is named, in full width characters, and its bar starts in the
    same column whatever the name's length (plotext counted a Chinese character as one)."""
    from rich.cells import cell_len

    from screens.cases.figures import CategoryBars, FiguresScreen

    app = make_app(runtime, supervisor(runtime))
    async with app.run_test(size=size) as pilot:
        await app.switch_mode("figures")
        await settle(app, pilot)
        assert isinstance(app.screen, FiguresScreen)
        bars = app.screen.query_one(CategoryBars)
        lines = bars.render().plain.splitlines()
        assert lines and all(cell_len(line) <= bars.size.width for line in lines)
        starts = {cell_len(line.split("█")[0]) for line in lines if "█" in line}
        assert len(starts) == 1  # every bar begins in one column
        names = {row[0] for row in bars.rows}
        assert all(any(line.startswith(name[:3]) for line in lines) for name in names)


async def test_a_long_progress_note_can_be_read_in_full(runtime):
    from textual.widgets import Static

    from screens.cases.case_detail import CaseDetailScreen

    conn = runtime.conn
    hh = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    note = "已协调物业和城管多次到场查看，" * 8 + "下周三前完成清理。"
    with transaction(conn):
        cid = register_case(runtime.ctx, household_ids=[hh], category="sewer", summary="下水堵")
    with acting_as(runtime, SUPERVISOR), transaction(conn):
        append_event(runtime.ctx, cid, "progress", {"note": note})
    app = make_app(runtime, supervisor(runtime))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        await pilot.press("tab", "down")
        await settle(app, pilot)
        shown = str(app.screen.query_one("#case-event-note", Static).render())
        assert note in shown.replace("\n", "")


async def test_in_english_the_keys_on_a_case_say_what_they_do(runtime):
    """A key is a verb (Assign, Resolve); the timeline's steps are what happened (Assigned)."""
    from kiosk.core.i18n import set_language
    from screens.cases.case_action import CaseActionScreen
    from screens.cases.case_detail import CaseDetailScreen
    from screens.widgets.footer import KioskFooter

    hh = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    with transaction(runtime.conn):
        cid = register_case(runtime.ctx, household_ids=[hh], category="sewer", summary="下水堵")
    set_language("en")
    try:
        app = make_app(runtime, supervisor(runtime))
        async with app.run_test(size=(100, 30)) as pilot:
            await app.push_screen(CaseDetailScreen(cid))
            await settle(app, pilot)
            footer = app.screen.query_one(KioskFooter).render().plain
            assert "Assign" in footer and "Assigned" not in footer
            await pilot.press("a")
            await settle(app, pilot)
            assert isinstance(app.screen, CaseActionScreen)
            title = str(app.screen.query_one(".title").render())
            assert title.endswith("Assign"), title
    finally:
        set_language("zh")


async def test_a_case_of_another_grid_is_read_but_offers_no_action(runtime):
    """The grid worker reads the community's cases; acting is for their own grid's: keys
    that would be refused at save are not offered (nor in the palette)."""
    from kiosk.app.shell import KioskApp
    from screens.cases.case_detail import CaseDetailScreen
    from screens.widgets.footer import KioskFooter
    from tests.conftest import GRID_WORKER

    def a_case_in(code: str) -> str:
        hh = runtime.conn.execute(
            "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code = ?"
            " LIMIT 1",
            (code,),
        ).fetchone()[0]
        with transaction(runtime.conn):
            return register_case(
                runtime.ctx, household_ids=[hh], category="sewer", summary="下水堵"
            )

    own, other = a_case_in("G001"), a_case_in("G002")
    from db.workers import worker_by_name

    app = KioskApp(runtime, signed_in=worker_by_name(runtime.conn, GRID_WORKER))
    async with app.run_test(size=(100, 30)) as pilot:
        for case_id, offered in ((own, True), (other, False)):
            await app.push_screen(CaseDetailScreen(case_id))
            await settle(app, pilot)
            footer = app.screen.query_one(KioskFooter).render().plain
            assert ("推进" in footer) is offered, footer
            assert (app.screen.check_action("act", ("progress",)) is not False) is offered
            await app.pop_screen()
            await settle(app, pilot)


async def test_a_steps_photos_are_counted_on_the_timeline_and_described_below(runtime):
    from db.photos import register_event
    from kiosk.photos.attach import attach_prepared
    from kiosk.photos.prepare import prepare_bytes
    from screens.cases.case_detail import CaseDetailScreen
    from tests.photo_helpers import phone_jpeg

    conn = runtime.conn
    hh = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    photos = [prepare_bytes(phone_jpeg(1200, 900)), prepare_bytes(phone_jpeg(600, 800))]
    with transaction(conn):
        cid = register_case(runtime.ctx, household_ids=[hh], category="sewer", summary="下水堵")
        attach_prepared(runtime.ctx, cid, register_event(conn, cid), photos)
    app = make_app(runtime, supervisor(runtime))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        table = app.screen.query_one("#case-timeline", DataTable)
        first = " ".join(str(c) for c in table.get_row_at(0))
        assert t("photos.count", n=2) in first
        await pilot.press("tab")
        await settle(app, pilot)
        shown = str(app.screen.query_one("#case-event-note", Static).render())
        assert t("photos.one", width=1200, height=900, kb=photos[0].size // 1024) in shown
        assert "600×800" in shown


async def test_resolving_on_screen_with_photos_from_a_folder(runtime, tmp_path):
    """The worker pastes the phone's folder into the form: its photos are prepared on save
    and attached to the step; a path that is not there is said in the form and nothing is
    written."""
    from screens.cases.case_action import CaseActionScreen
    from screens.cases.case_detail import CaseDetailScreen
    from tests.photo_helpers import SECRETS, write_phone_jpeg

    conn = runtime.conn
    hh = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    with transaction(conn):
        cid = register_case(runtime.ctx, household_ids=[hh], category="sewer", summary="下水堵")
    phone = tmp_path / "DCIM 100"  # a space in the name, as phones make them
    phone.mkdir()
    write_phone_jpeg(phone / "IMG_1.JPG", width=800, height=600)
    write_phone_jpeg(phone / "IMG_2.jpg", width=600, height=800)
    (phone / "notes.txt").write_text("not a photo")
    app = make_app(runtime, supervisor(runtime))
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        before = _events(conn)
        await pilot.press("m")  # resolve on the spot
        await settle(app, pilot)
        assert isinstance(app.screen, CaseActionScreen)
        await pilot.press(*"已疏通", "tab")
        app.screen.query_one("#f-photos").value = str(tmp_path / "missing")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, CaseActionScreen)  # stays, says which path
        assert "missing" in str(app.screen.query_one("#action-error", Static).render())
        assert _events(conn) == before
        app.screen.query_one("#f-photos").value = f'"{phone}"'
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await app.workers.wait_for_complete()
        await settle(app, pilot)
        detail = get_case(conn, cid)
        assert detail.state.status == "resolved"
        assert sorted((p.width, p.height, p.event_type) for p in detail.photos) == [
            (600, 800, "resolve_on_spot"),
            (800, 600, "resolve_on_spot"),
        ]
        table = app.screen.query_one("#case-timeline", DataTable)
        assert t("photos.count", n=2) in " ".join(str(c) for c in table.get_row_at(1))
    for (data,) in conn.execute("SELECT data FROM photo_blobs"):
        assert not any(secret in bytes(data) for secret in SECRETS)

"""The household screen is built once and reused: a scan or an open fills it before it comes
to the front, so its first frame is the new household's and nothing of the previous one shows;
the footer draws the screen's keys and presses them when clicked."""

from __future__ import annotations

import gc

import pytest
from textual.color import Color
from textual.widgets import Header

from db.cases import list_open_cases_for_household
from db.connection import transaction
from db.labels import ensure_household_label
from kiosk.core import collector
from kiosk.core.i18n import set_language
from kiosk.qr.payload import make
from screens.households.household import KEPT_SCREEN, HouseholdScreen, open_household
from screens.widgets.footer import KioskFooter
from screens.widgets.qr import HouseholdQR
from screens.widgets.result_list import ResultList
from tests.pilot_helpers import settle, signed_in_app, until


@pytest.fixture(autouse=True)
def no_gc_hold_left():
    """A scan in an earlier test whose app ended before the frame holds the collector for up
    to a second more: start without it, so the checks below see this test's holds only."""
    collector.release_all()
    assert gc.isenabled()


def _app(runtime):

    runtime.settings.scan_key_gap_ms = 3_600_000  # every key of a test is a scanner's
    return signed_in_app(runtime)


def _households(conn, n: int = 2) -> list[str]:
    """Households with an open case and different member counts (first with the most)."""
    rows = conn.execute(
        "SELECT DISTINCT h.id, h.member_count FROM households h"
        " JOIN case_households l ON l.household_id = h.id JOIN case_state s"
        " ON s.case_id = l.case_id WHERE s.status != 'closed'"
        " ORDER BY h.member_count DESC, h.rid"
    ).fetchall()
    return [r[0] for r in rows][:n]


def _payload(runtime, hid: str) -> str:
    with transaction(runtime.conn):
        return make("HH", ensure_household_label(runtime.ctx, hid).code).text


def _member_names(conn, hid: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM members WHERE household_id = ?", (hid,))}


def _shown_names(screen) -> set[str]:
    table = screen.query_one("#members-table", ResultList)
    return {table.get_row_at(i)[0] for i in range(table.row_count)}


async def test_a_second_scan_reuses_the_screen_and_shows_only_the_new_household(runtime):
    conn = runtime.conn
    first, second = _households(conn)
    payloads = [_payload(runtime, first), _payload(runtime, second)]
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press(*payloads[0], "enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, HouseholdScreen) and screen.household_id == first
        assert app.get_screen(KEPT_SCREEN) is screen
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press(*payloads[1], "enter")
        await settle(app, pilot)
        assert app.screen is screen and screen.household_id == second  # not composed again
        assert _shown_names(screen) == _member_names(conn, second)
        assert not (_member_names(conn, first) - _member_names(conn, second)) & _shown_names(screen)
        cases = screen.query_one("#household-cases")
        assert cases.household_id == second
        assert [c.number for c in cases.cases] == [
            c.number for c in list_open_cases_for_household(conn, second)
        ]
        assert screen.query_one(HouseholdQR).payload.text == payloads[1]
        assert gc.isenabled()  # held only until the frame


async def test_an_open_after_a_scan_puts_the_members_first_again(runtime):
    conn = runtime.conn
    first, second = _households(conn)
    payload = _payload(runtime, first)
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press(*payload, "enter")
        await settle(app, pilot)
        scanned = app.screen
        assert scanned.has_class("-from-scan")
        await pilot.press("escape")
        await settle(app, pilot)
        open_household(app, second)  # the walk list's or the search's way in
        await settle(app, pilot)
        screen = app.screen
        assert screen is scanned and screen.household_id == second
        assert not screen.has_class("-from-scan")
        ids = [w.id for w in screen.query_one("#household-body").children]
        assert ids.index("members-table") < ids.index("household-cases")
        assert (
            screen.query_one("#members-table").region.y
            < screen.query_one("#household-cases").region.y
        )


async def _shown(app, pilot, hid: str):
    """Open ``hid`` as the walk list or a search does; the screen once it has settled."""
    open_household(app, hid)
    await settle(app, pilot)
    return app.screen


async def _left(app, pilot) -> None:
    """Esc back from the screen in front."""
    await pilot.press("escape")
    await settle(app, pilot)


def _restyled(app) -> list:
    """Every node the app's stylesheet applies its rules to from now on."""
    applied: list = []
    original = app.stylesheet.apply

    def apply(node, **kwargs):
        applied.append(node)
        return original(node, **kwargs)

    app.stylesheet.apply = apply
    return applied


async def test_the_kept_screen_comes_back_without_restyling_what_did_not_change(runtime):
    first, second = _households(runtime.conn)
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = await _shown(app, pilot, first)
        await _left(app, pilot)
        applied = _restyled(app)
        open_household(app, second)
        await settle(app, pilot)
        assert app.screen is screen and screen.household_id == second
        unchanged = [screen, screen.query_one(Header), screen.query_one(KioskFooter)]
        assert not [node for node in unchanged if node in applied]


@pytest.mark.parametrize("change", ["theme", "terminal focus"])
async def test_what_changed_while_the_kept_screen_was_away_restyles_it(runtime, change):
    first, second = _households(runtime.conn)
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = await _shown(app, pilot, first)
        dark = screen.styles.background
        await pilot.press("escape")
        await settle(app, pilot)
        if change == "theme":
            app.theme = "textual-light"
        else:
            app.app_focus = False
        await settle(app, pilot)
        applied = _restyled(app)
        open_household(app, second)
        await settle(app, pilot)
        assert app.screen is screen and screen.query_one(Header) in applied
        if change == "theme":
            assert screen.styles.background == Color.parse(app.current_theme.background)
            assert screen.styles.background != dark


async def test_a_rule_on_a_panels_place_follows_the_panels_when_they_change_places(runtime):
    first, second = _households(runtime.conn)
    payload = _payload(runtime, second)
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.stylesheet.add_source(
            "#household-body > Widget:odd { text-style: italic; }", read_from=("t", "")
        )
        app.refresh_css(animate=False)

        def italic(screen) -> list[str]:
            body = screen.query_one("#household-body")
            return [w.id for w in body.children if w.styles.text_style.italic]

        open_household(app, first)  # members first
        await settle(app, pilot)
        screen = app.screen
        members_first = italic(screen)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press(*payload, "enter")  # cases first
        await settle(app, pilot)
        assert app.screen is screen and screen.has_class("-from-scan")
        cases_first = italic(screen)
        screen.update_node_styles(animate=False)  # what a restyle of everything gives
        assert cases_first == italic(screen) != members_first


async def test_a_rule_on_the_scan_class_shows_on_a_scan_and_goes_on_an_open(runtime):
    first, second = _households(runtime.conn)
    payload = _payload(runtime, second)
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.stylesheet.add_source(
            "HouseholdScreen.-from-scan #household-cases { text-style: italic; }",
            read_from=("t", ""),
        )
        app.refresh_css(animate=False)
        screen = await _shown(app, pilot, first)
        cases = screen.query_one("#household-cases")
        assert not cases.styles.text_style.italic
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press(*payload, "enter")
        await settle(app, pilot)
        assert app.screen is screen and cases.styles.text_style.italic
        await pilot.press("escape")
        await settle(app, pilot)
        open_household(app, first)
        await settle(app, pilot)
        assert app.screen is screen and not cases.styles.text_style.italic


async def test_a_household_opened_over_another_gets_a_screen_of_its_own(runtime):
    conn = runtime.conn
    first, second = _households(conn)
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        open_household(app, first)
        await settle(app, pilot)
        kept = app.screen
        open_household(app, second)  # e.g. a scan while the first is still open
        await settle(app, pilot)
        assert app.screen is not kept and app.screen.household_id == second
        assert kept.household_id == first  # the one below keeps its household
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is kept and _shown_names(kept) == _member_names(conn, first)


async def test_a_language_switch_builds_the_screen_again(runtime):
    conn = runtime.conn
    first, second = _households(conn)
    app = _app(runtime)
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            open_household(app, first)
            await settle(app, pilot)
            kept = app.screen
            await pilot.press("escape")
            await settle(app, pilot)
            set_language("en")
            open_household(app, second)
            await settle(app, pilot)
            assert app.screen is not kept and app.get_screen(KEPT_SCREEN) is app.screen
            assert "Members" in str(app.screen.query_one(".title").render())
    finally:
        set_language("zh")


async def test_back_from_a_visit_the_kept_screen_shows_it(runtime):
    from screens.visits.visit_form import VisitFormScreen

    conn = runtime.conn
    first, _ = _households(conn)
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screen = await _shown(app, pilot, first)
        await pilot.press("v")
        await settle(app, pilot)
        assert isinstance(app.screen, VisitFormScreen)
        from db.visits import VisitInput, save_visit

        with transaction(conn):
            save_visit(runtime.ctx, VisitInput(household_id=first, note="KEPT-SCREEN-NOTE"))
        app.pop_screen()
        await settle(app, pilot)
        assert app.screen is screen
        assert "KEPT-SCREEN-NOTE" in str(screen.query_one("#household-visits").render())


async def test_the_footer_lists_the_keys_and_a_click_presses_one(runtime):
    from screens.cases.case_register import CaseRegisterScreen

    conn = runtime.conn
    first, _ = _households(conn)
    app = signed_in_app(runtime)  # keys as fast as a person's, not a scan
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        open_household(app, first)
        await settle(app, pilot)
        footer = app.screen.query_one(KioskFooter)
        line = str(footer.render())
        for key in ("esc", "c", "v", "w"):
            assert f" {key} " in line
        start = next(a for a, _, k in footer._spans if k.key == "c")
        await pilot.click(KioskFooter, offset=(start + 1, 0))
        # "c" may begin a scanned slip ("cs1:" with Caps Lock on): held a moment, then pressed
        await until(pilot, lambda: isinstance(app.screen, CaseRegisterScreen))
        await settle(app, pilot)  # the new screen mounted whole before the app closes


async def test_a_scan_the_worker_may_not_open_reads_and_records_nothing(runtime):
    """An administrator (no ``household.view``) scans a label: the app refuses the screen and
    says who may; the household is not read, so no lookup enters the audit trail."""
    from db.workers import worker_by_name
    from kiosk.demo.district import DEMO_ACCOUNTS

    conn = runtime.conn
    first, _ = _households(conn)
    payload = _payload(runtime, first)
    admin = worker_by_name(conn, DEMO_ACCOUNTS["admin"][0])
    runtime.settings.scan_key_gap_ms = 3_600_000
    app = signed_in_app(runtime, admin)
    lookups = "SELECT count(*) FROM audit WHERE action = 'lookup'"
    before = conn.execute(lookups).fetchone()[0]
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        screens = list(app.screen_stack)
        await pilot.press(*payload, "enter")
        await settle(app, pilot)
        assert list(app.screen_stack) == screens
        assert not app.is_screen_installed(KEPT_SCREEN)
    assert conn.execute(lookups).fetchone()[0] == before
    assert gc.isenabled()


async def test_members_read_in_english_in_the_english_interface(demo_db):
    """户主/配偶/男/女 are stored as the roster wrote them; the English screen says head,
    spouse, M, F (the Chinese one as stored)."""
    import re

    from kiosk.core.i18n import set_language
    from kiosk.runtime import load, open_runtime
    from tests.pages import HouseholdPage

    rt = open_runtime(load(db=str(demo_db), lang="en"))
    rt.ctx.verified = True
    try:
        hid = rt.conn.execute(
            "SELECT household_id FROM members WHERE relation = '配偶' LIMIT 1"
        ).fetchone()[0]
        app = signed_in_app(rt)
        async with app.run_test(size=(100, 30)) as pilot:
            await HouseholdPage.open(app, pilot, hid)
            table = app.screen.query_one("#members-table")
            rows = [table.get_row_at(i) for i in range(table.row_count)]
            relations = {r[1] for r in rows}
            genders = {r[2] for r in rows}
            assert {"head", "spouse"} <= relations and genders <= {"M", "F"}
            assert not any(re.search(r"[\u4e00-\u9fff]", r[1] + r[2]) for r in rows)
    finally:
        rt.close()
        set_language("zh")


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_numbers_to_verify_are_marked_masked_and_counted_on_home(runtime, lang):
    """A roster's mistyped ID number and short phone were kept as typed (待核实): the household
    screen shows them masked with a mark and says what it means; home counts the household."""
    from db.households import MemberInput, create_household
    from screens.households.home import HomeScreen

    conn = runtime.conn
    grid_id, compound_id = conn.execute(
        "SELECT h.grid_id, h.compound_id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' LIMIT 1"
    ).fetchone()
    with transaction(conn):
        hid = create_household(
            runtime.ctx,
            grid_id=grid_id,
            compound_id=compound_id,
            building="88",
            unit="8",
            room="808",
            members=[
                MemberInput("孙秀兰", "户主", phone="1381234", to_verify="phone"),
                MemberInput("陈明", "配偶", id_number="230102197903151230", to_verify="id_number"),
            ],
        )
    set_language(lang)
    try:
        app = _app(runtime)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            assert isinstance(app.screen, HomeScreen)
            head = str(app.screen.query_one("#home-head").render())
            assert (
                "号码待核实 1 户" if lang == "zh" else "1 household with numbers to verify"
            ) in head
            await app.push_screen(HouseholdScreen(hid))
            await settle(app, pilot)
            title = str(app.screen.query_one("#members-title").render())
            assert "⚠" in title and ("2 项号码待核实" if lang == "zh" else "2 numbers") in title
            table = app.screen.query_one("#members-table", ResultList)
            cells = {r[0]: r for r in map(table.get_row_at, range(table.row_count))}
            assert cells["孙秀兰"][4].endswith("⚠") and "1381234" not in cells["孙秀兰"][4]
            assert cells["陈明"][5].endswith("⚠") and "197903151230" not in cells["陈明"][5]
    finally:
        set_language("zh")

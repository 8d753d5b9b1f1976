"""Every key is discoverable: the footer shows the screen's own keys first and folds what does
not fit into "? 全部按键"; ``?`` (or F1 on the home list) lists every key of the screen, in
the interface's language only."""

from __future__ import annotations

import re

import pytest
from textual.widgets import Static

from db.workers import worker_by_name
from screens.cases.case_detail import CaseDetailScreen
from screens.households.home import HomeScreen
from screens.keys_panel import KeysPanel
from screens.widgets.footer import KioskFooter
from tests.conftest import SUPERVISOR
from tests.pilot_helpers import settle, signed_in_app, until

LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def _open_case(runtime) -> str:
    return runtime.conn.execute(
        "SELECT case_id FROM case_state WHERE status = 'assigned' LIMIT 1"
    ).fetchone()[0]


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_footer_puts_the_screens_keys_first_and_folds_the_rest(runtime, size):
    app = signed_in_app(runtime, worker_by_name(runtime.conn, SUPERVISOR))
    async with app.run_test(size=size) as pilot:
        await app.push_screen(CaseDetailScreen(_open_case(runtime)))
        await settle(app, pilot)
        footer = app.screen.query_one(KioskFooter)
        line = footer.render().plain
        assert line.split()[:4] == ["esc", "返回", "a", "交办"]  # the screen's own first
        assert "? 全部按键" in line  # what did not fit is one key away
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, KeysPanel))
        own = str(app.screen.query_one("#keys-own", Static).render())
        everywhere = str(app.screen.query_one("#keys-everywhere", Static).render())
        for key in ("f3", "f4", "f5", "f7", "f8", "^l", "^o"):  # never in a 100-column footer
            assert re.search(rf"^{re.escape(key)} ", everywhere, re.M), key
        assert "交办" in own and "交办" not in everywhere
        words = " ".join(line.split(None, 1)[1] for line in (own + "\n" + everywhere).splitlines())
        assert not LATIN_WORD.search(words)  # no Textual English (Scroll Up, Copy...)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, CaseDetailScreen))


async def test_f1_on_the_home_list_lists_every_key(runtime):
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, KeysPanel))
        assert "记录走访" in str(app.screen.query_one("#keys-own", Static).render())
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))


async def test_textuals_own_texts_do_not_leak_into_the_chinese_interface(runtime):
    """The command palette's search field and an open select's footer speak Chinese."""
    from textual.command import CommandList, CommandPalette
    from textual.widgets import Input

    from tests.pages import HouseholdPage

    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        visit = await (await HouseholdPage.open(app, pilot, hid)).record_visit()
        await visit.press("f4", "enter")  # the category list opens
        line = app.screen.query_one(KioskFooter).render().plain
        assert "Dismiss" not in line and not LATIN_WORD.search(line.replace("commands", ""))
        await visit.press("escape", "ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        assert app.screen.query_one(Input).placeholder == "搜索命令…"
        # every command it offers, Textual's own among them ("Quit" and the like)
        options = app.screen.query_one(CommandList)
        await until(pilot, lambda: options.option_count > 10)
        texts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        english = [  # words, not acronyms (PDF, PIN) nor the language switch's "English"
            s for s in texts for w in LATIN_WORD.findall(s) if w != "English" and not w.isupper()
        ]
        assert not english and any("退出" in s for s in texts)
        # a search that finds nothing says so in Chinese too (Textual writes it in a timer)
        await pilot.press(*"zzzz")
        await until(pilot, lambda: options.option_count == 1)
        assert str(options.get_option_at_index(0).prompt.renderable) == "没有匹配的命令"


async def test_the_administrators_footer_offers_only_what_they_may_do(runtime):
    from tests.conftest import ADMINISTRATOR

    app = signed_in_app(runtime, worker_by_name(runtime.conn, ADMINISTRATOR))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        line = app.screen.query_one(KioskFooter).render().plain
        for key in ("记录走访", "查找住户", "f2 住户", "f8 打印标签", "社区意见"):
            assert key not in line, key
        assert "f4 同步" in line and "f5 统计" in line
        seen = []
        notify = app.notify
        app.notify = lambda m, *a, **k: (seen.append(str(m)), notify(m, *a, **k))  # type: ignore
        await pilot.press("f2")  # not offered; pressed anyway, it says who may
        await settle(app, pilot)
        assert app.current_mode == "home" and any("无权查找住户" in m for m in seen)


async def test_the_palettes_visit_and_survey_commands_act_on_the_screen(runtime):
    from kiosk.app.palette import kiosk_commands
    from screens.households.household import HouseholdScreen
    from screens.visits.survey_fill import SurveyFillScreen
    from screens.visits.visit_form import VisitFormScreen
    from tests.pages import HouseholdPage

    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await HouseholdPage.open(app, pilot, hid)
        commands = {c.title: c.callback for c in kiosk_commands(app)}
        commands["记录走访"]()
        await until(pilot, lambda: isinstance(app.screen, VisitFormScreen))
        assert app.screen.household_id == hid
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
        commands["填写问卷"]()
        await until(pilot, lambda: isinstance(app.screen, SurveyFillScreen))
        assert app.screen.household_id == hid
        await settle(app, pilot)  # let the form mount whole before the app closes


async def test_the_keys_panel_names_a_key_once_as_the_screen_uses_it(runtime):
    """The visit form's F4 adds a problem: the panel lists that, not the app-wide F4."""
    from tests.pages import HouseholdPage

    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await (await HouseholdPage.open(app, pilot, hid)).record_visit()
        await settle(app, pilot)
        app.action_keys()
        await until(pilot, lambda: isinstance(app.screen, KeysPanel))
        await settle(app, pilot)
        own = str(app.screen.query_one("#keys-own", Static).render())
        everywhere = str(app.screen.query_one("#keys-everywhere", Static).render())
        assert "添加问题" in own
        keys = [line.split()[0] for line in (own + "\n" + everywhere).splitlines() if line]
        assert len(keys) == len(set(keys)), keys  # every key once

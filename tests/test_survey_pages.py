"""A questionnaire with groups, a repeat, a cascading choice, a calculation shown in a label
and two languages, filled through the screen under Pilot: pages, Ctrl+N / Ctrl+R on the
household's members, Ctrl+T for the form's language, a household label scanned into the
form, saving, and the saved response reviewed and changed (a new response replacing it)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select

from db.connection import transaction
from db.surveys import iter_responses, own_responses
from kiosk.domain.survey import import_survey, load_xlsform
from screens.visits.survey_fill import SurveyFillScreen, widget_id
from screens.visits.survey_responses import SurveyResponsesScreen
from tests.conftest import SUPERVISOR, acting_as
from tests.pilot_helpers import choose_survey, settle, signed_in_app, until

FORM = Path(__file__).resolve().parent / "survey_forms" / "household_members.md"


def field(screen, path: str):
    return screen.query_one(f"#{widget_id(path)}")


def page_line(screen) -> str:
    return str(screen.query_one("#survey-page").render())


async def test_pages_repeats_language_and_a_scanned_household(runtime):
    with transaction(runtime.conn):
        runtime.conn.execute("DELETE FROM survey_responses")
    with acting_as(runtime, SUPERVISOR), transaction(runtime.conn):
        import_survey(runtime.ctx, load_xlsform(FORM))
    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.push_screen(SurveyFillScreen(None))
        await settle(app, pilot)
        screen = app.screen
        await choose_survey(app, pilot, "hh")
        assert "第 1/3 页" in page_line(screen) and "住户" in page_line(screen)
        head = field(screen, "/data/hh/head")
        assert app.focused is head  # the page's first question has the cursor
        await pilot.press(*"王某", "enter")  # Enter moves on to the next question
        await settle(app, pilot)
        assert app.focused is field(screen, "/data/hh/prov")
        field(screen, "/data/hh/prov").value = "a"
        await settle(app, pilot)
        city = field(screen, "/data/hh/city")
        assert isinstance(city, Select)
        city.value = "x"  # offered only once the province is chosen (choice_filter)
        await settle(app, pilot)
        # the household label, scanned while the form is open: the response is for it
        from db.labels import ensure_household_label
        from kiosk.qr.payload import make

        with transaction(runtime.conn):
            code = ensure_household_label(runtime.ctx, hid).code
        screen.take_scan(make("HH", code))
        await settle(app, pilot)
        assert screen.household_id == hid
        await pilot.press("pagedown")
        await settle(app, pilot)
        assert "成员（第 1/1 份）" in page_line(screen)
        field(screen, "/data/members/age").value = "40"
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        assert "成员（第 2/2 份）" in page_line(screen)
        field(screen, "/data/members[2]/age").value = "12"
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        assert "第 3/3 份" in page_line(screen)
        await pilot.press("ctrl+r")  # once: it asks
        await settle(app, pilot)
        assert "第 3/3 份" in page_line(screen)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert "第 2/2 份" in page_line(screen)
        await pilot.press("pagedown")
        await settle(app, pilot)
        body = str(screen.query_one("#survey-body").render()) + " ".join(
            str(w.render()) for w in screen.query("#survey-body Static")
        )
        assert "共52岁" in body  # the sum over the members, in the note's label
        await pilot.press("ctrl+t")
        await settle(app, pilot)
        assert "English (en)" in page_line(screen)
        labels = " ".join(str(w.render()) for w in screen.query("#survey-body Label"))
        assert "Date" in labels and "日期" not in labels
        date = field(screen, "/data/d")
        assert isinstance(date, Input)
        date.value = "2000-01-01"  # `. >= today() - 30`: refused as it is typed
        await settle(app, pilot)
        assert screen.error_field is not None and screen.error_field.endswith("/d[1]")
        date.value = ""
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: app.screen is not screen)
    responses = list(iter_responses(runtime.conn, "hh"))
    assert len(responses) == 1
    r = responses[0]
    assert r.household_id == hid
    assert r.answers["hh"] == {"head": "王某", "prov": "a", "city": "x"}
    assert [m["age"] for m in r.answers["members"]] == [40, 12]
    assert r.answers["total"] == "52" and r.answers["username"]

    # reviewed and changed: a new response replaces it; the old one stays, superseded
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.push_screen(SurveyResponsesScreen())
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SurveyFillScreen) and screen.response is not None
        assert field(screen, "/data/hh/head").value == "王某"
        field(screen, "/data/hh/head").value = "王某某"
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: app.screen is not screen)
    current = list(iter_responses(runtime.conn, "hh"))
    assert len(current) == 1 and current[0].id != r.id
    assert current[0].answers["hh"]["head"] == "王某某"
    assert current[0].answers["meta"]["deprecatedID"] == r.id
    assert current[0].household_id == hid and len(current[0].answers["members"]) == 2
    assert [x.id for x, _ in own_responses(runtime.conn, runtime.ctx.device_id)] == [current[0].id]
    assert runtime.conn.execute("SELECT count(*) FROM survey_responses").fetchone()[0] == 2


async def test_a_questionnaire_left_half_done_comes_back(runtime, monkeypatch):
    """Esc keeps what was typed (a draft, members included); opening the questionnaire for
    the same household brings it back; saving ends the draft; Ctrl+D twice starts afresh."""
    from db.drafts import list_drafts

    with transaction(runtime.conn):
        runtime.conn.execute("DELETE FROM survey_responses")
        runtime.conn.execute("DELETE FROM drafts")
    with acting_as(runtime, SUPERVISOR), transaction(runtime.conn):
        import_survey(runtime.ctx, load_xlsform(FORM))
    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    monkeypatch.setattr(SurveyFillScreen, "autosave_delay", 0)
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.push_screen(SurveyFillScreen(hid, form="hh"))
        await settle(app, pilot)
        screen = app.screen
        field(screen, "/data/hh/head").value = "赵某"
        await pilot.press("pagedown")
        await settle(app, pilot)
        field(screen, "/data/members/age").value = "33"
        await pilot.press("ctrl+n")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert [d.kind for d in list_drafts(runtime.conn)] == ["survey"]

        await app.push_screen(SurveyFillScreen(hid, form="hh"))
        await settle(app, pilot)
        screen = app.screen
        assert field(screen, "/data/hh/head").value == "赵某"  # restored
        assert len(screen.session.draft()["members"]) == 2
        await pilot.press("ctrl+d", "ctrl+d")  # twice: afresh
        await settle(app, pilot)
        assert field(screen, "/data/hh/head").value == ""
        assert list_drafts(runtime.conn) == []
        field(screen, "/data/hh/head").value = "钱某"
        await settle(app, pilot)
        assert list_drafts(runtime.conn)  # typing makes the draft again
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: app.screen is not screen)
    assert list_drafts(runtime.conn) == []  # saved: the draft is gone with it
    (response,) = iter_responses(runtime.conn, "hh")
    assert response.answers["hh"]["head"] == "钱某"


async def test_the_collector_waits_until_the_first_page_has_painted(runtime):
    """Building a long form's first page sets off a full collection (up to 300 ms with a
    busy heap): the collector is held from the screen's mount until the page is painted, and
    runs again afterwards."""
    import gc

    from kiosk.core import collector

    with acting_as(runtime, SUPERVISOR), transaction(runtime.conn):
        import_survey(runtime.ctx, load_xlsform(FORM))
    collector.release_all()
    seen: list[bool] = []
    show_page = SurveyFillScreen.show_page

    def watching(screen, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return show_page(screen, *args, **kwargs)

    SurveyFillScreen.show_page = watching  # type: ignore[method-assign]
    app = signed_in_app(runtime)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await app.push_screen(SurveyFillScreen(None, form="household_members"))
            await until(pilot, lambda: bool(seen))
            await until(pilot, gc.isenabled)
            assert app.screen.shown  # the first page is on screen
    finally:
        SurveyFillScreen.show_page = show_page  # type: ignore[method-assign]
        collector.release_all()
    assert seen[0] is False

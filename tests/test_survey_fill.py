"""Filling a questionnaire at the door (Pilot): relevance, constraint messages, saving."""

from __future__ import annotations

from pathlib import Path

from db.connection import transaction
from db.surveys import iter_responses
from kiosk.domain.survey import import_survey, load_xlsform
from screens.households.household import HouseholdScreen
from screens.visits.survey_fill import SurveyFillScreen, widget_id
from tests.pilot_helpers import choose_survey, settle, signed_in_app


def q(name: str) -> str:
    """The selector of a top-level question's field."""
    return f"#{widget_id(f'/form/{name}')}"


EXAMPLE = Path(__file__).resolve().parent.parent / "kiosk" / "examples" / "satisfaction_survey.xlsx"


async def test_fill_for_a_household(runtime):
    with transaction(runtime.conn):
        runtime.conn.execute("DELETE FROM survey_responses")
        import_survey(runtime.ctx, load_xlsform(EXAMPLE))
    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        await pilot.press("w")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SurveyFillScreen)
        await choose_survey(app, pilot, "satisfaction_2026")
        assert not screen.query(q("why_not"))  # relevant only when dissatisfied
        screen.query_one(q("overall")).value = "dissatisfied"
        await settle(app, pilot)
        assert screen.query(q("why_not"))
        screen.query_one(q("household_size")).value = "25"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen
        # first broken rule in form order: why_not is required once relevant
        assert app.focused is screen.query_one(q("why_not"))
        screen.query_one(q("why_not")).value = "暖气不热"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "1 到 20" in str(screen.query_one("#survey-error").render())
        assert app.focused is screen.query_one(q("household_size"))
        screen.query_one(q("household_size")).value = "2"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, HouseholdScreen)
    responses = list(iter_responses(runtime.conn, "satisfaction_2026"))
    assert len(responses) == 1
    r = responses[0]
    assert r.household_id == hid and r.started_at
    assert {k: r.answers.get(k) for k in ("overall", "why_not", "household_size")} == {
        "overall": "dissatisfied",
        "why_not": "暖气不热",
        "household_size": 2,
    }
    assert r.answers["start"] and r.answers["end"]  # the form's own metadata


async def test_anonymous_without_any_questionnaire_says_how_to_import(runtime):
    with transaction(runtime.conn):
        runtime.conn.execute("DELETE FROM survey_responses")
        runtime.conn.execute("DELETE FROM surveys")
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+w")
        await settle(app, pilot)
        assert isinstance(app.screen, SurveyFillScreen)
        assert "kiosk survey import" in str(app.screen.query_one("#survey-error").render())
        await pilot.press("ctrl+s")  # nothing to save: no error, no write
        await settle(app, pilot)
    assert runtime.conn.execute("SELECT count(*) FROM survey_responses").fetchone()[0] == 0


async def test_a_rule_speaks_as_the_answer_breaks_it_and_goes_once_it_is_put_right(runtime):
    with transaction(runtime.conn):
        runtime.conn.execute("DELETE FROM survey_responses")
        import_survey(runtime.ctx, load_xlsform(EXAMPLE))
    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(SurveyFillScreen(hid))
        await settle(app, pilot)
        await choose_survey(app, pilot, "satisfaction_2026")
        screen = app.screen
        error = screen.query_one("#survey-error")
        concerns = screen.query_one(q("concerns"))
        answer = screen.query_one(q("overall"))
        assert answer.prompt == "请选择一项"  # an answer's placeholder, not 选择问卷
        names = [concerns.get_option_at_index(i).value for i in range(concerns.option_count)]
        assert len(names) > 3
        answer.focus()
        for name in names[:3]:
            concerns.select(name)
        await settle(app, pilot)
        assert str(error.render()) == ""
        concerns.select(names[3])  # the fourth tick breaks 最多选三项 at once, not at save
        await settle(app, pilot)
        assert "最多选三项" in str(error.render())
        assert concerns.has_class("-invalid")
        assert app.focused is answer  # the cursor stays where the worker is
        concerns.deselect(names[0])
        await settle(app, pilot)
        assert str(error.render()) == "" and not concerns.has_class("-invalid")
        # a refusal at save (a required answer missing) goes once it is answered
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "请选择满意程度" in str(error.render()) and (screen.error_field or "").endswith(
            "/overall[1]"
        )
        screen.query_one(q("household_size")).value = "2"  # another answer: the error stays
        await settle(app, pilot)
        assert "请选择满意程度" in str(error.render())
        # (the page was laid out again: 2 people make the question about the elderly relevant)
        screen.query_one(q("overall")).value = "satisfied"
        await settle(app, pilot)
        assert str(error.render()) == "" and screen.error_field is None

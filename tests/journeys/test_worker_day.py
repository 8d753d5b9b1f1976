"""A grid worker's day, as the worker lives it: sign in on the real sign-in screen, the walk
list, scan a household's label, a visit with a problem and a suggestion, a 未遇 visit,
community feedback, a questionnaire, the first door again (a household opened, then the
label scanned once more: the kept screen shows the morning's problem first), lock and
unlock, a label sheet and a case slip, sync. Then the day holds (tests/journeys/conftest.py):
the audit chain verifies, sign-in works, the hub holds everything the laptop wrote. The same
day at 100x30 in Chinese and at 80x24 in English, the footer whole on every screen of it."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

import pytest
from textual.widgets import Input, TextArea

from tests.conftest import DEMO_PINS, GRID_WORKER
from tests.journeys.conftest import kiosk_as, the_day_holds
from tests.pages import sign_in
from tests.pilot_helpers import choose_survey, settle, until
from tests.qr_helpers import wedge


def _q(path, sql, *args):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _footer_whole(app) -> None:
    """Every key the footer draws ends inside the terminal (on the screen in front)."""
    from screens.widgets.footer import KioskFooter

    for footer in app.screen.query(KioskFooter):
        width = footer.size.width
        assert all(end <= width for _, end, _ in footer._spans), type(app.screen).__name__


@pytest.mark.parametrize(
    ("size", "lang"), [((100, 30), "zh"), ((80, 24), "en")], ids=["100x30-zh", "80x24-en"]
)
async def test_a_grid_workers_day(hub, demo_db, tmp_path, monkeypatch, size, lang):
    from kiosk.cli.run import start_app
    from kiosk.qr.payload import make
    from kiosk.runtime import load, open_runtime
    from screens.cases.case_detail import CaseDetailScreen
    from screens.households.home import HomeScreen
    from screens.households.household import HouseholdScreen, open_household
    from screens.households.labels import LabelsScreen
    from screens.signin.lock import LockScreen
    from screens.visits.feedback_form import FeedbackFormScreen
    from screens.visits.survey_fill import SurveyFillScreen
    from screens.visits.visit_form import VisitFormScreen

    monkeypatch.setattr(VisitFormScreen, "autosave_delay", 0.0)
    docs = tmp_path / "docs"  # the worker's documents folder, where slips are written
    docs.mkdir()
    monkeypatch.setattr("kiosk.qr.actions.slip_folder", lambda: docs)
    laptop = demo_db
    hub.enrol(laptop, "演示网格员的笔记本", "--grid", "G001")
    first = json.loads(kiosk_as(laptop, None, "sync", "--json").stdout)
    assert first["held"] == [] and first["refused"] == 0  # the first sync after the seed goes

    # Yesterday's label sheet: the household on the way has a label on its door.
    households = [
        r[0]
        for r in _q(
            laptop,
            "SELECT h.id FROM households h JOIN grids g"
            " ON g.id = h.grid_id WHERE g.code = 'G001'"
            " ORDER BY h.rid LIMIT 3",
        )
    ]
    door, away = households[0], households[1]
    out = kiosk_as(
        laptop, GRID_WORKER, "labels", "--household", door, "--out", str(tmp_path / "yesterday.pdf")
    )
    assert out.returncode == 0, out.stderr
    code = _q(laptop, "SELECT code FROM labels WHERE household_id = ? AND kind = 'HH'", door)[0][0]
    before = {
        "visits": _q(laptop, "SELECT count(*) FROM visits")[0][0],
        "feedback": _q(laptop, "SELECT count(*) FROM feedback")[0][0],
        "responses": _q(laptop, "SELECT count(*) FROM survey_responses")[0][0],
        "cases": _q(laptop, "SELECT count(*) FROM cases")[0][0],
    }

    from kiosk.core.i18n import set_language

    runtime = open_runtime(load(db=str(laptop), lang=lang))
    app = start_app(runtime)
    try:
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            await sign_in(app, pilot, GRID_WORKER, DEMO_PINS[GRID_WORKER])
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await settle(app, pilot)
            assert app.screen.query_one("#home-table").row_count > 0  # the walk list
            _footer_whole(app)

            # At the door: the scanner reads the label (Caps Lock on: lower case).
            await wedge(app, pilot, make("HH", code).text.lower())
            await settle(app, pilot)
            assert isinstance(app.screen, HouseholdScreen) and app.screen.household_id == door
            _footer_whole(app)

            # A visit: the head of household met, one problem, one suggestion.
            await pilot.press("v")
            await settle(app, pilot)
            form = app.screen
            assert isinstance(form, VisitFormScreen)
            _footer_whole(app)
            await pilot.press("space", "f4")
            await settle(app, pilot)
            await pilot.press("enter", "down", "enter", "tab")
            await pilot.press(*"楼道灯坏了")
            await pilot.press("f5")
            await settle(app, pilot)
            suggestion = [
                w for w in form.query("#visit-suggestions Input, #visit-suggestions TextArea")
            ]
            assert suggestion, "the suggestion field"
            field = suggestion[-1]
            if isinstance(field, TextArea):
                field.text = "多装两盏路灯"
            else:
                field.value = "多装两盏路灯"
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert isinstance(app.screen, HouseholdScreen), app.screen

            # Next door nobody is home: 未遇, back in three days.
            app.pop_screen()
            await settle(app, pilot)
            await app.push_screen(HouseholdScreen(away))
            await settle(app, pilot)
            await pilot.press("v")
            await settle(app, pilot)
            form = app.screen
            assert isinstance(form, VisitFormScreen)
            form.query_one("#visit-nobody").value = True
            form.query_one("#visit-revisit", Input).value = (
                date.today() + timedelta(days=3)
            ).isoformat()
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert isinstance(app.screen, HouseholdScreen), app.screen

            # A questionnaire for the household on screen.
            await pilot.press("w")
            await settle(app, pilot)
            survey = app.screen
            assert isinstance(survey, SurveyFillScreen)
            await choose_survey(app, pilot, "satisfaction_2026")
            survey.query_one("#q-overall").value = "satisfied"
            survey.query_one("#q-household_size").value = "3"
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert isinstance(app.screen, HouseholdScreen), app.screen

            # On the street: community feedback (Ctrl+F from the walk list), anonymous.
            await pilot.press("escape")
            await settle(app, pilot)
            assert isinstance(app.screen, HomeScreen), app.screen
            await pilot.press("ctrl+f")
            await settle(app, pilot)
            feedback = app.screen
            assert isinstance(feedback, FeedbackFormScreen)
            await pilot.press("enter", "down", "enter")
            feedback.query_one("#feedback-text").text = "广场晚上太暗"
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert app.screen is not feedback

            # Past the first door again: the household opened from the walk list, then the
            # label scanned once more. The one kept household screen shows each anew (members
            # first from the list, cases first from a label) with the morning's problem.
            open_household(app, away)
            await settle(app, pilot)
            kept = app.screen
            assert isinstance(kept, HouseholdScreen) and kept.household_id == away
            await pilot.press("escape")
            await settle(app, pilot)
            await wedge(app, pilot, make("HH", code).text)
            await settle(app, pilot)
            assert app.screen is kept and kept.household_id == door
            order = [w.id for w in kept.query_one("#household-body").children]
            assert order.index("household-cases") < order.index("members-table")
            shown = kept.query_one("#household-cases")
            assert any(c.summary == "楼道灯坏了" for c in shown.cases)
            _footer_whole(app)
            await pilot.press("escape")
            await settle(app, pilot)

            # Lunch: the lock, then the PIN.
            await pilot.press("ctrl+l")
            await settle(app, pilot)
            assert isinstance(app.screen, LockScreen)
            await pilot.press(*DEMO_PINS[GRID_WORKER], "enter")
            await settle(app, pilot)
            await until(pilot, lambda: not isinstance(app.screen, LockScreen))

            # The afternoon's label sheet for a household (F8 on its screen)...
            await app.push_screen(HouseholdScreen(door))
            await settle(app, pilot)
            await pilot.press("f8")
            await settle(app, pilot)
            labels = app.screen
            assert isinstance(labels, LabelsScreen)
            sheet = tmp_path / "today.pdf"
            labels.query_one("#labels-out", Input).value = str(sheet)
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert sheet.is_file()
            await pilot.press("escape")
            await settle(app, pilot)

            # ... and the slip of the case the visit registered (F3, the case, F7).
            case_id = _q(
                laptop,
                "SELECT v.case_id FROM visit_items v JOIN visits x"
                " ON x.id = v.visit_id WHERE x.household_id = ?"
                " AND v.kind = 'problem'",
                door,
            )[0][0]
            await app.push_screen(CaseDetailScreen(case_id))
            await settle(app, pilot)
            await pilot.press("f7")
            await settle(app, pilot)
            await until(pilot, lambda: any(docs.glob("slip-*.pdf")))

            # Evening: sync from the sync screen (F4, s).
            await pilot.press("f4")
            await settle(app, pilot)
            _footer_whole(app)
            await pilot.press("s")
            await settle(app, pilot, rounds=6)
            assert _q(laptop, "SELECT count(*) FROM outbox")[0][0] == 0
            messages = [str(n.message) for n in app._notifications]
            assert not [m for m in messages if "意外" in m or "unexpected" in m], messages
    finally:
        runtime.close()
        set_language("zh")

    after = {
        "visits": _q(laptop, "SELECT count(*) FROM visits")[0][0],
        "feedback": _q(laptop, "SELECT count(*) FROM feedback")[0][0],
        "responses": _q(laptop, "SELECT count(*) FROM survey_responses")[0][0],
        "cases": _q(laptop, "SELECT count(*) FROM cases")[0][0],
    }
    assert after == {
        "visits": before["visits"] + 2,
        "feedback": before["feedback"] + 1,
        "responses": before["responses"] + 1,
        "cases": before["cases"] + 1,
    }
    items = _q(
        laptop,
        "SELECT i.kind, i.text FROM visit_items i JOIN visits v"
        " ON v.id = i.visit_id WHERE v.household_id = ? ORDER BY i.kind",
        door,
    )
    assert ("problem", "楼道灯坏了") in items and ("suggestion", "多装两盏路灯") in items
    the_day_holds(hub, laptop)

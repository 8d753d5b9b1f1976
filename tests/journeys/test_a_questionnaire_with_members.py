"""A questionnaire with groups, a repeat and a CSV choice list travels the whole day: the
supervisor imports the XLSForm on the office's laptop (`kiosk survey import`, the CSV shipped
beside it), both laptops sync, the grid worker signs in and fills it for a household on the
real screens (two members added with Ctrl+N, the form switched to English and back), saves,
reviews the response and changes a member's age (a new response replacing the first); after
the syncs the supervisor exports it with Chinese labels (`kiosk survey export --labels zh`):
one row for the household, one per member. The audit chains verify, sign-in still works and
every laptop's writes are on the hub."""

from __future__ import annotations

import shutil
import sqlite3

import openpyxl
import pytest

from tests.conftest import DEMO_PINS, GRID_WORKER, SUPERVISOR
from tests.journeys.conftest import kiosk_as, sync, the_day_holds
from tests.pages import sign_in
from tests.pilot_helpers import choose_survey, settle, until
from tests.test_survey_pages import FORM, field, page_line


async def _fill_for_a_household(laptop, household_id: str) -> None:
    from kiosk.cli.run import start_app
    from kiosk.runtime import load, open_runtime
    from screens.households.home import HomeScreen
    from screens.visits.survey_fill import SurveyFillScreen
    from screens.visits.survey_responses import SurveyResponsesScreen

    runtime = open_runtime(load(db=str(laptop)))
    app = start_app(runtime)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await sign_in(app, pilot, GRID_WORKER, DEMO_PINS[GRID_WORKER])
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await app.push_screen(SurveyFillScreen(household_id))
            await settle(app, pilot)
            await choose_survey(app, pilot, "hh")
            screen = app.screen
            field(screen, "/data/hh/head").focus()
            await pilot.press(*"李某")
            field(screen, "/data/hh/prov").value = "b"
            await settle(app, pilot)
            field(screen, "/data/hh/city").value = "y"
            await pilot.press("pagedown")
            await settle(app, pilot)
            field(screen, "/data/members/mname").value = "李大"
            field(screen, "/data/members/age").value = "70"
            await pilot.press("ctrl+n")
            await settle(app, pilot)
            assert "第 2/2 份" in page_line(screen)
            field(screen, "/data/members[2]/mname").value = "李小"
            field(screen, "/data/members[2]/age").value = "9"
            await pilot.press("ctrl+t")
            await settle(app, pilot)
            assert "English (en)" in page_line(screen)
            await pilot.press("ctrl+t", "pagedown")
            await settle(app, pilot)
            field(screen, "/data/place").value = "q2"
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await until(pilot, lambda: app.screen is not screen)

            # the age was wrong: reviewed and changed
            await app.push_screen(SurveyResponsesScreen(household_id))
            await settle(app, pilot)
            await pilot.press("enter")
            await settle(app, pilot)
            review = app.screen
            assert isinstance(review, SurveyFillScreen) and review.response is not None
            await pilot.press("pagedown", "pagedown")
            await settle(app, pilot)
            assert "第 2/2 份" in page_line(review)
            field(review, "/data/members[2]/age").value = "10"
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await until(pilot, lambda: app.screen is not review)
    finally:
        runtime.close()


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
async def test_a_questionnaire_with_members_from_workbook_to_export(hub, demo_db, tmp_path):
    field_laptop, office = demo_db, tmp_path / "office.db"
    conn = sqlite3.connect(field_laptop)
    community, household = conn.execute(
        "SELECT g.community, h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1"
    ).fetchone()
    conn.close()
    hub.enrol(field_laptop, "网格员的笔记本", "--grid", "G001")
    hub.enrol(office, "社区办公室", "--community", community)
    sync(office)

    # the office imports the form; the CSV it names travels inside the definition
    folder = tmp_path / "forms"
    folder.mkdir()
    for f in (FORM, FORM.with_name("places.csv")):
        shutil.copy(f, folder / f.name)
    out = kiosk_as(office, SUPERVISOR, "survey", "import", str(folder / FORM.name))
    assert out.returncode == 0, out.stderr
    sync(office)
    sync(field_laptop)

    await _fill_for_a_household(field_laptop, household)
    sync(field_laptop)
    sync(office)

    xlsx = tmp_path / "hh.xlsx"
    out = kiosk_as(
        office, SUPERVISOR, "survey", "export", "hh", "--out", str(xlsx), "--labels", "zh"
    )
    assert out.returncode == 0, out.stderr
    book = openpyxl.load_workbook(xlsx)
    main, members = (list(book[name].values) for name in book.sheetnames)
    header = list(main[0])
    assert len(main) == 2  # one response: the change replaced the first
    row = dict(zip(header, main[1], strict=True))
    assert row["户主"] == "李某" and row["省"] == "乙省" and row["市"] == "乙市"
    assert row["地点"] == "公园" and row["_household_id"] == household
    assert row["total"] == "80"  # 70 + 10, the changed age
    mh = list(members[0])
    ages = [dict(zip(mh, r, strict=True)) for r in members[1:]]
    assert [(m["姓名"], m["年龄"]) for m in ages] == [("李大", 70), ("李小", 10)]
    assert {m["_parent_index"] for m in ages} == {1}
    the_day_holds(hub, field_laptop, office)

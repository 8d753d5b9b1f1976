"""Responsible departments (责任单位) and deadlines: the community's supervisor keeps the list
(one by one, from a sheet, retired), a case is assigned by choosing from it, and never without
a deadline (the category's kind's when none is typed). Through the real command and the real
screens; the refusals say what is wrong."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from openpyxl import Workbook
from textual.widgets import Input, Static

from db.workers import worker_by_name
from kiosk.domain.categories import DEFAULT, parse_toml
from tests.conftest import GRID_WORKER, SUPERVISOR
from tests.pilot_helpers import settle, signed_in_app, until


def _q(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _community(db) -> str:
    return _q(db, "SELECT community FROM workers WHERE name = ?", SUPERVISOR)[0][0]


def _open_case(db, category: str | None = None) -> tuple[str, str]:
    """(id, number) of a registered, not yet assigned case of the supervisor's community."""
    sql = (
        "SELECT c.id, c.number FROM cases c JOIN case_state s ON s.case_id = c.id"
        " JOIN grids g ON g.id = c.grid_id WHERE s.status = 'registered' AND g.community = ?"
    )
    args = [_community(db)]
    if category:
        sql += " AND c.category = ?"
        args.append(category)
    return _q(db, sql + " ORDER BY c.rowid LIMIT 1", *args)[0]


def test_simple_and_ordinary_matters_have_their_own_deadlines(tmp_path):
    day = dt.date(2026, 12, 4)
    assert DEFAULT.default_due("street_lights", day) == "2026-12-07"  # 简单事项: 3 days
    assert DEFAULT.default_due("parking", day) == "2026-12-19"  # 一般事项: 15 days
    table = tmp_path / "categories.toml"
    table.write_text(
        "[deadlines]\nsimple = 1\nordinary = 10\n"
        '[[group]]\ncode = "urban"\nzh = "城建"\nkind = "simple"\n'
        '  [[group.sub]]\n  code = "lights"\n  zh = "路灯"\n'
        '  [[group.sub]]\n  code = "roads"\n  zh = "道路"\n  kind = "ordinary"\n',
        encoding="utf-8",
    )
    cats = parse_toml(table)
    assert cats.default_due("lights", day) == "2026-12-05"
    assert cats.default_due("roads", day) == "2026-12-14"
    table.write_text('[deadlines]\nsimple = "soon"\n[[group]]\ncode = "a"\nzh = "甲"\n')
    from db.errors import UserError

    with pytest.raises(UserError) as err:
        parse_toml(table)
    assert "[deadlines]" in err.value.message()


def test_the_supervisor_keeps_the_list_and_a_grid_worker_may_not(kiosk, demo_db):
    db = str(demo_db)
    community = _community(db)
    out = kiosk("departments", "add", "城管执法中队", "  物业 公司 ", "--json", "--db", db,
                as_worker=SUPERVISOR)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"] == ["城管执法中队", "物业 公司"]
    out = kiosk("departments", "add", "城管执法中队", "--db", db, as_worker=SUPERVISOR)
    assert out.returncode == 0 and "已在名单中" in out.stderr
    out = kiosk("departments", "list", "--json", "--db", db, as_worker=SUPERVISOR)
    assert [d["name"] for d in json.loads(out.stdout)["departments"]] == [
        "城管执法中队",
        "物业 公司",
    ]
    out = kiosk("departments", "retire", "物业 公司", "--db", db, as_worker=SUPERVISOR)
    assert out.returncode == 0, out.stderr
    listed = kiosk("departments", "list", "--retired", "--json", "--db", db, as_worker=SUPERVISOR)
    states = {d["name"]: d["retired_at"] is None for d in json.loads(listed.stdout)["departments"]}
    assert states == {"城管执法中队": True, "物业 公司": False}
    # hostile: a grid worker, another community, nobody
    before = _q(db, "SELECT count(*) FROM departments")
    out = kiosk("departments", "add", "假单位", "--db", db, as_worker=GRID_WORKER)
    assert out.returncode == 3, out.stderr
    out = kiosk("departments", "add", "假单位", "--community", "别的社区", "--db", db,
                as_worker=SUPERVISOR)  # fmt: skip
    assert out.returncode == 3 and "别的社区" in out.stderr, out.stderr
    out = kiosk("departments", "add", "假单位", "--db", db, "--as", SUPERVISOR)  # no PIN
    assert out.returncode != 0
    assert _q(db, "SELECT count(*) FROM departments") == before
    assert all(r[0] == community for r in _q(db, "SELECT community FROM departments"))


def test_a_sheet_of_departments_is_read_as_a_roster_is(kiosk, demo_db, tmp_path):
    db = str(demo_db)
    community = _community(db)
    book = Workbook()
    ws = book.active
    ws.append(["序号", "社区", "责任单位", "联系电话"])
    ws.append([1, community, "城管执法中队", "12345"])
    ws.append([2, community, "供水公司", ""])
    ws.append([3, "别的社区", "别人的单位", ""])
    ws.append([4, community, '=HYPERLINK("http://x","点我")', ""])
    ws.append([5, community, "供水公司", ""])
    ws.append([6, community, "很长" * 40, ""])
    path = tmp_path / "责任单位.xlsx"
    book.save(path)
    out = kiosk("departments", "import", str(path), "--json", "--db", db, as_worker=SUPERVISOR)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["added"] == ["城管执法中队", "供水公司"]
    assert [r["row"] for r in doc["rejected"]] == [5, 7]
    assert "公式" in doc["rejected"][0]["reason"]
    nothing = tmp_path / "空.csv"
    nothing.write_text("姓名,电话\n张三,1\n", encoding="utf-8")
    out = kiosk("departments", "import", str(nothing), "--db", db, as_worker=SUPERVISOR)
    assert out.returncode == 2 and "责任单位" in out.stderr and "Traceback" not in out.stderr


def test_a_case_is_assigned_from_the_list_and_never_without_a_deadline(kiosk, demo_db):
    db = str(demo_db)
    cid, number = _open_case(db)
    # a community with no list yet takes any name (the demo's cases were assigned so)
    kiosk("departments", "add", "城管执法中队", "供水公司", "--db", db, as_worker=SUPERVISOR)
    out = kiosk("cases", "act", number, "assign", "--department", "街道办", "--db", db,
                as_worker=SUPERVISOR)  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "城管执法中队" in out.stderr and "kiosk departments add" in out.stderr
    out = kiosk("cases", "act", number, "assign", "--department", "城管执法 中队", "--db", db,
                as_worker=SUPERVISOR)  # fmt: skip
    assert out.returncode == 0, out.stderr
    row = _q(db, "SELECT department, due FROM case_state WHERE case_id = ?", cid)[0]
    category = _q(db, "SELECT category FROM cases WHERE id = ?", cid)[0][0]
    assert row == ("城管执法中队", DEFAULT.default_due(category, dt.date.today()))


async def test_the_assign_form_offers_the_list_and_the_deadline(runtime):
    from db.connection import transaction
    from db.departments import add_department
    from screens.cases.case_action import CaseActionScreen
    from screens.cases.case_detail import CaseDetailScreen
    from tests.conftest import acting_as

    supervisor = worker_by_name(runtime.conn, SUPERVISOR)
    with acting_as(runtime, SUPERVISOR), transaction(runtime.conn):
        for name in ("城管执法中队", "供水公司"):
            add_department(runtime.ctx, supervisor.community, name)
    cid, _number = _open_case(runtime.settings.db)
    category = runtime.conn.execute("SELECT category FROM cases WHERE id = ?", (cid,)).fetchone()[0]
    app = signed_in_app(runtime, supervisor)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        app.screen.action_act("assign")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, CaseActionScreen)
        due = form.query_one("#f-due", Input)
        assert due.value == DEFAULT.default_due(category, dt.date.today())
        dept = form.query_one("#f-department", Input)
        assert dept.has_focus
        await pilot.press("城")
        await settle(app, pilot)
        assert dept._suggestion == "城管执法中队"
        await pilot.press("right")  # takes the offered name
        assert dept.value == "城管执法中队"
        dept.value = "街道办"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is form  # refused, the form stays
        assert "不在" in str(form.query_one("#action-error", Static).render())
        dept.value = "供水公司"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, CaseDetailScreen))
        await settle(app, pilot)
    state = runtime.conn.execute(
        "SELECT department, due FROM case_state WHERE case_id = ?", (cid,)
    ).fetchone()
    assert tuple(state) == ("供水公司", DEFAULT.default_due(category, dt.date.today()))


async def test_the_supervisor_adds_and_retires_on_the_departments_screen(runtime):
    from screens.cases.case_list import CasesScreen
    from screens.cases.departments import DepartmentsScreen
    from screens.widgets.result_list import ResultList

    supervisor = worker_by_name(runtime.conn, SUPERVISOR)
    app = signed_in_app(runtime, supervisor)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await app.switch_mode("cases")
        await settle(app, pilot)
        assert isinstance(app.screen, CasesScreen)
        await pilot.press("d")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DepartmentsScreen)
        assert screen.query_one("#dept-name", Input).has_focus
        for name in ("城管执法中队", "供水公司"):
            screen.query_one("#dept-name", Input).value = name
            await pilot.press("enter")
            await settle(app, pilot)
        table = screen.query_one("#dept-list", ResultList)
        await until(pilot, lambda: table.row_count == 2)
        table.focus()
        await pilot.press("delete")  # the first, by name: 供水公司
        await settle(app, pilot)
        await until(pilot, lambda: table.row_count == 1)
        assert table.get_row_at(0)[0].strip() == "城管执法中队"
    names = [
        (r[0], r[1] is None)
        for r in runtime.conn.execute("SELECT name, retired_at FROM departments ORDER BY name")
    ]
    assert sorted(names) == sorted([("城管执法中队", True), ("供水公司", False)])


async def test_a_grid_worker_is_not_offered_the_list(runtime):
    from screens.cases.case_list import CasesScreen

    app = signed_in_app(runtime, worker_by_name(runtime.conn, GRID_WORKER))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await app.switch_mode("cases")
        await settle(app, pilot)
        assert isinstance(app.screen, CasesScreen)
        assert app.screen.check_action("departments", ()) is False
        await pilot.press("d")
        await settle(app, pilot)
        assert isinstance(app.screen, CasesScreen)

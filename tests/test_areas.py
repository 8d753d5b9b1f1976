"""A real community's grids and compounds: imported from its own sheet into a fresh database
(codes made up and stable, a known code renamed, bad rows said), listed, and kept on the
areas screen (F6): added, renamed, retired only once nobody lives there."""

from __future__ import annotations

import json
import sqlite3

from textual.widgets import Input, Static

from db.workers import worker_by_name
from tests.conftest import ADMINISTRATOR, GRID_WORKER, SUPERVISOR
from tests.pilot_helpers import settle, signed_in_app, until

SHEET = (
    "区,街道,社区,网格,网格编号,网格员,网格员电话\n"
    "滨江区,新伟街道,新伟社区,第一网格,XW01,王芳,13800000001\n"
    "滨江区,新伟街道,新伟社区,第二网格,,李明,\n"
    "滨江区,新伟街道,新伟社区,=1+1,,,\n"
    "滨江区,新伟街道,春华社区,第一网格,,,\n"
)


def _grids(db) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT code, name, community, street, district FROM grids").fetchall()
    finally:
        conn.close()


def test_a_fresh_office_imports_its_grids_once_and_again_changes_nothing(kiosk, tmp_path):
    db, sheet = str(tmp_path / "office.db"), tmp_path / "网格.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    out = kiosk("areas", "import", str(sheet), "--json", "--db", db)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert len(doc["created"]) == 3 and doc["created"][0] == "XW01"
    assert [r["row"] for r in doc["rejected"]] == [4]
    assert {w["worker"] for w in doc["no_worker"]} == {"王芳", "李明"}
    first = sorted(_grids(db))
    assert ("XW01", "新伟社区第一网格", "新伟社区", "新伟街道", "滨江区") in first
    # the same two 第一网格 of two communities stay apart, with codes made from the names
    made = {code for code, *_ in first} - {"XW01"}
    assert len(made) == 2 and all(c.startswith("W") for c in made)
    again = json.loads(kiosk("areas", "import", str(sheet), "--json", "--db", db).stdout)
    assert again["created"] == [] and len(again["known"]) == 3
    assert sorted(_grids(db)) == first
    # the street office renames a grid: the same code takes the file's name
    sheet.write_text(SHEET.replace("第一网格,XW01", "滨江一网格,XW01"), encoding="utf-8")
    renamed = json.loads(kiosk("areas", "import", str(sheet), "--json", "--db", db).stdout)
    assert renamed["renamed"] == ["XW01"]
    listed = json.loads(kiosk("areas", "list", "--json", "--db", db).stdout)["grids"]
    assert {g["code"]: g["name"] for g in listed}["XW01"] == "新伟社区滨江一网格"


def test_a_file_that_is_not_a_list_of_grids_says_so(kiosk, tmp_path):
    db = str(tmp_path / "office.db")
    roster = tmp_path / "花名册.csv"
    roster.write_text("姓名,电话\n张三,13800000000\n", encoding="utf-8")
    out = kiosk("areas", "import", str(roster), "--db", db)
    assert out.returncode == 2 and "街道" in out.stderr and "Traceback" not in out.stderr
    out = kiosk("areas", "import", str(tmp_path / "nowhere.xlsx"), "--db", db)
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_once_an_administrator_exists_only_they_import_grids(kiosk, demo_db, tmp_path):
    db, sheet = str(demo_db), tmp_path / "网格.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    before = _grids(db)
    for who in (GRID_WORKER, SUPERVISOR):
        out = kiosk("areas", "import", str(sheet), "--db", db, as_worker=who)
        assert out.returncode == 3, (who, out.stderr)
    out = kiosk("areas", "import", str(sheet), "--db", db, "--as", ADMINISTRATOR)  # no PIN
    assert out.returncode != 0
    assert _grids(db) == before
    out = kiosk("areas", "import", str(sheet), "--json", "--db", db, as_worker=ADMINISTRATOR)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["created"]) == 3


async def test_the_administrator_adds_renames_and_retires_on_the_areas_screen(runtime):
    from screens.office.areas import AreasScreen, CompoundsScreen, NamesForm
    from screens.widgets.result_list import ResultList

    admin = worker_by_name(runtime.conn, ADMINISTRATOR)
    app = signed_in_app(runtime, admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, AreasScreen)
        grids = screen.query_one("#areas-list", ResultList)
        await until(pilot, lambda: grids.row_count > 0)
        n = grids.row_count
        await pilot.press("a")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, NamesForm)
        form.query_one("#names-name", Input).value = "第九网格"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: grids.row_count == n + 1)
        names = [grids.get_row_at(i)[1].strip() for i in range(grids.row_count)]
        assert any(name.endswith("第九网格") for name in names)
        # the first grid's compounds: one with households cannot be retired
        grids.cursor_row = 0
        await pilot.press("enter")
        await settle(app, pilot)
        compounds = app.screen
        assert isinstance(compounds, CompoundsScreen)
        table = compounds.query_one("#areas-list", ResultList)
        await until(pilot, lambda: table.row_count > 0)
        await pilot.press("delete")
        await settle(app, pilot)
        assert "不能撤销" in str(compounds.query_one("#areas-error", Static).render())
        # a new compound, renamed, then retired (nobody lives there)
        await pilot.press("a")
        await settle(app, pilot)
        app.screen.query_one("#names-name", Input).value = "春华新苑"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: any("春华新苑" in table.get_row_at(i)[0]
                                       for i in range(table.row_count)))  # fmt: skip
        row = next(i for i in range(table.row_count) if "春华新苑" in table.get_row_at(i)[0])
        table.cursor_row = row
        await pilot.press("r")
        await settle(app, pilot)
        field = app.screen.query_one("#names-name", Input)
        assert field.value == "春华新苑"
        field.value = "春华新苑二期"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await until(pilot, lambda: "春华新苑二期" in table.get_row_at(row)[0])
        await pilot.press("delete")
        await settle(app, pilot)
        await until(pilot, lambda: "已撤销" in table.get_row_at(row)[-1])
    conn = runtime.conn
    assert tuple(
        conn.execute(
            "SELECT retired_at IS NOT NULL FROM compounds WHERE name = '春华新苑二期'"
        ).fetchone()
    ) == (1,)
    ops = [r[0] for r in conn.execute("SELECT entity FROM outbox ORDER BY seq")]
    assert ops.count("grid") == 1 and ops.count("compound") == 3  # added, renamed, retired


async def test_a_supervisor_keeps_compounds_but_not_grids_and_a_worker_neither(runtime):
    from screens.office.areas import AreasScreen
    from screens.widgets.result_list import ResultList

    supervisor = worker_by_name(runtime.conn, SUPERVISOR)
    app = signed_in_app(runtime, supervisor)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, AreasScreen)
        grids = screen.query_one("#areas-list", ResultList)
        await until(pilot, lambda: grids.row_count > 0)
        communities = {grids.get_row_at(i)[2].strip() for i in range(grids.row_count)}
        assert communities == {supervisor.community}
        for action in ("add", "rename", "retire"):
            assert screen.check_action(action, ()) is False
    worker = worker_by_name(runtime.conn, GRID_WORKER)
    app = signed_in_app(runtime, worker)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.check_action("areas", ()) is False
        await pilot.press("f6")
        await settle(app, pilot)
        assert not isinstance(app.screen, AreasScreen)


def test_a_sheet_with_a_line_of_megabytes_is_refused_saying_so(kiosk, tmp_path, demo_db):
    """Hostile files: a list of grids, and of departments, each with one cell of megabytes,
    are refused with the reader's words (not an unexpected error), and nothing is written."""
    grids = tmp_path / "网格.csv"
    grids.write_text("区,街道,社区,网格\n滨江区,新伟街道,新伟社区," + "X" * 2_000_000 + "\n")
    out = kiosk("areas", "import", str(grids), "--db", str(tmp_path / "office.db"))
    assert out.returncode == 2 and "1048576" in out.stderr, out.stderr
    departments = tmp_path / "责任单位.csv"
    departments.write_text("责任单位\n" + "城" * 1_100_000 + "\n", encoding="utf-8")
    before = _grids(str(demo_db))
    out = kiosk("departments", "import", str(departments), "--db", str(demo_db),
                as_worker=SUPERVISOR)  # fmt: skip
    assert out.returncode == 2 and "1048576" in out.stderr, out.stderr
    assert _grids(str(demo_db)) == before

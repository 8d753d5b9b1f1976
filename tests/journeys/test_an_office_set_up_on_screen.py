"""The first run, on the screens only. A new office PC opens on the set-up screen (not a
sign-in nobody can pass): the office's name and its administrator; then, on the office
set-up screen, its grids, its roster (a number to verify among them), a grid worker with
their PIN, and the hub with the laptops' codes. The hub is served on 127.0.0.1; a new laptop
opens on the same set-up screen, takes the hub's address and the code the office showed
(typed as a scanner types a QR code: no hyphens, any case), enrols, syncs, and its worker
signs in with the PIN set at the office and finds their grid."""

from __future__ import annotations

import os
import subprocess
import sys

from textual.widgets import Input, Static

from tests.conftest import ROOT
from tests.pages import sign_in
from tests.pg import free_port, wait_listening
from tests.pilot_helpers import settle, until

AREAS = "区,街道,社区,网格,网格编号,网格员\n滨江区,新伟街道,新伟社区,第一网格,XW01,王芳\n"
ROSTER = (
    "社区,网格,小区,楼栋,单元,房号,户主姓名,户主电话\n"
    "新伟社区,第一网格,春华新苑,1,1,101,孙秀兰,13812345678\n"
    "新伟社区,第一网格,春华新苑,1,1,102,周平,1381234\n"
)


async def _type(pilot, text: str) -> None:
    for ch in text:
        await pilot.press(ch)


def _text(screen, wid: str) -> str:
    return str(screen.query_one(wid, Static).render())


async def test_an_office_and_a_laptop_set_up_on_the_screens(tmp_path):
    from kiosk.cli.run import start_app
    from kiosk.runtime import load, open_runtime
    from screens.households.home import HomeScreen
    from screens.office.setup import OfficeSetupScreen
    from screens.signin.setup import SetupScreen
    from screens.signin.signin import SignInScreen

    (tmp_path / "网格.csv").write_text(AREAS, encoding="utf-8")
    (tmp_path / "花名册.csv").write_text(ROSTER, encoding="utf-8")
    office, laptop, store = tmp_path / "office.db", tmp_path / "laptop.db", tmp_path / "hub.db"

    runtime = open_runtime(load(db=str(office)))
    app = start_app(runtime)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            await until(pilot, lambda: isinstance(app.screen, SetupScreen))
            setup = app.screen
            await _type(pilot, "新伟社区居委会")
            setup.query_one("#setup-admin", Input).focus()
            await _type(pilot, "张建国")
            setup.query_one("#gate-pin", Input).focus()
            await _type(pilot, "802461")
            setup.query_one("#setup-pin2", Input).focus()
            await _type(pilot, "802462")
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert "不一致" in _text(setup, "#gate-status")  # nothing created
            await _type(pilot, "802461")
            await pilot.press("enter")
            await settle(app, pilot)
            await until(pilot, lambda: isinstance(app.screen, OfficeSetupScreen))
            screen = app.screen
            assert app.worker is not None and app.worker.name == "张建国"

            screen.query_one("#setup-areas", Input).value = str(tmp_path / "网格.csv")
            screen.query_one("#setup-areas", Input).focus()
            await pilot.press("enter")
            await settle(app, pilot)
            await until(pilot, lambda: "XW01" in _text(screen, "#report-areas"))
            assert "王芳 还不是工作人员" in _text(screen, "#report-areas")

            screen.query_one("#setup-roster", Input).value = str(tmp_path / "花名册.csv")
            screen.query_one("#setup-roster", Input).focus()
            await pilot.press("enter")
            await settle(app, pilot)
            await until(pilot, lambda: "新增 2 户" in _text(screen, "#report-roster"))
            assert "1 个号码待核实" in _text(screen, "#report-roster")

            screen.query_one("#w-name", Input).focus()
            await _type(pilot, "王芳")
            screen.query_one("#w-grids", Input).focus()
            await _type(pilot, "xw01")
            screen.query_one("#w-pin", Input).focus()
            await _type(pilot, "613579")
            screen.query_one("#w-pin2", Input).focus()
            await _type(pilot, "613579")
            await pilot.press("enter")
            await settle(app, pilot)
            await until(pilot, lambda: "王芳" in _text(screen, "#report-workers"))

            screen.query_one("#setup-hub", Input).value = str(store)
            screen.query_one("#setup-hub", Input).focus()
            await pilot.press("enter")
            await settle(app, pilot)
            await until(pilot, lambda: "王芳的笔记本" in _text(screen, "#setup-codes"))
            codes = _text(screen, "#setup-codes")
    finally:
        runtime.close()
    code = codes.split("王芳的笔记本：登记码 ")[1].split("（")[0]

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "hub", "serve", "--db", str(store),
         "--port", str(port)],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_listening(proc)
        runtime = open_runtime(load(db=str(laptop)))
        app = start_app(runtime)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(app, pilot)
                await until(pilot, lambda: isinstance(app.screen, SetupScreen))
                setup = app.screen
                setup.query_one("#setup-hub", Input).focus()
                await _type(pilot, f"http://127.0.0.1:{port}")
                setup.query_one("#setup-code", Input).focus()
                await _type(pilot, code.replace("-", "").lower())
                await pilot.press("enter")
                await settle(app, pilot)
                await until(pilot, lambda: isinstance(app.screen, SignInScreen), rounds=500)
                assert "王芳的笔记本" in _text(app.screen, "#gate-status")
                await sign_in(app, pilot, "王芳", "613579")
                await until(pilot, lambda: isinstance(app.screen, HomeScreen))
                await settle(app, pilot)
                head = _text(app.screen, "#home-head")
                assert "新伟社区第一网格" in head and "2 户" in head and "待核实 1 户" in head
        finally:
            runtime.close()
    finally:
        proc.terminate()
        proc.wait(10)
        said = proc.stderr.read().decode() if proc.stderr else ""
        assert "Traceback" not in said, said


def test_the_first_administrator_is_made_once(empty_runtime):
    """Hostile: with an administrator on the computer, the set-up cannot make another."""
    from db.connection import transaction
    from db.errors import UserError
    from kiosk.households.setup import first_administrator

    with transaction(empty_runtime.conn):
        first_administrator(empty_runtime.ctx, "新伟社区居委会", "张建国", "802461")
    try:
        with transaction(empty_runtime.conn):
            first_administrator(empty_runtime.ctx, "别的办公室", "李四", "802461")
    except UserError as exc:
        assert exc.key == "setup.error.already"
    else:
        raise AssertionError("a second administrator was made by the set-up")
    names = [r[0] for r in empty_runtime.conn.execute("SELECT name FROM workers")]
    assert names == ["张建国"]

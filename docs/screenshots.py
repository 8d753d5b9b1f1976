"""Regenerate the screenshots of docs/user-guide.md from real screens on a demo database.

    .venv/bin/python docs/screenshots.py              # all of them
    .venv/bin/python docs/screenshots.py signin lock  # only these

Each shot drives the app with Pilot like a user and saves an SVG under docs/img/.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "img"


async def shoot(db: Path, only: set[str]) -> None:
    from kiosk.app.shell import KioskApp
    from kiosk.runtime import load, open_runtime

    async def session(size=(80, 24)):
        runtime = open_runtime(load(db=str(db)))
        return runtime, KioskApp(runtime, signed_in=runtime.worker)

    if not only or only & {"home", "search", "household"}:
        runtime, app = await session()
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            app.save_screenshot(str(OUT / "home.svg"))
            await pilot.press("f2")
            await pilot.press(*"zhl")
            await app.workers.wait_for_complete()
            await pilot.pause()
            app.save_screenshot(str(OUT / "search.svg"))
            await pilot.press("down", "enter")
            await _settle(app, pilot)
            app.save_screenshot(str(OUT / "household.svg"))
        runtime.close()
    for gate in GATE_SHOTS:
        if not only or gate.__name__ in only:
            runtime = open_runtime(load(db=str(db)))
            await gate(runtime, OUT)
            runtime.close()
    for extra in EXTRA_SHOTS:
        if only and extra.__name__ not in only:
            continue
        runtime, app = await session()
        async with app.run_test(size=(80, 24)) as pilot:
            await _settle(app, pilot)
            await extra(app, pilot, OUT)
        runtime.close()


async def _settle(app, pilot) -> None:
    from textual.worker import WorkerCancelled

    for _ in range(3):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            continue
        await pilot.pause()


async def _mode(app, pilot, key: str, name: str) -> None:
    await pilot.press(key)
    await _settle(app, pilot)
    app.save_screenshot(str(OUT / f"{name}.svg"))


async def visit(app, pilot, out):
    await pilot.press("enter")  # the first household of the walk list
    await _settle(app, pilot)
    await pilot.press("v")
    await _settle(app, pilot)
    app.save_screenshot(str(out / "visit-form.svg"))


async def member_form(app, pilot, out):
    await pilot.press("enter")  # the first household of the walk list
    await _settle(app, pilot)
    await pilot.press("m")  # its first member
    await _settle(app, pilot)
    app.save_screenshot(str(out / "member-form.svg"))


async def cases(app, pilot, out):
    await _mode(app, pilot, "f3", "cases")
    await pilot.press("enter")
    await _settle(app, pilot)
    app.save_screenshot(str(out / "case-detail.svg"))


async def figures(app, pilot, out):
    await _mode(app, pilot, "f5", "figures")


async def sync(app, pilot, out):
    await _mode(app, pilot, "f4", "sync")


async def labels(app, pilot, out):
    await _mode(app, pilot, "f8", "labels")


async def questionnaire(app, pilot, out):
    """The household questionnaire for the first household: its members' page, two members."""
    from screens.visits.survey_fill import SurveyFillScreen

    hid = app.runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    await app.push_screen(SurveyFillScreen(hid, form="household_2026"))
    await _settle(app, pilot)
    screen = app.screen
    screen.query_one("#q-dwelling-tenure").value = "own"
    await pilot.press("pagedown")
    await _settle(app, pilot)
    screen.query_one("#q-members-member_name").value = "王秀英"
    screen.query_one("#q-members-birth").value = "1948-03-02"
    await pilot.press("ctrl+n")
    await _settle(app, pilot)
    app.save_screenshot(str(out / "questionnaire.svg"))


EXTRA_SHOTS = [visit, member_form, cases, figures, sync, labels, questionnaire]


async def signin(runtime, out):
    """The sign-in screen as ``kiosk`` opens it, a name being typed in pinyin."""
    from kiosk.cli.run import start_app

    app = start_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        for _ in range(100):  # the names load just after the screen is up
            if app.screen._names is not None:
                break
            await pilot.pause(0.05)
        await pilot.press(*"yanshi")
        await pilot.pause()
        app.save_screenshot(str(out / "signin.svg"))


async def lock(runtime, out):
    """A household open, then Ctrl+L: the lock screen over it."""
    from db.workers import worker_by_name
    from kiosk.app.shell import KioskApp
    from kiosk.demo.district import DEMO_ACCOUNTS

    worker = worker_by_name(runtime.conn, DEMO_ACCOUNTS["worker"][0])
    app = KioskApp(runtime, signed_in=worker, lock_seconds=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        await pilot.press("enter")  # the first household of the walk list
        await _settle(app, pilot)
        await pilot.press("ctrl+l")
        await _settle(app, pilot)
        app.save_screenshot(str(out / "lock.svg"))


async def first_run(runtime, out):
    """A new office PC's first run (an empty database): the set-up screen, then the office
    set-up after the administrator is made, with its grids and roster imported."""
    import tempfile

    from kiosk.cli.run import start_app
    from kiosk.runtime import load, open_runtime
    from screens.office.setup import OfficeSetupScreen
    from textual.widgets import Input

    folder = Path(tempfile.mkdtemp())
    (folder / "网格.csv").write_text(
        "区,街道,社区,网格,网格编号,网格员\n滨江区,新伟街道,新伟社区,第一网格,XW01,王芳\n",
        encoding="utf-8",
    )
    (folder / "花名册.csv").write_text(
        "社区,网格,小区,楼栋,单元,房号,户主姓名,户主电话\n"
        "新伟社区,第一网格,春华新苑,1,1,101,孙秀兰,13812345678\n"
        "新伟社区,第一网格,春华新苑,1,1,102,周平,1381234\n",
        encoding="utf-8",
    )
    fresh = open_runtime(load(db=str(folder / "office.db")))
    app = start_app(fresh)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        await pilot.press(*"新伟社区居委会")
        app.screen.query_one("#setup-admin", Input).value = "张建国"
        app.screen.query_one("#gate-pin", Input).value = "802461"
        app.screen.query_one("#setup-pin2", Input).value = "802461"
        app.save_screenshot(str(out / "setup.svg"))
        await pilot.press("ctrl+s")
        for _ in range(100):
            await _settle(app, pilot)
            if isinstance(app.screen, OfficeSetupScreen):
                break
        screen = app.screen
        for wid, name in (("#setup-areas", "网格.csv"), ("#setup-roster", "花名册.csv")):
            screen.query_one(wid, Input).value = str(folder / name)
            screen.query_one(wid, Input).focus()
            await pilot.press("enter")
            for _ in range(5):
                await _settle(app, pilot)
        screen.query_one("#setup-areas", Input).value = "网格.csv"
        screen.query_one("#setup-roster", Input).value = "花名册.csv"
        screen.query_one("#w-name", Input).focus()
        await _settle(app, pilot)
        app.save_screenshot(str(out / "office-setup.svg"))
    fresh.close()


def _house_photo(roof: tuple[int, int, int], patched: bool = False) -> bytes:
    """A drawn photo of a house (sky, lawn, a roof; the patch of a repair)."""
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1600, 1200), (135, 190, 235))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 800, 1600, 1200], fill=(90, 160, 70))
    d.rectangle([400, 500, 1200, 1000], fill=(200, 170, 120))
    d.polygon([(350, 500), (800, 200), (1250, 500)], fill=roof)
    d.rectangle([720, 750, 880, 1000], fill=(90, 60, 30))
    d.ellipse([1300, 80, 1500, 280], fill=(250, 220, 60))
    if patched:
        d.rectangle([560, 330, 760, 430], fill=(60, 60, 60))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


async def photos(runtime, out):
    """A case with before and after photos: its timeline with thumbnails, then one full size."""
    from db.cases import append_event, register_case
    from db.connection import transaction
    from db.photos import register_event
    from kiosk.app.shell import KioskApp
    from kiosk.photos.attach import attach_prepared
    from kiosk.photos.prepare import prepare_bytes
    from screens.cases.case_detail import CaseDetailScreen
    from textual.widgets import DataTable

    conn = runtime.conn
    # the demo's grid worker records it, as after their PIN
    runtime.ctx.worker_id, runtime.ctx.verified = runtime.worker.id, True
    hh = conn.execute(
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1"
    ).fetchone()[0]
    before = [
        prepare_bytes(_house_photo((170, 50, 40))),
        prepare_bytes(_house_photo((150, 40, 40))),
    ]
    after = [prepare_bytes(_house_photo((170, 50, 40), patched=True))]
    with transaction(conn):
        cid = register_case(
            runtime.ctx, household_ids=[hh], category="roof_leak", summary="顶楼漏雨，客厅墙面发霉"
        )
        attach_prepared(runtime.ctx, cid, register_event(conn, cid), before)
        append_event(runtime.ctx, cid, "resolve_on_spot", {"note": "已补漏"}, photos=after)
    app = KioskApp(runtime, signed_in=runtime.worker)
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(app, pilot)
        await app.push_screen(CaseDetailScreen(cid))
        await _settle(app, pilot)
        app.screen.query_one(DataTable).focus()
        await _settle(app, pilot)
        await pilot.pause(0.3)
        app.save_screenshot(str(out / "case-photos.svg"))
        await pilot.press("enter")
        await _settle(app, pilot)
        await pilot.pause(0.3)
        app.save_screenshot(str(out / "photo-viewer.svg"))


GATE_SHOTS = [signin, lock, first_run, photos]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["KIOSK_DATA_DIR"] = tmp
        db = Path(tmp) / "demo.db"
        from kiosk.cli.demo import build_demo
        from kiosk.runtime import load, open_runtime

        runtime = open_runtime(load(db=str(db)))
        build_demo(runtime, 3000, 1)
        runtime.close()
        asyncio.run(shoot(db, set(sys.argv[1:])))
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()

"""Photos on a case, from the door to the office: the grid worker registers a leak with a
photo from their phone (GPS, serial and owner in its metadata), the supervisor assigns it at
the office, the worker resolves it with an after-photo; both photo records travel through a
real hub to the office laptop with their pictures, the phone's metadata never reaches any file
of either laptop or the hub, and the day holds."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import GRID_WORKER, SUPERVISOR
from tests.journeys.conftest import kiosk_as, sync, the_day_holds
from tests.photo_helpers import SECRETS, write_phone_jpeg

#: The SQLite hub only: the PostgreSQL store's side of what this journey crosses is held by
#: its own tests (test_hub_store, tests/adversarial/, the journeys kept on both hubs), and
#: each journey run twice kept `make test` from its 15 minutes (docs/development.md).
ONE_HUB = pytest.mark.parametrize("hub", ["sqlite"], indirect=True)


def _q(path, sql, *args):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _show(laptop, case_id) -> dict:
    out = kiosk_as(laptop, SUPERVISOR, "cases", "show", case_id, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _no_secret_in(*files: Path) -> None:
    for base in files:
        found = base.parent.glob(base.name + "*")  # the database, its log, the hub's pictures
        for path in (f for p in found for f in ([p] if p.is_file() else p.rglob("*"))):
            if not path.is_file():
                continue
            raw = path.read_bytes()
            for secret in (*SECRETS, b"121.4737", b"31.2304"):
                assert secret not in raw, (path.name, secret)


async def _supervisor_looks_at_the_photos(office: Path, hid: str, number: str) -> None:
    """On the office laptop's real screens: the supervisor signs in, opens the household: its
    case's photos as thumbnails (the pictures came with the sync); `i` shows them full size,
    the before first, → the after."""
    from kiosk.cli.run import start_app
    from kiosk.runtime import load, open_runtime
    from screens.households.home import HomeScreen
    from screens.households.household import HouseholdScreen, open_household
    from screens.photos.viewer import PhotoViewerScreen
    from tests.conftest import DEMO_PINS
    from tests.pages import sign_in
    from tests.pilot_helpers import settle, until

    runtime = open_runtime(load(db=str(office)))
    app = start_app(runtime)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await sign_in(app, pilot, SUPERVISOR, DEMO_PINS[SUPERVISOR])
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await settle(app, pilot)
            open_household(app, hid)
            await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
            await until(pilot, lambda: len(app.screen.query(".thumb-caption")) == 2)
            thumbs = [str(c.render()) for c in app.screen.query(".thumb-caption")]
            assert all(c.startswith(number) for c in thumbs), thumbs
            assert not app.screen.query(".thumb-missing")  # both pictures are here
            await pilot.press("i")
            await until(pilot, lambda: isinstance(app.screen, PhotoViewerScreen))
            await until(pilot, lambda: app.screen.query(".photo-picture"))
            caption = str(app.screen.query_one("#photo-caption").render())
            assert caption.startswith("1/2") and "整改前" in caption and "1200×1600" in caption
            await pilot.press("right")
            await until(
                pilot, lambda: "整改后" in str(app.screen.query_one("#photo-caption").render())
            )
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
    finally:
        runtime.close()


@ONE_HUB
async def test_photos_travel_with_the_case(hub, demo_db, tmp_path):
    field, office = demo_db, tmp_path / "office.db"
    hub.enrol(field, "演示网格员的笔记本", "--grid", "G001")
    community = _q(field, "SELECT community FROM grids WHERE code = 'G001'")[0][0]
    hub.enrol(office, "社区办公室", "--community", community)
    sync(field)
    sync(office)

    phone = tmp_path / "DCIM"
    phone.mkdir()
    leak = write_phone_jpeg(phone / "IMG_2001.JPG", width=2400, height=1800, orientation=6)
    fixed = write_phone_jpeg(phone / "IMG_2002.JPG", width=2400, height=1800)
    hid = _q(
        field,
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1",
    )[0][0]
    out = kiosk_as(
        field,
        GRID_WORKER,
        "cases",
        "add",
        "--household",
        hid,
        "--category",
        "roof_leak",
        "--summary",
        "顶楼漏雨",
        "--photo",
        str(leak),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    cid = json.loads(out.stdout)["id"]
    out = kiosk_as(field, None, "sync")  # as the worker reads it
    assert out.returncode == 0 and "照片：发送 1 张，接收 0 张" in out.stderr + out.stdout, (
        out.stderr
    )

    sync(office)
    doc = _show(office, cid)
    assert [(p["event_type"], p["width"], p["height"]) for p in doc["photos"]] == [
        ("register", 1200, 1600)
    ]
    assert doc["photos"][0]["on_this_laptop"] is True  # the record came, then the picture
    out = kiosk_as(office, SUPERVISOR, "cases", "show", cid)
    assert out.returncode == 0 and "1200×1600" in out.stdout
    due = (date.today() + timedelta(days=5)).isoformat()
    out = kiosk_as(
        office, SUPERVISOR, "cases", "act", cid, "assign", "--department", "物业公司", "--due", due
    )
    assert out.returncode == 0, out.stderr
    sync(office)

    sync(field)
    out = kiosk_as(
        field,
        GRID_WORKER,
        "cases",
        "act",
        cid,
        "resolve",
        "--note",
        "已补漏",
        "--photo",
        str(fixed),
    )
    assert out.returncode == 0, out.stderr
    sync(field)
    sync(office)
    on_field, on_office = _show(field, cid), _show(office, cid)
    assert on_field["status"] == on_office["status"] == "resolved"
    assert [p["sha256"] for p in on_field["photos"]] == [p["sha256"] for p in on_office["photos"]]
    assert [p["event_type"] for p in on_office["photos"]] == ["register", "resolve"]
    assert all(p["on_this_laptop"] for p in on_field["photos"] + on_office["photos"])
    # the same bytes on both laptops, and the hub took each picture once
    pictures = {
        laptop: _q(laptop, "SELECT sha256, data FROM photo_blobs ORDER BY sha256")
        for laptop in (field, office)
    }
    assert pictures[field] == pictures[office] and len(pictures[field]) == 2
    assert ("photo", on_field["photos"][1]["id"]) in hub.records()
    await _supervisor_looks_at_the_photos(office, hid, on_office["number"])

    # the resolution ledger counts them: two on the case, one of them the after-photo
    ledger = tmp_path / "resolution.csv"
    out = kiosk_as(office, SUPERVISOR, "ledger", "resolution", "--out", str(ledger))
    assert out.returncode == 0, out.stderr
    with ledger.open(encoding="utf-8-sig") as fh:
        row = next(r for r in csv.DictReader(fh) if r["事项ID"] == cid)
    assert (row["照片数"], row["整改后照片数"]) == ("2", "1")

    hub_files = [Path(hub.db)] if not hub.db.startswith("postgresql") else []
    _no_secret_in(field, office, *hub_files)
    the_day_holds(hub, field, office)

    # The resident asks to be forgotten: the pictures go from the office, the hub and the
    # worker's laptop; the case keeps its photo records, without pictures or names.
    out = kiosk_as(office, SUPERVISOR, "households", "forget", hid, "--yes")
    assert out.returncode == 0, out.stderr
    sync(office)
    sync(field)
    assert hub._select("SELECT count(*) FROM hub_blobs") == [(0,)]
    pictures_dir = Path(hub.db + ".pictures")
    assert not [f for f in pictures_dir.rglob("*") if f.is_file()]  # the files went too
    assert hub._select("SELECT count(*) FROM hub_photo_refs") == [(0,)]
    for laptop in (field, office):
        assert _q(laptop, "SELECT count(*) FROM photo_blobs") == [(0,)]
        doc = _show(laptop, cid)
        assert [p["erased"] for p in doc["photos"]] == [True, True]
    the_day_holds(hub, field, office)

"""Photos by USB stick, where the office has no network for the laptops: the grid worker
registers a leak with a photo and carries a bundle to the hub; the hub takes the picture
(its GET serves it), writes a bundle for a second laptop of the grid, which then shows the
picture; the worker's laptop counts its picture as sent only once the hub's bundle says the
hub holds it. Every import twice changes nothing, and an erased household's picture never
travels (SQLite and PostgreSQL hubs)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from kiosk.sync import protocol as p
from tests.conftest import GRID_WORKER, SUPERVISOR
from tests.journeys.conftest import kiosk_as, sync, the_day_holds
from tests.photo_helpers import write_phone_jpeg

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


def _json(out) -> dict:
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def _case(laptop, hid, photo) -> str:
    out = kiosk_as(
        laptop,
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
        str(photo),
        "--json",
    )
    return _json(out)["id"]


def _households(laptop) -> list[str]:
    return [
        r[0]
        for r in _q(
            laptop,
            "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
            " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 2",
        )
    ]


def test_photos_travel_by_usb(hub, demo_db, tmp_path):
    field, second = demo_db, tmp_path / "second.db"
    hub.enrol(field, "演示网格员的笔记本", "--grid", "G001")
    hub.enrol(second, "第二台笔记本", "--grid", "G001")
    sync(field)
    sync(second)  # from here on, both only exchange bundles

    hid = _households(field)[0]
    cid = _case(field, hid, write_phone_jpeg(tmp_path / "IMG_3001.JPG", width=1600, height=1200))
    [(sha, data)] = _q(field, "SELECT sha256, data FROM photo_blobs")

    up = tmp_path / "field.up"
    out = kiosk_as(field, GRID_WORKER, "sync", "export", str(up))
    assert out.returncode == 0 and "照片：带上 1 张" in out.stdout + out.stderr, out.stderr
    assert json.loads(up.read_bytes())["format"] == p.BUNDLE_FORMAT_PICTURES
    for _ in range(2):  # importing twice changes nothing
        doc = _json(hub.kiosk("import", str(up), "--json"))
        assert (doc["photos"], doc["photos_unknown"], doc["photos_mismatch"]) == (1, 0, 0)
        assert hub._select("SELECT sha256 FROM hub_blobs") == [(sha,)]
    out = hub.kiosk("import", str(up), "--lang", "en")
    assert "Photos: 1 stored." in out.stdout + out.stderr
    # the hub serves it to a laptop of the grid, as if it had come over the network
    token = _q(second, "SELECT value FROM meta WHERE key = 'sync.token'")[0][0]
    got = httpx.get(
        f"{hub.url}/v1/blobs/{sha}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert got.status_code == 200 and got.content == data
    # not sent yet as far as the worker's laptop knows: the hub has not said so
    assert _q(field, "SELECT count(*) FROM photo_blobs_pending") == [(1,)]  # not confirmed

    down = tmp_path / "second.down"
    doc = _json(hub.kiosk("export", "--device", "第二台笔记本", str(down), "--json"))
    assert doc["photos"] == 1 and doc["photos_left"] == 0
    assert _q(second, "SELECT count(*) FROM photo_blobs") == [(0,)]
    first = _json(kiosk_as(second, None, "sync", "import", str(down), "--json"))
    assert first["pulled"] > 0 and first["photos_received"] == 1
    again = _json(kiosk_as(second, None, "sync", "import", str(down), "--json"))
    assert (again["pulled"], again["photos_received"], again["photos_refused"]) == (0, 0, 0)
    assert _q(second, "SELECT sha256, data FROM photo_blobs") == [(sha, data)]
    shown = _json(kiosk_as(second, SUPERVISOR, "cases", "show", cid, "--json"))
    assert [p["on_this_laptop"] for p in shown["photos"]] == [True]
    out = kiosk_as(second, None, "sync", "import", str(down))
    assert "照片" not in out.stdout + out.stderr  # nothing new: no photo line

    # the hub's bundle for the worker's laptop confirms the picture: sent, never carried again
    back = tmp_path / "field.down"
    _json(hub.kiosk("export", "--device", "演示网格员的笔记本", str(back), "--json"))
    out = kiosk_as(field, None, "sync", "import", str(back), "--lang", "en")
    assert "Photos: 0 received, 1 of this laptop's confirmed by the hub." in out.stdout + out.stderr
    assert _q(field, "SELECT count(*) FROM photo_blobs_pending") == [(0,)]  # confirmed
    assert _json(kiosk_as(field, GRID_WORKER, "sync", "export", str(up), "--json"))["photos"] == 0

    the_day_holds(hub, field, second)


@ONE_HUB
def test_an_erased_households_picture_does_not_travel(hub, demo_db, tmp_path):
    field, second = demo_db, tmp_path / "second.db"
    hub.enrol(field, "演示网格员的笔记本", "--grid", "G001")
    hub.enrol(second, "第二台笔记本", "--grid", "G001")
    sync(field)
    sync(second)
    hid = _households(field)[1]
    _case(field, hid, write_phone_jpeg(tmp_path / "IMG_3002.JPG", width=1200, height=900))
    [(sha,)] = _q(field, "SELECT sha256 FROM photo_blobs")
    stale = tmp_path / "stale.up"  # made before the erasure: it carries the picture
    assert (
        _json(kiosk_as(field, GRID_WORKER, "sync", "export", str(stale), "--json"))["photos"] == 1
    )

    out = kiosk_as(field, SUPERVISOR, "households", "forget", hid, "--yes")
    assert out.returncode == 0, out.stderr
    up = tmp_path / "field.up"
    assert _json(kiosk_as(field, GRID_WORKER, "sync", "export", str(up), "--json"))["photos"] == 0
    assert sha.encode() not in up.read_bytes()
    doc = _json(hub.kiosk("import", str(up), "--json"))
    assert doc["refused"] == [], doc
    # the bundle made before the erasure, carried after it: its picture is not taken
    doc = _json(hub.kiosk("import", str(stale), "--json"))
    assert (doc["photos"], doc["photos_unknown"]) == (0, 1)
    assert hub._select("SELECT count(*) FROM hub_blobs") == [(0,)]
    down = tmp_path / "second.down"
    assert (
        _json(hub.kiosk("export", "--device", "第二台笔记本", str(down), "--json"))["photos"] == 0
    )
    assert sha.encode() not in down.read_bytes()
    _json(kiosk_as(second, None, "sync", "import", str(down), "--json"))
    assert _q(second, "SELECT count(*) FROM photo_blobs") == [(0,)]
    assert _q(second, "SELECT count(*) FROM photos WHERE sha256 = ?", sha) == [(0,)]


@ONE_HUB
def test_a_down_bundle_is_checked_on_the_laptop(hub, demo_db, tmp_path):
    """A down bundle is signed by the hub; still, the laptop keeps only pictures its records
    name and whose bytes match their names, and refuses another laptop's bundle."""
    field, second = demo_db, tmp_path / "second.db"
    hub.enrol(field, "演示网格员的笔记本", "--grid", "G001")
    hub.enrol(second, "第二台笔记本", "--grid", "G001")
    sync(field)
    sync(second)
    _case(field, _households(field)[0], write_phone_jpeg(tmp_path / "a.jpg"))
    [(sha, data)] = _q(field, "SELECT sha256, data FROM photo_blobs")
    up = tmp_path / "field.up"
    kiosk_as(field, GRID_WORKER, "sync", "export", str(up))
    _json(hub.kiosk("import", str(up), "--json"))
    down = tmp_path / "second.down"
    _json(hub.kiosk("export", "--device", "第二台笔记本", str(down), "--json"))

    out = kiosk_as(field, None, "sync", "import", str(down))  # another laptop's bundle
    assert out.returncode == 2 and "另一台设备" in out.stderr

    # re-signed with the second laptop's own key (as the hub would): a picture not matching
    # its name, and one no record names, are not kept
    token = _q(second, "SELECT value FROM meta WHERE key = 'sync.token'")[0][0]
    key = p.token_hash(token.partition(".")[2])
    bundle = p.read_bundle(down)
    forged = bytearray(data)
    forged[len(forged) // 2] ^= 0xFF
    stray = Path(tmp_path / "b.jpg")
    write_phone_jpeg(stray, width=320, height=240)
    from kiosk.photos.prepare import prepare_file

    other = prepare_file(stray)
    bundle.pictures = [
        p.BundlePicture(sha256=sha, data=bytes(forged)),
        p.BundlePicture(sha256=other.sha256, data=other.data),
    ]
    down.write_bytes(p.sign_bundle(bundle, key))
    doc = _json(kiosk_as(second, None, "sync", "import", str(down), "--json"))
    assert (doc["photos_received"], doc["photos_refused"]) == (0, 2)
    assert _q(second, "SELECT count(*) FROM photo_blobs") == [(0,)]

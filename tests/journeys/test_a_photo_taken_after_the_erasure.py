"""A photo taken offline after the household was erased at the office: the worker's laptop
had not heard of the erasure yet, and adds a progress photo to the household's case. When it
syncs, the hub stores that photo's record without its picture's name, keeps no picture of it
(the upload is refused as for any picture no record names), and no other laptop gets one:
erasing a household erases its photos everywhere, those that arrive late included."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import httpx

from tests.conftest import GRID_WORKER, SUPERVISOR
from tests.journeys.conftest import kiosk_as, sync, the_day_holds
from tests.photo_helpers import write_phone_jpeg


def _q(path, sql, *args):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_a_late_photo_of_an_erased_household_leaves_no_picture(hub, demo_db, tmp_path):
    field, office = demo_db, tmp_path / "office.db"
    hub.enrol(field, "演示网格员的笔记本", "--grid", "G001")
    community = _q(field, "SELECT community FROM grids WHERE code = 'G001'")[0][0]
    hub.enrol(office, "社区办公室", "--community", community)
    sync(field)
    sync(office)
    hid = _q(
        field,
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1",
    )[0][0]
    out = kiosk_as(
        field, GRID_WORKER, "cases", "add", "--household", hid, "--category", "roof_leak",
        "--summary", "顶楼漏雨", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    cid = json.loads(out.stdout)["id"]
    sync(field)
    sync(office)

    # at the office the resident's household is erased; the worker, offline, photographs
    # the leak again for the case
    out = kiosk_as(office, SUPERVISOR, "households", "forget", hid, "--yes")
    assert out.returncode == 0, out.stderr
    sync(office)
    late = write_phone_jpeg(tmp_path / "IMG_3001.JPG", width=1600, height=1200)
    out = kiosk_as(
        field,
        GRID_WORKER,
        "cases",
        "act",
        cid,
        "progress",
        "--note",
        "又漏了",
        "--photo",
        str(late),
    )
    assert out.returncode == 0, out.stderr
    [(sha, picture)] = _q(
        field,
        "SELECT b.sha256, b.data FROM photo_blobs b JOIN photos p ON p.sha256 = b.sha256"
        " WHERE p.case_id = ?",
        cid,
    )
    assert hashlib.sha256(picture).hexdigest() == sha
    token = _q(field, "SELECT value FROM meta WHERE key = 'sync.token'")[0][0]

    sync(field)  # the late photo's record reaches the hub

    # the hub keeps the record, without the picture's name, and no picture
    stored = [
        json.loads(r[0]) for r in hub._select("SELECT payload FROM hub_ops WHERE entity = 'photo'")
    ]
    assert stored and all(p["sha256"] == "" for p in stored), stored
    assert hub._select("SELECT count(*) FROM hub_photo_refs") == [(0,)]
    # the picture itself, sent anyway (a laptop that kept it), is refused as unnamed
    auth = {"Authorization": f"Bearer {token}"}
    r = httpx.put(
        f"{hub.url}/v1/blobs/{sha}",
        content=bytes(picture),
        headers={**auth, "X-Blob-Offset": "0", "X-Blob-Size": str(len(picture)),
                 "Content-Type": "application/octet-stream"},
        timeout=30,
    )  # fmt: skip
    assert r.status_code == 404, r.text
    r = httpx.post(
        f"{hub.url}/v1/blobs/batch",
        content=bytes(picture),
        headers={**auth, "X-Blobs": f"{sha}:{len(picture)}",
                 "Content-Type": "application/octet-stream"},
        timeout=30,
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["stored"] == [], r.text
    assert hub._select("SELECT count(*) FROM hub_blobs") == [(0,)]
    assert httpx.get(f"{hub.url}/v1/blobs/{sha}", headers=auth, timeout=30).status_code == 404

    # the office sees the photo as erased; nothing of the picture on either laptop
    sync(office)
    for laptop in (office, field):
        out = kiosk_as(laptop, SUPERVISOR, "cases", "show", cid, "--json")
        assert out.returncode == 0, out.stderr
        assert all(p["erased"] for p in json.loads(out.stdout)["photos"])
        assert _q(laptop, "SELECT count(*) FROM photo_blobs") == [(0,)]
    the_day_holds(hub, field, office)

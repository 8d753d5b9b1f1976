"""Photos on community feedback through a real hub: the grid worker records a street stall's
complaint with a phone photo; a second laptop of the same grid gets the feedback, its photo
record and the picture; a laptop of another grid gets none of them (that it cannot fetch the
picture by its name either is proved against the hub's endpoints in
tests/adversarial/test_hostile_pictures.py)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import GRID_WORKER
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


@ONE_HUB
def test_a_feedback_picture_reaches_its_grid_and_no_other(hub, demo_db, tmp_path):
    field, second, other = demo_db, tmp_path / "second.db", tmp_path / "other.db"
    hub.enrol(field, "演示网格员的笔记本", "--grid", "G001")
    hub.enrol(second, "G001 的第二台笔记本", "--grid", "G001")
    hub.enrol(other, "G002 的笔记本", "--grid", "G002")
    for laptop in (field, second, other):
        sync(laptop)

    photo = write_phone_jpeg(tmp_path / "IMG_3001.JPG", width=1600, height=1200)
    out = kiosk_as(
        field,
        GRID_WORKER,
        "feedback",
        "add",
        "--category",
        "parking",
        "--text",
        "菜市场门口电动车乱停",
        "--source",
        "stall",
        "--photo",
        str(photo),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    fid = json.loads(out.stdout)["id"]
    [(sha,)] = _q(field, "SELECT sha256 FROM feedback_photos WHERE feedback_id = ?", fid)
    assert sync(field)["photos_sent"] == 1

    assert sync(second)["photos_received"] == 1
    assert _q(second, "SELECT feedback_id, width, height FROM feedback_photos") == [
        (fid, 1600, 1200)
    ]
    assert _q(second, "SELECT data FROM photo_blobs WHERE sha256 = ?", sha) == _q(
        field, "SELECT data FROM photo_blobs WHERE sha256 = ?", sha
    )
    out = kiosk_as(second, GRID_WORKER, "feedback", "show", fid, "--json")
    assert [p["here"] for p in json.loads(out.stdout)["photos"]] == [True]

    assert sync(other)["photos_received"] == 0
    assert _q(other, "SELECT count(*) FROM feedback WHERE id = ?", fid) == [(0,)]
    assert _q(other, "SELECT count(*) FROM feedback_photos") == [(0,)]
    assert _q(other, "SELECT count(*) FROM photo_blobs WHERE sha256 = ?", sha) == [(0,)]
    assert ("feedback_photo", json.loads(out.stdout)["photos"][0]["id"]) in hub.records()
    the_day_holds(hub, field, second, other)

"""``kiosk cases add/act --photo`` as a real subprocess: the photo is stored on the step it
documents with nothing of its metadata (the whole database file is searched for it), bad
files are refused by name before anything is written, and ``cases show`` lists the photos."""

from __future__ import annotations

import json
import sqlite3

from tests.conftest import GRID_WORKER, run_kiosk
from tests.photo_helpers import SECRETS, write_phone_jpeg


def _q(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _household(db) -> str:
    return _q(
        db,
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1",
    )[0][0]


def _counts(db) -> tuple:
    return _q(
        db,
        "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_events),"
        " (SELECT count(*) FROM photos), (SELECT count(*) FROM photo_blobs),"
        " (SELECT count(*) FROM outbox)",
    )[0]


def _kiosk(db, *args):
    return run_kiosk(*args, "--db", str(db), as_worker=GRID_WORKER)


def _add_case(db, household, summary, *photos, json_out=False):
    """``kiosk cases add`` of a roof leak on ``household`` with ``--photo`` for each path."""
    args = ["cases", "add", "--household", household, "--category", "roof_leak"]
    args += ["--summary", summary]
    for photo in photos:
        args += ["--photo", str(photo)]
    return _kiosk(db, *args, *(["--json"] if json_out else []))


def test_photos_before_and_after_with_no_trace_of_their_metadata(demo_db, tmp_path):
    before = write_phone_jpeg(tmp_path / "IMG_0001.JPG", width=1200, height=900, orientation=6)
    after = write_phone_jpeg(tmp_path / "IMG_0002.JPG", width=900, height=600)
    out = _add_case(demo_db, _household(demo_db), "顶楼漏雨", before, json_out=True)
    assert out.returncode == 0, out.stderr
    cid = json.loads(out.stdout)["id"]
    out = _kiosk(
        demo_db, "cases", "act", cid, "resolve-on-spot", "--note", "已补漏", "--photo", str(after)
    )
    assert out.returncode == 0, out.stderr
    out = _kiosk(demo_db, "cases", "show", cid, "--json")
    doc = json.loads(out.stdout)
    photos = doc["photos"]
    assert [(p["event_type"], p["width"], p["height"]) for p in photos] == [
        ("register", 900, 1200),  # stood upright
        ("resolve_on_spot", 900, 600),
    ]
    assert all(p["on_this_laptop"] and p["bytes"] > 0 for p in photos)
    # the operations that replicate name the picture, never carry it
    ops = _q(demo_db, "SELECT payload FROM outbox WHERE entity = 'photo'")
    assert len(ops) == 2 and all(len(p[0]) < 1000 for p in ops)
    text = _kiosk(demo_db, "cases", "show", cid)
    assert text.returncode == 0 and "900×1200" in text.stdout, text.stdout
    # nothing of the phone's metadata anywhere in the laptop's files
    for path in demo_db.parent.glob(demo_db.name + "*"):
        raw = path.read_bytes()
        for secret in SECRETS:
            assert secret not in raw, (path.name, secret)
        assert b"121.4737" not in raw


def test_bad_files_are_refused_by_name_and_nothing_is_written(demo_db, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("不是照片")
    good = write_phone_jpeg(tmp_path / "ok.jpg")
    hid = _household(demo_db)
    before = _counts(demo_db)
    for bad, needle in (
        (tmp_path / "missing.jpg", "missing.jpg"),
        (text, "notes.txt"),
        (tmp_path, str(tmp_path)),
    ):
        out = _add_case(demo_db, hid, "漏雨", good, bad)
        assert out.returncode == 2, out.stderr
        assert needle in out.stderr and "Traceback" not in out.stderr
    out = _add_case(demo_db, hid, "x", *[good] * 13)
    assert out.returncode == 2 and "12" in out.stderr
    assert _counts(demo_db) == before


def test_forgetting_a_household_erases_the_pictures_of_its_cases(demo_db, tmp_path):
    from tests.conftest import SUPERVISOR

    hid = _household(demo_db)
    photo = write_phone_jpeg(tmp_path / "leak.jpg")
    out = _add_case(demo_db, hid, "漏雨", photo, json_out=True)
    assert out.returncode == 0, out.stderr
    cid = json.loads(out.stdout)["id"]
    [(sha,)] = _q(demo_db, "SELECT sha256 FROM photos WHERE case_id = ?", cid)
    out = run_kiosk(
        "households", "forget", hid, "--db", str(demo_db), "--yes", "--json", as_worker=SUPERVISOR
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["photos"] == 1
    assert _q(demo_db, "SELECT count(*) FROM photo_blobs WHERE sha256 = ?", sha) == [(0,)]
    assert _q(demo_db, "SELECT sha256 FROM photos WHERE case_id = ?", cid) == [("",)]
    # nor its name in what waits to be sent
    assert not [p for (p,) in _q(demo_db, "SELECT payload FROM outbox") if sha in p]
    doc = json.loads(_kiosk(demo_db, "cases", "show", cid, "--json").stdout)
    assert [(p["erased"], p["on_this_laptop"]) for p in doc["photos"]] == [(True, False)]
    # not left in free pages nor in the write-ahead log either: a raw read finds nothing
    picture = _prepared_bytes(photo)
    for path in demo_db.parent.glob(demo_db.name + "*"):
        raw = path.read_bytes()
        for at in (200, len(picture) // 2, len(picture) - 300):
            assert picture[at : at + 48] not in raw, (path.name, at)


def _prepared_bytes(path) -> bytes:
    from kiosk.photos.prepare import prepare_file

    return prepare_file(path).data

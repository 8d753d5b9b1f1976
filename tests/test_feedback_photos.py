"""Photos on community feedback, on the laptop: ``kiosk feedback add --photo`` as a real
subprocess (every file prepared before anything is written, one transaction, no metadata
kept), ``feedback list``/``show`` count and list them, and the write guard holds a photo to
the feedback's grid as it holds the feedback itself."""

from __future__ import annotations

import json
import sqlite3

import pytest

from db.connection import open_database, transaction
from db.photos import attach_feedback_photo
from kiosk.core.errors import UserError
from kiosk.photos.prepare import prepare_bytes
from kiosk.runtime import load, open_runtime
from tests.conftest import GRID_WORKER, run_kiosk
from tests.photo_helpers import SECRETS, phone_jpeg, write_phone_jpeg


def _q(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _counts(db) -> tuple:
    return _q(
        db,
        "SELECT (SELECT count(*) FROM feedback), (SELECT count(*) FROM feedback_photos),"
        " (SELECT count(*) FROM photo_blobs), (SELECT count(*) FROM outbox)",
    )[0]


def _add(db, *photos, json_out=True):
    args = ["feedback", "add", "--category", "parking", "--text", "菜市场门口乱停车"]
    for photo in photos:
        args += ["--photo", str(photo)]
    return run_kiosk(
        *args, *(["--json"] if json_out else []), "--db", str(db), as_worker=GRID_WORKER
    )


def test_feedback_with_photos_and_no_trace_of_their_metadata(demo_db, tmp_path):
    one = write_phone_jpeg(tmp_path / "IMG_0101.JPG", width=1200, height=900, orientation=6)
    two = write_phone_jpeg(tmp_path / "IMG_0102.JPG", width=900, height=600)
    out = _add(demo_db, one, two, one)  # the same picture twice is kept once
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    fid = doc["id"]
    assert len(doc["photos"]) == 2
    rows = _q(demo_db, "SELECT feedback_id, width, height FROM feedback_photos ORDER BY hlc")
    assert rows == [(fid, 900, 1200), (fid, 900, 600)]
    ops = _q(demo_db, "SELECT payload FROM outbox WHERE entity = 'feedback_photo'")
    assert len(ops) == 2 and all(len(p[0]) < 1000 for p in ops)  # a name, never the picture
    listed = json.loads(run_kiosk("feedback", "list", "--db", str(demo_db), "--json").stdout)
    assert [(f["id"], f["photos"]) for f in listed["feedback"]][0] == (fid, 2)
    text = run_kiosk("feedback", "list", "--db", str(demo_db))
    assert text.returncode == 0 and "照片" in text.stdout, text.stdout
    show = run_kiosk("feedback", "show", fid, "--db", str(demo_db))
    assert show.returncode == 0 and "900×1200" in show.stdout and "900×600" in show.stdout
    shown = json.loads(run_kiosk("feedback", "show", fid, "--db", str(demo_db), "--json").stdout)
    assert [(p["width"], p["here"]) for p in shown["photos"]] == [(900, True), (900, True)]
    missing = run_kiosk("feedback", "show", "nope", "--db", str(demo_db))
    assert missing.returncode == 2 and "nope" in missing.stderr
    for path in demo_db.parent.glob(demo_db.name + "*"):
        raw = path.read_bytes()
        for secret in SECRETS:
            assert secret not in raw, (path.name, secret)
        assert b"121.4737" not in raw


def test_bad_files_are_refused_by_name_and_no_feedback_is_written(demo_db, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("不是照片")
    good = write_phone_jpeg(tmp_path / "ok.jpg")
    before = _counts(demo_db)
    for bad, needle in (
        (tmp_path / "missing.jpg", "missing.jpg"),
        (text, "notes.txt"),
        (tmp_path, str(tmp_path)),
    ):
        out = _add(demo_db, good, bad)
        assert out.returncode == 2, out.stderr
        assert needle in out.stderr and "Traceback" not in out.stderr
    out = _add(demo_db, *[good] * 13)
    assert out.returncode == 2 and "12" in out.stderr
    assert _counts(demo_db) == before


def _feedback_in(db, grid_code: str) -> str:
    """Feedback of ``grid_code`` as if pulled from the hub (another grid's, made elsewhere)."""
    conn = open_database(db).conn
    gid = conn.execute("SELECT id FROM grids WHERE code = ?", (grid_code,)).fetchone()[0]
    fid = f"fb-{grid_code}"
    with transaction(conn):
        conn.execute(
            "INSERT INTO feedback(id, grid_id, source, category, text, anonymous, raised_by,"
            " place, created_at, hlc, worker_id, device_id) VALUES (?, ?, 'stall', 'parking',"
            " '乱停车', 1, '', '', '2026-12-01T10:00:00+08:00', '001795000000000.00000', NULL,"
            " 'elsewhere')",
            (fid, gid),
        )
    conn.close()
    return fid


def test_the_write_guard_keeps_a_photo_to_the_feedbacks_grid(demo_db):
    """The G001 worker attaches photos to G001 feedback, never to G002's: refused before
    anything is written, the picture included; at most 12 per feedback item."""
    theirs, mine = _feedback_in(demo_db, "G002"), _feedback_in(demo_db, "G001")
    runtime = open_runtime(load(str(demo_db), None, worker=GRID_WORKER))
    try:
        runtime.ctx.verified = True  # signed in with the PIN, as the sign-in screen does
        p = prepare_bytes(phone_jpeg(640, 480))
        before = _counts(demo_db)
        with pytest.raises(UserError) as err, transaction(runtime.conn):
            attach_feedback_photo(
                runtime.ctx, theirs, sha256=p.sha256, data=p.data, width=p.width, height=p.height
            )
        assert err.value.key == "error.role_out_of_scope"
        assert _counts(demo_db) == before
        with pytest.raises(UserError) as err, transaction(runtime.conn):
            attach_feedback_photo(
                runtime.ctx, mine, sha256="0" * 64, data=p.data, width=p.width, height=p.height
            )
        assert err.value.key == "photos.error.wrong_hash"  # a picture is kept under its own name
        assert _counts(demo_db) == before
        with transaction(runtime.conn):
            for i in range(12):
                q = prepare_bytes(phone_jpeg(300 + i, 200))
                attach_feedback_photo(
                    runtime.ctx, mine, sha256=q.sha256, data=q.data, width=q.width, height=q.height
                )
        with pytest.raises(UserError) as err, transaction(runtime.conn):
            attach_feedback_photo(
                runtime.ctx, mine, sha256=p.sha256, data=p.data, width=p.width, height=p.height
            )
        assert err.value.key == "photos.error.too_many"
        with pytest.raises(UserError) as err, transaction(runtime.conn):
            attach_feedback_photo(
                runtime.ctx, "nobody", sha256=p.sha256, data=p.data, width=p.width, height=p.height
            )
        assert err.value.key == "photos.error.no_feedback"
    finally:
        runtime.close()
    assert _q(demo_db, "SELECT count(*) FROM feedback_photos WHERE feedback_id = ?", theirs) == [
        (0,)
    ]


async def test_the_feedback_form_takes_photos_and_says_what_is_wrong_with_them(runtime, tmp_path):
    """A path that is not there is said in the form, at the photos field, and nothing is
    written; a folder stands for the photos in it, prepared on save and written with the
    feedback."""
    from screens.visits.feedback_form import FeedbackFormScreen
    from tests.pilot_helpers import signed_in_app

    folder = tmp_path / "DCIM"
    folder.mkdir()
    write_phone_jpeg(folder / "IMG_0201.JPG", width=800, height=600)
    write_phone_jpeg(folder / "IMG_0202.JPG", width=600, height=800)
    (folder / "notes.txt").write_text("不是照片")
    count = "SELECT (SELECT count(*) FROM feedback), (SELECT count(*) FROM feedback_photos)"
    before = tuple(runtime.conn.execute(count).fetchone())
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+f")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FeedbackFormScreen)
        await pilot.press("enter", "down", "enter")
        form.query_one("#feedback-text").text = "垃圾堆在路口没人清"
        form.query_one("#feedback-photos").value = str(tmp_path / "missing.jpg")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is form and app.focused.id == "feedback-photos"
        error = str(form.query_one("#feedback-error").render())
        assert "missing.jpg" in error
        assert tuple(runtime.conn.execute(count).fetchone()) == before
        form.query_one("#feedback-photos").value = f'"{folder}"'
        await pilot.press("ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is not form
    assert tuple(runtime.conn.execute(count).fetchone()) == (before[0] + 1, before[1] + 2)
    fid = runtime.conn.execute(
        "SELECT id FROM feedback ORDER BY created_at DESC, id DESC LIMIT 1"
    ).fetchone()[0]
    sizes = runtime.conn.execute(
        "SELECT width, height FROM feedback_photos WHERE feedback_id = ? ORDER BY hlc", (fid,)
    ).fetchall()
    assert [tuple(r) for r in sizes] == [(800, 600), (600, 800)]

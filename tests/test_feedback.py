"""Community feedback: CLI and screen, anonymity, bad input."""

from __future__ import annotations

import json
import sqlite3

from tests.pilot_helpers import signed_in_app


def test_cli_feedback_add_and_list(kiosk, demo_db):
    db = str(demo_db)
    r = kiosk(
        "feedback",
        "add",
        "--db",
        db,
        "--category",
        "停车",
        "--text",
        "菜市场门口乱停车",
        "--place",
        "菜市场",
        "--source",
        "stall",
        "--anonymous",
        "--raised-by",
        "李大爷",
        "--json",
        as_worker="演示网格员",
    )
    assert r.returncode == 0, r.stderr
    fid = json.loads(r.stdout)["id"]
    row = (
        sqlite3.connect(db)
        .execute("SELECT category, anonymous, raised_by, place FROM feedback WHERE id = ?", (fid,))
        .fetchone()
    )
    assert row == ("parking", 1, "", "菜市场")  # anonymous: the name is never stored
    payload = (
        sqlite3.connect(db)
        .execute("SELECT payload FROM outbox WHERE entity_id = ?", (fid,))
        .fetchone()[0]
    )
    assert "李大爷" not in payload
    listed = json.loads(kiosk("feedback", "list", "--db", db, "--json").stdout)["feedback"]
    assert listed[0]["id"] == fid
    for args, word in (
        (["--category", "nope", "--text", "x"], "nope"),
        (["--category", "parking", "--text", "  "], "内容"),
        (["--category", "parking", "--text", "x" * 3000], "3000"),
        (["--category", "parking", "--text", "x", "--source", "tv"], "tv"),
    ):
        bad = kiosk("feedback", "add", "--db", db, *args, as_worker="演示网格员")
        assert bad.returncode == 2 and word in bad.stderr and "Traceback" not in bad.stderr


async def test_feedback_screen_from_home(runtime):
    from screens.visits.feedback_form import FeedbackFormScreen

    before = runtime.conn.execute("SELECT count(*) FROM feedback").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert isinstance(app.screen, FeedbackFormScreen)
        form = app.screen
        await pilot.press("ctrl+s")  # nothing filled in
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is form and app.focused.id == "feedback-category"
        await pilot.press("enter", "down", "enter")
        form.query_one("#feedback-text").text = "广场晚上太暗"
        form.query_one("#feedback-place").value = "社区广场"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is not form
    rows = runtime.conn.execute(
        "SELECT category, text, place, anonymous FROM feedback ORDER BY created_at DESC, id DESC"
    ).fetchall()
    assert len(rows) == before + 1
    assert tuple(rows[0]) == ("parking", "广场晚上太暗", "社区广场", 1)

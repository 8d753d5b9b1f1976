"""Photos when a problem is registered (the "before", 整改前): on the case registration screen,
on each problem of the visit form (kept in its draft), and with ``kiosk visits add
--problem-photo N:FILE``; each attached to its case's registration step."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input, Static

from db.cases import get_case
from db.drafts import load_draft
from db.visits import list_visits
from screens.visits.visit_form import ProblemRow, VisitFormScreen
from tests.conftest import GRID_WORKER, SUPERVISOR, acting_as, run_kiosk
from tests.pages import HouseholdPage
from tests.photo_helpers import SECRETS, write_phone_jpeg
from tests.pilot_helpers import settle, signed_in_app


@pytest.fixture(autouse=True)
def instant_autosave(monkeypatch):
    monkeypatch.setattr(VisitFormScreen, "autosave_delay", 0.0)


def _events(conn) -> int:
    return conn.execute("SELECT count(*) FROM case_events").fetchone()[0]


def _g001_household(conn) -> str:
    return conn.execute(
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' AND h.member_count >= 1 ORDER BY h.rid LIMIT 1"
    ).fetchone()[0]


async def test_registering_a_case_on_screen_with_a_photo(runtime, tmp_path):
    from screens.cases.case_register import CaseRegisterScreen

    conn = runtime.conn
    hh = _g001_household(conn)
    photo = write_phone_jpeg(tmp_path / "IMG_0001.JPG", width=800, height=600)
    results: list = []
    with acting_as(runtime, SUPERVISOR):
        app = signed_in_app(runtime)
        async with app.run_test(size=(80, 24)) as pilot:
            await app.push_screen(
                CaseRegisterScreen([hh], summary="顶楼漏雨", category="roof_leak"),
                results.append,
            )
            await settle(app, pilot)
            screen = app.screen
            field = screen.query_one("#reg-photos", Input)
            field.value = str(tmp_path / "missing.jpg")
            before = _events(conn)
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert app.screen is screen  # the form stays, says which file, on the field
            said = str(screen.query_one("#reg-error", Static).render())
            assert "missing.jpg" in said
            assert field.has_class("-invalid") and field.has_focus
            assert _events(conn) == before
            field.value = f'"{photo}"'
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await app.workers.wait_for_complete()
            await settle(app, pilot)
    [cid] = results
    detail = get_case(conn, cid)
    assert detail is not None and detail.summary == "顶楼漏雨"
    assert [(p.event_type, p.width, p.height) for p in detail.photos] == [("register", 800, 600)]
    for (data,) in conn.execute("SELECT data FROM photo_blobs"):
        assert not any(secret in bytes(data) for secret in SECRETS)


async def test_a_visit_with_a_problem_photo_kept_in_its_draft(runtime, tmp_path):
    conn = runtime.conn
    hid = conn.execute(
        "SELECT h.id FROM households h WHERE h.member_count >= 2 ORDER BY h.rid LIMIT 1"
    ).fetchone()[0]
    phone = tmp_path / "DCIM"
    phone.mkdir()
    write_phone_jpeg(phone / "IMG_1.JPG", width=640, height=480)
    write_phone_jpeg(phone / "IMG_2.JPG", width=480, height=640)
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        household = await HouseholdPage.open(app, pilot, hid)
        visit = await household.record_visit()
        await visit.met_the_first_member()
        await visit.add_problem("楼道漏水")
        row = app.screen.query(ProblemRow).last()
        photos = row.query_one(".problem-photos", Input)
        photos.value = str(tmp_path / "nowhere")
        await settle(app, pilot)
        draft = load_draft(conn, f"visit:{hid}")
        assert draft is not None
        assert draft.payload["problems"][0]["photos"] == str(tmp_path / "nowhere")
        before = _events(conn)
        await visit.save()
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, VisitFormScreen)  # refused on the problem's photos field
        said = str(form.query_one("#visit-error", Static).render())
        assert "nowhere" in said and "1" in said
        assert photos.has_class("-invalid")
        assert _events(conn) == before
        photos.value = str(phone)
        await settle(app, pilot)
        await visit.save()
        await settle(app, pilot)
        await app.workers.wait_for_complete()
        await settle(app, pilot)
        assert not isinstance(app.screen, VisitFormScreen)
    [v] = list_visits(conn, hid)
    [item] = v.items
    detail = get_case(conn, item.case_id)
    assert detail is not None
    assert sorted((p.event_type, p.width) for p in detail.photos) == [
        ("register", 480),
        ("register", 640),
    ]
    assert load_draft(conn, f"visit:{hid}") is None


async def test_a_restored_draft_brings_the_problem_photos_back(runtime):
    from db.connection import transaction
    from db.drafts import save_draft
    from kiosk.domain.visits import DRAFT_KIND, empty_form

    conn = runtime.conn
    hid = conn.execute("SELECT id FROM households ORDER BY rid LIMIT 1").fetchone()[0]
    form = empty_form()
    form["problems"] = [{"category": "sewer", "text": "下水堵", "photos": "/media/card/DCIM"}]
    with transaction(conn):
        save_draft(conn, f"visit:{hid}", DRAFT_KIND, form)
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(VisitFormScreen(hid))
        await settle(app, pilot)
        row = app.screen.query(ProblemRow).last()
        assert row.query_one(".problem-photos", Input).value == "/media/card/DCIM"
        assert app.screen.collect()["problems"] == form["problems"]


def test_cli_visit_with_problem_photos(demo_db, tmp_path):
    import sqlite3

    conn = sqlite3.connect(demo_db)
    hid = conn.execute(
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1"
    ).fetchone()[0]
    conn.close()
    before = write_phone_jpeg(tmp_path / "IMG_0001.JPG", width=300, height=200)

    def visit(*extra):
        return run_kiosk(
            "visits", "add", hid, "--met", "张三", "--problem", "roof_leak:顶楼漏雨",
            "--problem", "parking:楼下停车难", *extra, "--json", "--db", str(demo_db),
            as_worker=GRID_WORKER,
        )  # fmt: skip

    for bad, needle in (
        ("3:" + str(before), "1"),  # no third problem
        ("x:" + str(before), "N:"),
        ("1:" + str(tmp_path / "missing.jpg"), "missing.jpg"),
    ):
        out = visit("--problem-photo", bad)
        assert out.returncode == 2, out.stderr
        assert needle in out.stderr and "Traceback" not in out.stderr
    c = sqlite3.connect(demo_db)
    assert c.execute("SELECT count(*) FROM photos").fetchone() == (0,)
    c.close()

    out = visit("--problem-photo", f"2:{before}")
    assert out.returncode == 0, out.stderr
    vid = json.loads(out.stdout)["id"]
    c = sqlite3.connect(demo_db)
    rows = c.execute(
        "SELECT i.text, e.type, p.width FROM visit_items i JOIN photos p ON p.case_id = i.case_id"
        " JOIN case_events e ON e.id = p.event_id WHERE i.visit_id = ?",
        (vid,),
    ).fetchall()
    c.close()
    assert rows == [("楼下停车难", "register", 300)]


def test_a_problems_photos_in_the_form_and_the_draft(tmp_path):
    """Unit: the draft keeps a problem's photo paths only when some are typed (a draft
    without photos keeps its shape); paths are checked per problem, naming its field."""
    from kiosk.domain.visits import VisitInvalid, normalise_form, problem
    from kiosk.photos.attach import problem_photos

    assert problem("sewer", "下水堵") == {"category": "sewer", "text": "下水堵"}
    assert problem("sewer", "下水堵", "  ") == {"category": "sewer", "text": "下水堵"}
    raw = {"problems": [{"category": "sewer", "text": "x", "photos": "a.jpg; b.jpg"}, "junk"]}
    assert normalise_form(raw)["problems"] == [
        {"category": "sewer", "text": "x", "photos": "a.jpg; b.jpg"}
    ]
    good = write_phone_jpeg(tmp_path / "ok.jpg")
    form = {
        "problems": [
            {"category": "sewer", "text": "x"},
            {"category": "sewer", "text": "y", "photos": f"{good};{tmp_path / 'gone.jpg'}"},
        ]
    }
    with pytest.raises(VisitInvalid) as refused:
        problem_photos(form, prepare=False)
    assert refused.value.field == "problem.1.photos"
    assert "gone.jpg" in refused.value.message() and "2" in refused.value.message()
    form["problems"][1]["photos"] = str(good)
    assert problem_photos(form, prepare=False) == {1: []}

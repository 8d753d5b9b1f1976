"""A category group whose cases are resolved only with a photo of the repair (整改后照片):
set by the community's supervisor, replicated to every device, and checked where every
resolution is written (db.cases.append_event), from the command line and from the screen."""

from __future__ import annotations

import json
import sqlite3

import pytest

from db.case_fold import CaseRefused
from db.case_rules import after_photo_groups, check_after_photo, list_rules, set_after_photo
from db.cases import append_event, get_case, register_case
from db.connection import transaction
from kiosk.core.i18n import t
from kiosk.domain.categories import DEFAULT
from tests.conftest import ADMINISTRATOR, GRID_WORKER, SUPERVISOR, acting_as, run_kiosk
from tests.photo_helpers import write_phone_jpeg


def _q(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _community(conn) -> str:
    return conn.execute("SELECT community FROM grids WHERE code = 'G001'").fetchone()[0]


def _household(conn) -> str:
    return conn.execute(
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1"
    ).fetchone()[0]


# --- the rule -------------------------------------------------------------------------------
def test_the_rule_refuses_a_resolution_without_a_photo_and_only_that(runtime):
    from kiosk.photos.prepare import prepare_bytes
    from tests.photo_helpers import phone_jpeg

    conn, ctx = runtime.conn, runtime.ctx
    community = _community(conn)
    with acting_as(runtime, SUPERVISOR), transaction(conn):
        assert set_after_photo(ctx, community, "urban", True)
        assert not set_after_photo(ctx, community, "urban", True)  # already so: nothing written
        leak = register_case(
            ctx, household_ids=[_household(conn)], category="roof_leak", summary="顶楼漏雨"
        )
        noise = register_case(
            ctx, household_ids=[_household(conn)], category="noise", summary="夜间施工"
        )
    assert after_photo_groups(conn, community) == {"urban"}
    assert after_photo_groups(conn, "别的社区") == set()
    # the op that carries the rule to the other devices
    [(entity, payload)] = conn.execute(
        "SELECT entity, payload FROM outbox WHERE entity = 'case_rule'"
    ).fetchall()
    assert json.loads(payload)["category_group"] == "urban"

    check_after_photo(conn, leak, "progress", 0)  # a progress note needs none
    check_after_photo(conn, leak, "resolve", 1)
    check_after_photo(conn, noise, "resolve", 0)  # another group
    for step in ("resolve", "resolve_on_spot"):
        with pytest.raises(CaseRefused) as refused:
            check_after_photo(conn, leak, step, 0, DEFAULT)
        assert refused.value.key == "cases.rule.after_photo_required"
        assert "城建城管执法" in refused.value.message()

    before = conn.execute("SELECT count(*) FROM case_events").fetchone()[0]
    with acting_as(runtime, SUPERVISOR):
        with pytest.raises(CaseRefused), transaction(conn):
            append_event(ctx, leak, "resolve", {"note": "已补漏"})
        assert conn.execute("SELECT count(*) FROM case_events").fetchone()[0] == before
        with transaction(conn):
            append_event(ctx, noise, "resolve", {"note": "已劝导"})
            eid = append_event(
                ctx, leak, "resolve", {"note": "已补漏"}, photos=[prepare_bytes(phone_jpeg())]
            )
    detail = get_case(conn, leak)
    assert detail is not None and detail.state.status == "resolved"
    assert [p.event_id for p in detail.photos] == [eid]

    # switched off: resolving without a photo is taken again; the latest setting wins
    with acting_as(runtime, SUPERVISOR), transaction(conn):
        assert set_after_photo(ctx, community, "urban", False)
    assert after_photo_groups(conn, community) == set()
    assert [(r.category_group, r.after_photo) for r in list_rules(conn, community)] == [
        ("urban", False)
    ]


def test_two_devices_setting_one_group_offline_the_latest_wins(runtime):
    """Rows written for the same group by two devices (both inserted offline) merge to the
    one with the latest stamp."""
    conn = runtime.conn
    community = _community(conn)
    rows = [
        ("r-1", community, "urban", 1, "001795000000000.00001", "dev-a"),
        ("r-2", community, "urban", 0, "001795000000000.00002", "dev-b"),
    ]
    with transaction(conn):
        conn.executemany(
            "INSERT INTO case_rules(id, community, category_group, after_photo, created_at,"
            " updated_at, hlc, device_id) VALUES (?, ?, ?, ?, 'x', 'x', ?, ?)",
            rows,
        )
    assert after_photo_groups(conn, community) == set()


# --- the command line ---------------------------------------------------------------------
def _kiosk(db, *args, who=GRID_WORKER):
    return run_kiosk(*args, "--db", str(db), as_worker=who)


def test_cli_supervisor_requires_a_photo_and_a_resolution_needs_one(demo_db, tmp_path):
    hid = _q(
        demo_db,
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1",
    )[0][0]
    # a grid worker may read the rule, not change it
    out = _kiosk(demo_db, "cases", "require-photo", "urban", "on")
    assert out.returncode == 3, out.stderr
    assert t("action.case_rules.manage") in out.stderr and "Traceback" not in out.stderr
    assert _q(demo_db, "SELECT count(*) FROM case_rules") == [(0,)]

    out = _kiosk(demo_db, "cases", "require-photo", "城建城管执法", "on", who=SUPERVISOR)
    assert out.returncode == 0, out.stderr
    assert "城建城管执法" in out.stderr
    out = _kiosk(demo_db, "cases", "require-photo", "--json")
    assert out.returncode == 0, out.stderr
    groups = {g["code"]: g["after_photo"] for g in json.loads(out.stdout)["groups"]}
    assert groups["urban"] and not groups["livelihood"]
    assert _q(demo_db, "SELECT count(*) FROM outbox WHERE entity = 'case_rule'") == [(1,)]
    out = _kiosk(demo_db, "cases", "require-photo", "nonsense", "on", who=SUPERVISOR)
    assert out.returncode == 2 and "urban" in out.stderr

    out = _kiosk(
        demo_db, "cases", "add", "--household", hid, "--category", "roof_leak", "--summary", "漏雨"
    )
    assert out.returncode == 0, out.stderr
    cid = out.stdout.strip()
    events = _q(demo_db, "SELECT count(*) FROM case_events")
    out = _kiosk(demo_db, "cases", "act", cid, "resolve", "--note", "已补漏")
    assert out.returncode == 3
    assert t("cases.rule.after_photo_required", group="城建城管执法") in out.stderr
    assert _q(demo_db, "SELECT count(*) FROM case_events") == events  # nothing written
    out = _kiosk(demo_db, "cases", "act", cid, "progress", "--note", "已联系物业")
    assert out.returncode == 0, out.stderr  # only resolving needs it

    after = write_phone_jpeg(tmp_path / "IMG_0002.JPG")
    out = _kiosk(
        demo_db, "cases", "act", cid, "resolve", "--note", "已补漏", "--photo", str(after), "--json"
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["status"] == "resolved"
    assert [p["event_type"] for p in doc["photos"]] == ["resolve"]


def test_cli_only_the_supervisors_community_and_the_administrator_names_one(demo_db):
    out = _kiosk(
        demo_db, "cases", "require-photo", "urban", "on", "--community", "别的社区", who=SUPERVISOR
    )
    assert out.returncode == 3, out.stderr
    out = _kiosk(demo_db, "cases", "require-photo", "urban", "on", who=ADMINISTRATOR)
    assert out.returncode == 2 and "--community" in out.stderr
    community = _q(demo_db, "SELECT community FROM grids WHERE code = 'G001'")[0][0]
    out = _kiosk(
        demo_db, "cases", "require-photo", "urban", "on", "--community", community,
        who=ADMINISTRATOR,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    out = _kiosk(demo_db, "cases", "require-photo", "urban", who=SUPERVISOR)
    assert out.returncode == 2 and "on" in out.stderr
    assert _q(demo_db, "SELECT community, after_photo FROM case_rules") == [(community, 1)]


# --- the screen ---------------------------------------------------------------------------
async def test_the_resolve_form_says_on_its_photos_field_that_a_photo_is_needed(runtime, tmp_path):
    from textual.widgets import Input, Label, Static

    from db.workers import worker_by_name
    from kiosk.demo.district import DEMO_ACCOUNTS
    from screens.cases.case_action import CaseActionScreen
    from screens.cases.case_detail import CaseDetailScreen
    from tests.pilot_helpers import settle, signed_in_app

    conn, ctx = runtime.conn, runtime.ctx
    with acting_as(runtime, SUPERVISOR), transaction(conn):
        set_after_photo(ctx, _community(conn), "urban", True)
        cid = register_case(
            ctx, household_ids=[_household(conn)], category="sewer", summary="下水堵"
        )
    events = conn.execute("SELECT count(*) FROM case_events").fetchone()[0]
    photo = write_phone_jpeg(tmp_path / "IMG_9.JPG", width=800, height=600)
    with acting_as(runtime, SUPERVISOR):
        app = signed_in_app(runtime, worker_by_name(conn, DEMO_ACCOUNTS["supervisor"][0]))
        async with app.run_test(size=(100, 40)) as pilot:
            await app.push_screen(CaseDetailScreen(cid))
            await settle(app, pilot)
            await pilot.press("s")  # resolve
            await settle(app, pilot)
            form = app.screen
            assert isinstance(form, CaseActionScreen)
            # the form says so before the worker saves
            label = str(form.query_one("#f-photos-label", Label).render())
            assert label == t("photos.ui.label_required")
            await pilot.press(*"已疏通")
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert app.screen is form  # stays open, says what is wrong and what to do
            said = str(form.query_one("#action-error", Static).render())
            assert said == t("cases.rule.after_photo_required", group="城建城管执法")
            photos = form.query_one("#f-photos", Input)
            assert photos.has_class("-invalid") and photos.has_focus
            assert form.query_one("#f-note", Input).value == "已疏通"  # what was typed stays
            assert conn.execute("SELECT count(*) FROM case_events").fetchone()[0] == events
            photos.value = str(photo)
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            await app.workers.wait_for_complete()
            await settle(app, pilot)
            assert isinstance(app.screen, CaseDetailScreen)
    detail = get_case(conn, cid)
    assert detail is not None and detail.state.status == "resolved"
    assert [(p.event_type, p.width) for p in detail.photos] == [("resolve", 800)]


async def test_the_supervisor_switches_the_rule_on_the_case_rules_screen(runtime):
    from db.workers import worker_by_name
    from kiosk.demo.district import DEMO_ACCOUNTS
    from screens.cases.case_list import CasesScreen
    from screens.cases.case_rules import CaseRulesScreen
    from screens.widgets.result_list import ResultList
    from tests.pilot_helpers import settle, signed_in_app

    conn = runtime.conn
    community = _community(conn)
    with acting_as(runtime, SUPERVISOR):
        app = signed_in_app(runtime, worker_by_name(conn, DEMO_ACCOUNTS["supervisor"][0]))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f3")
            await settle(app, pilot)
            assert isinstance(app.screen, CasesScreen)
            await pilot.press("p")
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, CaseRulesScreen)
            rows = screen.query_one("#rules-list", ResultList)
            assert rows.get_row_at(0)[0].strip() == "城建城管执法"
            assert t("cases.rules.none") in rows.get_row_at(0)[1]
            await pilot.press("space")
            await settle(app, pilot)
            assert t("cases.rules.after_photo") in rows.get_row_at(0)[1]
            assert after_photo_groups(conn, community) == {"urban"}
            await pilot.press("down", "enter")  # Enter switches too: 民生服务
            await settle(app, pilot)
            assert rows.cursor_row == 1
            assert after_photo_groups(conn, community) == {"urban", "livelihood"}
            await pilot.press("space")
            await settle(app, pilot)
            assert after_photo_groups(conn, community) == {"urban"}


async def test_a_grid_worker_is_not_offered_the_case_rules(runtime):
    from screens.cases.case_list import CasesScreen
    from tests.pilot_helpers import settle, signed_in_app

    app = signed_in_app(runtime)  # the demo's grid worker
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.worker.role == "worker"
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, CasesScreen)
        assert app.screen.check_action("case_rules", ()) is not True
        await pilot.press("p")
        await settle(app, pilot)
        assert isinstance(app.screen, CasesScreen)
    assert runtime.conn.execute("SELECT count(*) FROM case_rules").fetchone()[0] == 0

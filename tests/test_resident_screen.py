"""The resident self-service counter under Pilot: a printed slip scanned (Caps Lock too), the
case shown without anyone's personal data, a 不满意 that reopens the case, reprinted and
revoked slips refused, the idle reset that forgets, the keys that do nothing, and the
administrator's PIN that ends it."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input, Select, Static

from db.cases import append_event, register_case
from db.connection import transaction
from db.labels import ensure_case_slip, reprint_case_slip, revoke_case_slip
from db.workers import create_worker
from kiosk.qr.payload import make
from tests.conftest import DEMO_PINS, SUPERVISOR, acting_as
from tests.pilot_helpers import settle, until
from tests.qr_helpers import wedge

SIZE = (100, 40)


@pytest.fixture
def counter(runtime):
    community = runtime.conn.execute("SELECT community FROM grids WHERE code = 'G001'").fetchone()[
        0
    ]
    with acting_as(runtime, "演示管理员"), transaction(runtime.conn):
        return create_worker(runtime.ctx, "一号柜台", "kiosk", community=community)


@pytest.fixture
def case(runtime):
    """A resolved case of G001 awaiting its rating: (id, number, the household's address)."""
    conn = runtime.conn
    hid, head = conn.execute(
        "SELECT h.id, h.head_name FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1"
    ).fetchone()
    with acting_as(runtime, SUPERVISOR), transaction(conn):
        cid = register_case(
            runtime.ctx,
            household_ids=[hid],
            category="street_lights",
            summary=f"{head}反映路灯不亮",
            raised_by=head,
        )
        append_event(runtime.ctx, cid, "assign", {"department": "市政路灯所", "due": "2099-03-01"})
        append_event(runtime.ctx, cid, "resolve", {"note": f"{head}家门口的灯已换"})
    number = conn.execute("SELECT number FROM cases WHERE id = ?", (cid,)).fetchone()[0]
    return cid, number, head


def _slip(runtime, cid) -> str:
    with acting_as(runtime, SUPERVISOR), transaction(runtime.conn):
        return make("CS", ensure_case_slip(runtime.ctx, cid).code).text


def _app(runtime, counter, **kwargs):
    from kiosk.app.resident import ResidentApp

    return ResidentApp(runtime, counter, **kwargs)


def _texts(app) -> str:
    """Everything every screen of the app shows in its text widgets (the kept slip screen
    too, on the stack or not)."""
    out = []
    kept = [app.slip_screen] if app.slip_screen is not None else []
    for screen in [*app.screen_stack, *kept]:
        for widget in screen.query(Static):
            out.append(str(widget.render()))
        for field in screen.query(Input):
            out.append(field.value)
    return "\n".join(out)


def _message(app) -> str:
    return str(app.screen.query_one("#resident-message", Static).render())


def _audit(runtime, action):
    return [
        json.loads(r[0] or "{}")
        for r in runtime.conn.execute(
            "SELECT detail FROM audit WHERE action = ? ORDER BY rowid", (action,)
        )
    ]


async def _scan(app, pilot, payload: str):
    await wedge(app, pilot, payload)
    await settle(app, pilot)


async def test_a_printed_slip_shows_its_case_and_nothing_personal(runtime, counter, case, tmp_path):
    from kiosk.qr.fonts import font_for
    from kiosk.qr.printing import print_case_slip
    from screens.resident.slip import SlipScreen
    from screens.resident.welcome import WelcomeScreen
    from tests.test_labels_pdf import decode_pdf

    cid, number, head = case

    def write(fn):
        with acting_as(runtime, SUPERVISOR), transaction(runtime.conn):
            return fn(runtime.ctx)

    out = tmp_path / "slip.pdf"
    print_case_slip(runtime.conn, write, cid, out, font_for(runtime.settings))
    (payload,) = decode_pdf(out)[0]  # what the scanner reads off the paper
    app = _app(runtime, counter)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert "请扫描您的事项回执" in _texts(app)
        for typed in (payload, payload.lower()):  # as typed with Caps Lock on, too
            await _scan(app, pilot, typed)
            await until(pilot, lambda: isinstance(app.screen, SlipScreen))
            shown = _texts(app)
            for expected in (number, "路灯", "已办结", "市政路灯所", "2099-03-01"):
                assert expected in shown, expected
            for step in ("挂号", "交办", "办结"):
                assert step in str(app.screen.query_one("#slip-steps", Static).render())
            assert head not in shown  # nobody's name: not the summary, the notes, the raiser
            assert "已换" not in shown and "反映" not in shown
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
    lookups = _audit(runtime, "lookup")
    assert [d.get("via") for d in lookups[-2:]] == ["resident", "resident"]
    assert all("refused" not in d for d in lookups[-2:])


async def test_a_dissatisfied_resident_reopens_the_case(runtime, counter, case):
    from screens.resident.slip import SlipScreen

    cid, number, _ = case
    app = _app(runtime, counter)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await _scan(app, pilot, _slip(runtime, cid))
        await until(pilot, lambda: isinstance(app.screen, SlipScreen))
        await pilot.press("3")
        assert app.screen.query_one("#slip-comment", Input).has_focus
        await pilot.press(*"still dark", "enter")
        await settle(app, pilot)
        await until(pilot, lambda: "重新办理" in _message(app))
        assert "推进中" in str(app.screen.query_one("#slip-facts", Static).render())
    row = runtime.conn.execute(
        "SELECT s.status, s.reopen_count, e.data, e.worker_id FROM case_state s"
        " JOIN case_events e ON e.case_id = s.case_id AND e.type = 'rate' WHERE s.case_id = ?",
        (cid,),
    ).fetchone()
    assert (row[0], row[1], row[3]) == ("in_progress", 1, counter.id)
    assert json.loads(row[2]) == {
        "rating": "dissatisfied",
        "source": "resident kiosk",
        "note": "still dark",
    }
    # the operation waits in the outbox for the next sync, like any worker's rating
    assert runtime.conn.execute(
        "SELECT count(*) FROM outbox WHERE entity = 'case_event'"
    ).fetchone()[0]


async def test_a_reprinted_or_revoked_slip_is_refused(runtime, counter, case):
    from screens.resident.welcome import WelcomeScreen

    cid, number, _ = case
    old = _slip(runtime, cid)
    with acting_as(runtime, SUPERVISOR), transaction(runtime.conn):
        new = make("CS", reprint_case_slip(runtime.ctx, cid).code).text
    app = _app(runtime, counter)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await _scan(app, pilot, old)
        await until(pilot, lambda: "已重新打印" in _message(app))
        assert isinstance(app.screen, WelcomeScreen) and number not in _texts(app)
        with acting_as(runtime, SUPERVISOR), transaction(runtime.conn):
            revoke_case_slip(runtime.ctx, cid)
        await _scan(app, pilot, new)
        await until(pilot, lambda: "已作废" in _message(app) and "重新打印" not in _message(app))
        assert isinstance(app.screen, WelcomeScreen) and number not in _texts(app)
    refused = [d.get("refused") for d in _audit(runtime, "lookup")[-2:]]
    assert refused == ["resident.refused.superseded", "resident.refused.revoked"]


async def test_idle_returns_to_the_welcome_and_forgets_the_case(runtime, counter, case):
    from screens.resident.slip import SlipScreen
    from screens.resident.welcome import WelcomeScreen

    cid, number, _ = case
    app = _app(runtime, counter, idle_seconds=1.5)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await _scan(app, pilot, _slip(runtime, cid))
        await until(pilot, lambda: isinstance(app.screen, SlipScreen))
        await pilot.press("1")  # a rating begun, then the resident walks away
        assert number in _texts(app)
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await settle(app, pilot)
        assert len(app.screen_stack) == 2  # Textual's default screen and the welcome
        assert number not in _texts(app) and "路灯" not in _texts(app)
        assert app.slip_screen.view is None and not app.screen.query("#slip-number")
    assert (
        runtime.conn.execute(
            "SELECT count(*) FROM case_events WHERE case_id = ? AND type = 'rate'", (cid,)
        ).fetchone()[0]
        == 0
    )


async def test_ctrl_q_ctrl_c_and_the_palette_do_nothing(runtime, counter):
    from textual.command import CommandPalette

    from screens.resident.welcome import WelcomeScreen

    app = _app(runtime, counter)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for key in ("ctrl+q", "ctrl+c", "ctrl+p", "ctrl+backslash"):
            await pilot.press(key)
            await settle(app, pilot)
            assert app.is_running and app.return_code is None, key
            assert isinstance(app.screen, WelcomeScreen), key
            assert not isinstance(app.screen, CommandPalette)


async def _admin(app, pilot, name, pin):
    await pilot.press("f10")
    await until(pilot, lambda: app.screen.query("#admin-name"))
    app.screen.query_one("#admin-name", Input).value = name
    await pilot.press("enter", *pin, "enter")
    await settle(app, pilot)


async def test_an_administrators_pin_ends_the_counter_and_nothing_else_does(runtime, counter):
    from screens.resident.admin_exit import AdminExitScreen

    app = _app(runtime, counter)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await _admin(app, pilot, "演示管理员", "135799")  # wrong PIN
        await until(pilot, lambda: "不正确" in str(app.screen.query_one("#admin-status").render()))
        assert app.is_running and isinstance(app.screen, AdminExitScreen)
        await pilot.press("escape")
        await _admin(app, pilot, SUPERVISOR, DEMO_PINS[SUPERVISOR])  # right PIN, not an admin
        await until(
            pilot, lambda: "不是管理员" in str(app.screen.query_one("#admin-status").render())
        )
        assert app.is_running
        await pilot.press("escape")
        await _admin(app, pilot, "演示管理员", DEMO_PINS["演示管理员"])
        await until(pilot, lambda: not app.is_running)
    assert app.return_code == 0
    failed = runtime.conn.execute(
        "SELECT count(*) FROM audit WHERE action = 'signin_failed'"
    ).fetchone()[0]
    assert failed == 1
    assert (
        runtime.conn.execute(
            "SELECT count(*) FROM audit a JOIN workers w ON w.id = a.worker_id"
            " WHERE a.action = 'resident_exit' AND w.name = '演示管理员'"
        ).fetchone()[0]
        == 1
    )


async def test_an_anonymous_suggestion_by_category(runtime, counter):
    from screens.resident.suggest import SuggestionScreen
    from screens.resident.welcome import WelcomeScreen

    app = _app(runtime, counter)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, SuggestionScreen))
        app.screen.query_one("#suggest-category", Select).value = "street_lights"
        await pilot.pause()
        assert app.screen.query_one("#suggest-text", Input).has_focus
        await pilot.press(*"more lights please", "enter")
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        assert "谢谢" in _message(app)
    row = runtime.conn.execute(
        "SELECT category, text, anonymous, raised_by, worker_id FROM feedback"
        " ORDER BY created_at DESC LIMIT 1"
    ).fetchone()
    assert tuple(row) == ("street_lights", "more lights please", 1, "", counter.id)

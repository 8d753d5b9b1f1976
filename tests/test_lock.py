"""The lock screen: after the idle time or on Ctrl+L it covers everything, opaque,
with only who is signed in and a PIN field; the same worker's PIN brings back the very
screen they were on; "switch worker" signs out; a half-typed visit survives either."""

from __future__ import annotations

import html
import json
import re
import time

from textual.widgets import Input, Static

from db.drafts import load_draft
from db.households import get_household
from db.workers import worker_by_name
from kiosk.demo.district import DEMO_ACCOUNTS
from kiosk.domain import present
from tests.pilot_helpers import settle, signed_in_app, until

GRID_WORKER, GRID_PIN = DEMO_ACCOUNTS["worker"]


def frame_text(app) -> str:
    """The characters of the frame on the terminal now (the app's own screenshot, as text)."""
    svg = app.export_screenshot()
    text = html.unescape(re.sub(r"<[^>]+>", "", svg.split("</style>")[-1]))
    return text.replace("\xa0", " ")


def widget_text(screen) -> str:
    """Everything the widgets of ``screen`` would draw (shown or not)."""
    return "\n".join(str(w.render()) for w in screen.query("*") if hasattr(w, "render"))


def household_with_phone(runtime):
    hid = runtime.conn.execute(
        "SELECT m.household_id FROM members m JOIN households h ON h.id = m.household_id"
        " JOIN grids g ON g.id = h.grid_id WHERE m.phone != '' AND g.code IN ({})"
        " LIMIT 1".format(",".join("?" * len(runtime.worker.grids))),
        list(runtime.worker.grids),
    ).fetchone()[0]
    h = get_household(runtime.conn, hid)
    m = next(m for m in h.members if m.phone)
    return hid, m.name, str(present.member_row(m)["phone"]), m.phone


def make_app(runtime, **kwargs):

    worker = worker_by_name(runtime.conn, GRID_WORKER)
    runtime.worker = worker
    return signed_in_app(runtime, worker, lock_seconds=0, **kwargs)


async def test_idle_lock_hides_the_household_and_the_pin_brings_it_back(runtime):
    from screens.households.household import HouseholdScreen
    from screens.signin.lock import LockScreen

    app = make_app(runtime)
    hid, name, masked, phone = household_with_phone(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        household = app.screen
        assert masked in frame_text(app) and name in frame_text(app)  # the control
        app.lock_seconds = 0.3  # from now on, idle for 0.3 s locks
        started = time.monotonic()
        await until(pilot, lambda: isinstance(app.screen, LockScreen))
        assert time.monotonic() - started < 0.3 + 1.0  # within a second of the timeout
        await pilot.pause()
        shown, drawn = frame_text(app), widget_text(app.screen)
        for secret in (masked, phone, phone[-4:], name):
            assert secret not in shown and secret not in drawn, secret
        assert GRID_WORKER in shown and "已锁定" in shown
        assert app.screen.styles.background.a == 1  # opaque: nothing below shows through
        assert app.screen_stack[-2] is household  # still there, underneath
        # the keys of the app do nothing under the lock
        for key in ("f1", "f2", "f3", "escape", "ctrl+p", "ctrl+l"):
            await pilot.press(key)
            await settle(app, pilot)
            assert isinstance(app.screen, LockScreen), key
        app.lock_seconds = 0  # the test types slowly on a busy machine
        await pilot.press(*GRID_PIN, "enter")
        await settle(app, pilot)
        await until(pilot, lambda: app.screen is household)
        assert masked in frame_text(app)
    reasons = [
        (json.loads(d)["reason"], w)
        for w, d in runtime.conn.execute(
            "SELECT worker_id, detail FROM audit WHERE action = 'lock'"
        )
    ]
    assert reasons == [("idle", runtime.worker.id)]
    assert (
        runtime.conn.execute(
            "SELECT count(*) FROM audit WHERE action = 'unlock' AND worker_id = ?",
            (runtime.worker.id,),
        ).fetchone()[0]
        == 1
    )


async def test_ctrl_l_locks_wrong_pins_count_and_notifications_wait(runtime):
    from screens.households.home import HomeScreen
    from screens.signin.lock import LockScreen

    app = make_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        assert isinstance(app.screen, LockScreen) and app.locked
        assert app.screen.query_one("#gate-pin", Input).has_focus
        app.notify("张三 的走访已保存")  # something finishing under the lock ...
        await pilot.pause()
        assert "张三" not in frame_text(app)  # ... is not shown over it
        await pilot.press(*"000001", "enter")
        await settle(app, pilot)
        assert str(app.screen.query_one("#gate-status", Static).render()) == "姓名或 PIN 不正确。"
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*GRID_PIN, "enter")
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert any("张三" in n.message for n in app._notifications)  # shown now
    failures = runtime.conn.execute("SELECT detail FROM audit WHERE action = 'signin_failed'")
    assert [json.loads(d) for (d,) in failures] == [{"reason": "signin_wrong", "unlock": True}]


async def test_a_visit_typed_before_the_lock_survives_it_and_switching_worker(runtime):
    from screens.signin.lock import LockScreen
    from screens.signin.signin import SignInScreen
    from screens.visits.visit_form import VisitFormScreen

    hid = household_with_phone(runtime)[0]
    app = make_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(VisitFormScreen(hid))
        await settle(app, pilot)
        form = app.screen
        form.query_one("#visit-met-other").focus()
        await pilot.press(*"Li Ming")
        await settle(app, pilot)
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*GRID_PIN, "enter")
        await settle(app, pilot)
        await until(pilot, lambda: app.screen is form)
        assert form.query_one("#visit-met-other", Input).value == "Li Ming"  # as it was
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        await pilot.press("ctrl+o")  # switch worker
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, SignInScreen))
        assert app.worker is None and not app.locked and runtime.ctx.worker_id is None
        assert app.current_mode == "signin" and set(app._screen_stacks) == {"signin"}
        assert app.screen.query_one("#signin-name", Input).value == GRID_WORKER  # offered
        await pilot.press("f1")
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
    draft = load_draft(runtime.conn, f"visit:{hid}")
    assert draft is not None and draft.payload["met_other"] == "Li Ming"
    reasons = [
        json.loads(d)["reason"]
        for (d,) in runtime.conn.execute(
            "SELECT detail FROM audit WHERE action = 'lock' ORDER BY seq"
        )
    ]
    assert reasons == ["key", "key", "sign_out"]


async def test_lock_minutes_setting_and_zero_never_locks(runtime, monkeypatch):
    from kiosk.core.config import load_settings

    monkeypatch.setenv("KIOSK_LOCK_MINUTES", "0.5")
    assert load_settings().lock_minutes == 0.5
    runtime.settings.lock_minutes = 0.5
    app = signed_in_app(runtime)
    assert app.lock_seconds == 30
    runtime.settings.lock_minutes = 0
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.lock_seconds == 0 and app._idle_timer is None


async def test_a_screen_closing_itself_under_the_lock_does_not_lift_it(runtime):
    """A save that finishes after the lock came up closes its form (``dismiss``): the form
    goes from under the lock screen, which stays."""
    from screens.households.household import HouseholdScreen
    from screens.signin.lock import LockScreen
    from screens.visits.visit_form import VisitFormScreen

    hid = household_with_phone(runtime)[0]
    app = make_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        household = app.screen
        closed: list[object] = []
        await app.push_screen(VisitFormScreen(hid), closed.append)
        await settle(app, pilot)
        form = app.screen
        await pilot.press("ctrl+l")
        await settle(app, pilot)
        form.dismiss("saved")  # as its save handler does
        await settle(app, pilot)
        assert isinstance(app.screen, LockScreen) and app.locked
        assert form not in app.screen_stack and app.screen_stack[-2] is household
        assert closed == ["saved"]
        await pilot.press(*GRID_PIN, "enter")
        await settle(app, pilot)
        await until(pilot, lambda: app.screen is household)


async def test_a_scan_while_locked_says_unlock_first_and_never_reaches_the_pin(runtime):
    """At 80x24: a label scanned at the lock screen opens nothing, leaves nothing in the PIN
    field (its digits would be a wrong PIN) and the lock screen says to unlock first."""
    from qr_helpers import wedge

    from db.connection import transaction
    from db.labels import ensure_household_label
    from kiosk.qr.payload import make
    from screens.households.home import HomeScreen
    from screens.signin.lock import LockScreen

    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    with transaction(runtime.conn):
        label = ensure_household_label(runtime.ctx, hid)
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, LockScreen))
        for text in (make("HH", label.code).text, make("HH", label.code).text.lower()):
            await wedge(app, pilot, text)
            await settle(app, pilot)
            assert isinstance(app.screen, LockScreen) and len(app.screen_stack) == 2
            assert app.screen.query_one("#gate-pin", Input).value == ""
            status = str(app.screen.query_one("#gate-status", Static).render())
            assert "解锁" in status and "扫码" in status
        failures = runtime.conn.execute("SELECT count(*) FROM signin_failures").fetchone()[0]
        assert failures == 0
        await pilot.press(*GRID_PIN, "enter")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))


async def test_ctrl_o_and_the_palette_lock_or_hand_the_laptop_over_from_anywhere(runtime):
    from kiosk.app.palette import kiosk_commands
    from screens.households.household import HouseholdScreen
    from screens.signin.lock import LockScreen
    from screens.signin.signin import SignInScreen

    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = make_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        commands = {c.title: c for c in kiosk_commands(app)}
        assert {"锁屏", "切换工作人员"} <= set(commands)
        commands["锁屏"].callback()
        await until(pilot, lambda: isinstance(app.screen, LockScreen))
        await pilot.press(*GRID_PIN, "enter")
        await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
        await pilot.press("ctrl+o")  # from the household screen, not only the lock screen
        await until(pilot, lambda: isinstance(app.screen, SignInScreen))
        assert app.worker is None
        assert app.screen.query_one("#signin-name", Input).value == GRID_WORKER  # offered

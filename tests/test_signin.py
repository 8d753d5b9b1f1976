"""Signing in: the app opens on the sign-in screen, nothing else is reachable before
a worker signs in with name and PIN; wrong PINs are counted and delayed, disabled workers
refused; the interface refuses actions outside the worker's role, saying so."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input, OptionList, Static

from db.connection import transaction
from db.context import get_meta
from db.workers import set_disabled, worker_by_name
from kiosk.demo.district import DEMO_ACCOUNTS
from kiosk.security.session import LAST_WORKER, match_names, name_keys
from tests.conftest import acting_as
from tests.pilot_helpers import settle, signed_in_app, until

GRID_WORKER, GRID_PIN = DEMO_ACCOUNTS["worker"]
SUPERVISOR, SUPERVISOR_PIN = DEMO_ACCOUNTS["supervisor"]
ADMIN, ADMIN_PIN = DEMO_ACCOUNTS["admin"]


def status(app) -> str:
    return str(app.screen.query_one("#gate-status", Static).render())


def audit(conn, action: str) -> list:
    return conn.execute(
        "SELECT worker_id, entity_id, detail FROM audit WHERE action = ? ORDER BY seq", (action,)
    ).fetchall()


def start(runtime):
    """What ``kiosk`` does (kiosk.cli.run.start_app): the real path, with sign-in."""
    from kiosk.cli.run import start_app

    app = start_app(runtime)
    seen: list[str] = []  # notifications expire; a slow machine can outlast them
    notify = app.notify

    def recording(message, *args, **kwargs):  # type: ignore[no-untyped-def]
        if app.gate_open:
            seen.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = recording  # type: ignore[method-assign]
    app.seen_messages = seen  # type: ignore[attr-defined]
    return app


def empty_name_field(app) -> Input:
    """The name field, emptied, with the cursor in it (the last worker may be filled in)."""
    field = app.screen.query_one("#signin-name", Input)
    field.focus()
    field.value = ""
    return field


async def sign_in(app, pilot, name: str, pin: str) -> None:
    """Type a name (replacing what is there) and a PIN like a person, and wait for the answer."""
    empty_name_field(app)
    await pilot.press(*name)
    await pilot.press("enter")  # the name is complete: on to the PIN
    assert app.screen.query_one("#gate-pin", Input).has_focus
    await pilot.press(*pin, "enter")
    await settle(app, pilot)


async def test_kiosk_opens_on_sign_in_and_nothing_else_is_reachable(runtime):
    from screens.households.household import HouseholdScreen
    from screens.signin.signin import SignInScreen

    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        assert app.worker is None and runtime.ctx.worker_id is None
        for key in ("f1", "f2", "f3", "f4", "f5", "f7", "f8", "f9", "ctrl+p", "ctrl+l"):
            await pilot.press(key)
            await settle(app, pilot)
            assert isinstance(app.screen, SignInScreen), key
            assert app.current_mode == "signin", key
        # nor from code: a screen with personal data, a mode, the palette
        await app.push_screen(HouseholdScreen(hid))
        app.switch_mode("households")
        app.action_command_palette()
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        assert len(app.screen_stack) == 1
        assert app.screen.query_one("#signin-name", Input).has_focus  # nobody offered yet


async def test_a_scanned_label_opens_nothing_before_sign_in(runtime):
    from qr_helpers import wedge

    from db.labels import ensure_household_label
    from kiosk.qr.payload import make
    from screens.signin.signin import SignInScreen

    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    with transaction(runtime.conn):
        label = ensure_household_label(runtime.ctx, hid)
    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await wedge(app, pilot, make("HH", label.code).text)
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen) and len(app.screen_stack) == 1


async def test_sign_in_with_name_and_pin_opens_the_workers_home(runtime):
    from screens.households.home import HomeScreen

    conn = runtime.conn
    worker = worker_by_name(conn, GRID_WORKER)
    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await sign_in(app, pilot, GRID_WORKER, GRID_PIN)
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await settle(app, pilot)
        assert app.worker == worker and runtime.worker == worker
        assert runtime.ctx.worker_id == worker.id
        assert app.current_mode == "home"
        head = str(app.screen.query_one("#home-head", Static).render())
        assert GRID_WORKER in head
        assert app.screen.query_one("#home-table").row_count > 0
        assert "signin" not in app._screen_stacks  # the sign-in screen is gone, PIN field too
        await pilot.press("f2")  # and now the modes open
        await settle(app, pilot)
        assert app.current_mode == "households"
    assert [(w, e) for w, e, _ in audit(conn, "signin")] == [(worker.id, worker.id)]
    assert get_meta(conn, LAST_WORKER) == worker.id


async def test_names_match_by_beginning_pinyin_and_initials(runtime):
    index = name_keys([worker_by_name(runtime.conn, n) for n in (GRID_WORKER, SUPERVISOR)])
    assert [k.name for k in match_names(index, "演示")] == [SUPERVISOR, GRID_WORKER]
    assert [k.name for k in match_names(index, "yanshiw")] == [GRID_WORKER]
    assert [k.name for k in match_names(index, "YSZ")] == [SUPERVISOR]
    assert match_names(index, "") == [] and match_names(index, "zzz") == []

    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await until(pilot, lambda: app.screen._names is not None)
        await pilot.press(*"yszg")
        names = app.screen.query_one("#signin-names", OptionList)
        assert names.display and names.option_count >= 1
        assert names.get_option_at_index(0).id == SUPERVISOR
        await pilot.press("enter")  # takes the highlighted name, moves to the PIN
        assert app.screen.query_one("#signin-name", Input).value == SUPERVISOR
        assert app.screen.query_one("#gate-pin", Input).has_focus
        assert not names.display


async def test_tab_takes_the_highlighted_name_like_enter(runtime):
    """ "ysw", Tab, the PIN: signed in as 演示网格员, and no failed attempt counted (Tab used to
    leave "ysw" in the field and the PIN was checked against nobody), at 80x24."""
    from screens.households.home import HomeScreen

    app = start(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await until(pilot, lambda: app.screen._names is not None)
        await pilot.press(*"ysw")
        assert app.screen.query_one("#signin-names", OptionList).display
        await pilot.press("tab")
        assert app.screen.query_one("#signin-name", Input).value == GRID_WORKER
        assert app.screen.query_one("#gate-pin", Input).has_focus
        await pilot.press("shift+tab")  # back to the name: Tab with no list moves on
        assert app.screen.query_one("#signin-name", Input).has_focus
        await pilot.press("tab", *GRID_PIN, "enter")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
    assert runtime.conn.execute("SELECT count(*) FROM signin_failures").fetchone()[0] == 0


async def test_wrong_pin_is_counted_then_delayed_and_not_checked(runtime, monkeypatch):
    import kiosk.security.auth
    from screens.signin.signin import SignInScreen

    conn = runtime.conn
    worker = worker_by_name(conn, GRID_WORKER)
    checked: list[int] = []
    verify = kiosk.security.auth.verify_pin

    def counting_verify(pin_hash, pin):  # type: ignore[no-untyped-def]
        checked.append(1)
        return verify(pin_hash, pin)

    monkeypatch.setattr(kiosk.security.auth, "verify_pin", counting_verify)
    outbox = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        for n in (1, 2):
            await sign_in(app, pilot, GRID_WORKER, "000001")
            assert status(app) == "姓名或 PIN 不正确。", n
            assert app.screen.query_one("#gate-pin", Input).value == ""
            assert (
                conn.execute(
                    "SELECT failures FROM signin_failures WHERE worker_id = ?", (worker.id,)
                ).fetchone()[0]
                == n
            )
        await sign_in(app, pilot, GRID_WORKER, "000001")  # the third: from now on, a wait
        assert "请 5 秒后再试" in status(app) or "请 4 秒后再试" in status(app)
        assert len(checked) == 3
        await sign_in(app, pilot, GRID_WORKER, GRID_PIN)  # the right PIN, but too soon
        assert "秒后再试" in status(app)
        assert len(checked) == 3  # not even checked
        assert isinstance(app.screen, SignInScreen) and app.worker is None
        # an unknown name reads exactly like a wrong PIN: names cannot be probed
        await sign_in(app, pilot, "没有这个人", "000001")
        assert status(app) == "姓名或 PIN 不正确。"
        # a PIN too short to be one is refused at once, neither checked nor counted
        await sign_in(app, pilot, SUPERVISOR, "123")
        assert "6 到 12 位" in status(app) and len(checked) == 3
    failed = audit(conn, "signin_failed")
    assert [json.loads(d)["reason"] for _, _, d in failed] == [
        "signin_wrong",
        "signin_wrong",
        "signin_wrong_wait",
        "signin_wait",
        "signin_wrong",
    ]
    assert [w for w, _, _ in failed] == [None] * 5  # nobody was signed in
    assert [e for _, e, _ in failed] == [worker.id] * 4 + [None]
    text = json.dumps([list(r) for r in failed], ensure_ascii=False)
    assert "000001" not in text and GRID_PIN not in text and "没有这个人" not in text
    assert audit(conn, "signin") == []
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == outbox  # nothing synced


async def test_a_pin_that_cannot_be_one_puts_the_cursor_in_the_pin_field(runtime):
    """Sign in pressed with the PIN empty: the status says why, and the cursor waits in the
    PIN field, so the worker at the door types it at once, without finding the field."""
    from screens.households.home import HomeScreen

    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        empty_name_field(app)
        await pilot.press(*GRID_WORKER, "enter")
        app.screen.query_one("#signin-submit").focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert "6 到 12 位" in status(app)
        assert app.screen.query_one("#gate-pin", Input).has_focus
        await pilot.press(*GRID_PIN, "enter")
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))


async def type_in_one_burst(app, pilot, keys: str) -> None:
    """Clear the name field and post ``keys`` as the terminal driver posts them, without
    waiting between them: keys faster than a frame (a quick typist, a remote terminal)."""
    from textual import events

    empty_name_field(app)
    # the workers' names are read 0.3 s after the screen is up: before anyone types
    await until(pilot, lambda: app.screen._names is not None)
    for ch in keys:
        app.post_message(events.Key({"\r": "enter"}.get(ch, ch), ch))


@pytest.mark.parametrize("typed", [GRID_WORKER, "yswgy"])
async def test_a_name_and_pin_typed_in_one_burst_sign_in(runtime, typed):
    """Enter moves the cursor to the PIN only once the keys before it are handled: the PIN's
    digits may already be on their way to the name field. Once the name (or its initials)
    names one worker, they go to the PIN, and the Enter after them signs in."""
    from screens.households.home import HomeScreen

    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await type_in_one_burst(app, pilot, f"{typed}\r{GRID_PIN}\r")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert app.worker is not None and app.worker.name == GRID_WORKER


async def test_a_digit_that_goes_on_a_workers_name_stays_in_the_name(runtime):
    """王芳 and 王芳2 both work here: the 2 after 王芳 is the name going on, not the PIN."""
    from db.workers import create_worker
    from kiosk.security.auth import hash_pin
    from screens.households.home import HomeScreen

    with acting_as(runtime, ADMIN), transaction(runtime.conn):
        for name in ("王芳", "王芳2"):
            create_worker(runtime.ctx, name, "worker", ["G001"], pin_hash=hash_pin("864209"))
    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await type_in_one_burst(app, pilot, "王芳2\r864209\r")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert app.worker is not None and app.worker.name == "王芳2"


async def test_enter_in_the_name_field_submits_only_a_pin_it_handed_on(runtime):
    """A PIN typed in its own field, then Enter back in the name field: the cursor goes to
    the PIN, nothing is checked (only a PIN typed in one go with the name is submitted)."""
    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        name = empty_name_field(app)
        await pilot.press(*GRID_WORKER)
        pin = app.screen.query_one("#gate-pin", Input)
        pin.focus()
        await pilot.press(*GRID_PIN)
        name.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert pin.has_focus and pin.value == GRID_PIN
        assert app.worker is None and status(app) == ""


async def test_a_disabled_worker_is_refused(runtime):
    conn = runtime.conn
    worker = worker_by_name(conn, GRID_WORKER)
    runtime.ctx.worker_id = worker_by_name(conn, "演示管理员").id  # the administrator disables
    with transaction(conn):
        set_disabled(runtime.ctx, worker.id, True)
    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await sign_in(app, pilot, GRID_WORKER, GRID_PIN)
        assert status(app) == f"工作人员 {GRID_WORKER} 已停用，不能登录或操作。请联系管理员。"
        assert app.worker is None
    assert conn.execute("SELECT count(*) FROM signin_failures").fetchone()[0] == 0
    assert [json.loads(d)["reason"] for _, _, d in audit(conn, "signin_failed")] == [
        "worker_disabled"
    ]


async def test_the_last_worker_is_offered_and_their_home_prefetched(runtime):
    from screens.households.home import HomeScreen

    conn = runtime.conn
    worker = worker_by_name(conn, GRID_WORKER)
    with transaction(conn):
        conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (LAST_WORKER, worker.id))
    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        assert app.screen.query_one("#signin-name", Input).value == GRID_WORKER
        assert app.screen.query_one("#gate-pin", Input).has_focus  # only the PIN to type
        # their home is fetched once the screen is up, while they type
        await until(pilot, lambda: app._home_prefetch is not None and app._home_prefetch.done())
        await pilot.press(*GRID_PIN, "enter")
        await settle(app, pilot)
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert app._home_prefetch is None  # taken by the home screen
        assert app.screen.summary is not None


async def test_someone_else_signing_in_drops_the_prefetch(runtime):
    from screens.households.home import HomeScreen

    conn = runtime.conn
    worker = worker_by_name(conn, GRID_WORKER)
    supervisor = worker_by_name(conn, SUPERVISOR)
    with transaction(conn):
        conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (LAST_WORKER, worker.id))
    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await until(pilot, lambda: app._home_prefetch is not None)  # for 演示网格员
        await sign_in(app, pilot, SUPERVISOR, SUPERVISOR_PIN)
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await settle(app, pilot)
        assert app.worker == supervisor and app._home_prefetch is None
        summary = app.screen.summary
        communities = {
            r[0]
            for r in conn.execute(
                f"SELECT community FROM grids WHERE id IN ({','.join('?' * len(summary.grid_ids))})",
                summary.grid_ids,
            )
        }
        assert communities == {supervisor.community}  # the supervisor's community, no other
    assert get_meta(conn, LAST_WORKER) == supervisor.id


# --- roles in the interface -------------------------------------------------------------------
async def test_a_grid_worker_pressing_assign_is_told_who_may(runtime):
    from db.cases import register_case
    from screens.cases.case_detail import CaseDetailScreen

    conn = runtime.conn
    worker = worker_by_name(conn, GRID_WORKER)
    hh = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    with transaction(conn):
        cid = register_case(runtime.ctx, household_ids=[hh], category="sewer", summary="下水堵")
    events = conn.execute("SELECT count(*) FROM case_events").fetchone()[0]
    app = signed_in_app(runtime, worker)
    seen: list[str] = []
    notify = app.notify
    app.notify = lambda m, *a, **k: (seen.append(str(m)), notify(m, *a, **k))  # type: ignore
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        keys = {
            b.binding.key
            for b in app.screen.active_bindings.values()
            if b.enabled and b.binding.show
        }
        assert {"p", "s", "m"} <= keys and not {"a", "e", "c", "u", "f"} & keys  # hidden
        await pilot.press("a")
        await settle(app, pilot)
        assert isinstance(app.screen, CaseDetailScreen)  # no form opened
        assert f"{GRID_WORKER}（网格员）无权交办事项：只有社区主管可以这样做。" in seen
        app.screen.action_act("close")  # the palette's way in: refused the same way
        await settle(app, pilot)
        assert any("无权结案" in m for m in seen)
    assert conn.execute("SELECT count(*) FROM case_events").fetchone()[0] == events


async def test_an_administrator_sees_no_households(runtime):
    from screens.households.home import HomeScreen
    from screens.households.household import HouseholdScreen

    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = start(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await sign_in(app, pilot, ADMIN, ADMIN_PIN)
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await settle(app, pilot)
        assert "管理员不查看住户信息" in str(app.screen.query_one("#home-head").render())
        assert app.screen.query_one("#home-table").row_count == 0
        await pilot.press("f2")
        await settle(app, pilot)
        assert app.current_mode == "home"
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        assert any("无权查找住户" in m for m in app.seen_messages)
        assert any("无权查看住户信息" in m for m in app.seen_messages)
        await pilot.press("f5")  # figures: every role
        await settle(app, pilot)
        assert app.current_mode == "figures"


def test_the_user_guides_role_table_is_kiosk_roles():
    import re
    from pathlib import Path

    from kiosk.security.roles import ADMIN, OVERSIGHT, PERMISSIONS, STREET, SUPERVISOR, WORKER

    guide = (Path(__file__).parent.parent / "docs" / "user-guide.md").read_text("utf-8")
    rows = re.findall(r"^\| [^|]*\(`([a-z._]+)`\) \|(.*)\|$", guide, re.M)
    table = {
        action: frozenset(
            role
            for roles, cell in zip(
                ((WORKER,), (SUPERVISOR,), (ADMIN,), tuple(OVERSIGHT)),
                cells.split("|"),
                strict=True,
            )
            if cell.strip() == "✓"
            for role in roles
        )
        for action, cells in rows
    }
    assert STREET in OVERSIGHT
    assert table == PERMISSIONS


async def test_the_collector_waits_from_the_pins_enter_until_home_has_painted(runtime):
    """A full collection in the middle of a sign-in took 70-320 ms: it is held from the PIN's
    Enter until the home screen's walk list is painted, and runs again after; a wrong PIN
    lets it go at once."""
    import gc

    from kiosk.core import collector
    from screens.households.home import HomeScreen

    collector.release_all()
    assert gc.isenabled()
    seen: dict[str, bool] = {}
    loaded = HomeScreen.on_home_screen_loaded

    def watching(screen, message):  # type: ignore[no-untyped-def]
        seen.setdefault("while home fills", gc.isenabled())
        loaded(screen, message)

    HomeScreen.on_home_screen_loaded = watching  # type: ignore[method-assign]
    app = start(runtime)
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await settle(app, pilot)
            await sign_in(app, pilot, GRID_WORKER, "000001")
            assert status(app) == "姓名或 PIN 不正确。"
            assert gc.isenabled()  # refused: nothing held
            await sign_in(app, pilot, GRID_WORKER, GRID_PIN)
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await until(pilot, lambda: app.screen.query_one("#home-table").row_count > 0)
            await until(pilot, gc.isenabled)  # once the frame with the walk list is painted
    finally:
        HomeScreen.on_home_screen_loaded = loaded  # type: ignore[method-assign]
        collector.release_all()
    assert seen == {"while home fills": False}

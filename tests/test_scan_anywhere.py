"""Scan anywhere: a keyboard-wedge scanner (keys typed fast, then Enter) or a person typing a
label opens the household whatever has focus, and the label never stays in a field."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from qr_helpers import wedge
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from db.connection import transaction
from db.labels import ensure_case_slip, ensure_household_label, reprint_household_label
from kiosk.qr.payload import encode_id, make
from kiosk.qr.wedge import KeyBurst, classify, scanner_prefix
from screens.households.household import HouseholdScreen
from tests.conftest import SUPERVISOR, acting_as
from tests.pilot_helpers import settle, signed_in_app


@pytest.fixture
def runtime(runtime):
    """The community's supervisor sets the scene: cases and visits in both demo grids."""
    with acting_as(runtime, SUPERVISOR):
        yield runtime


SCANNER = 3_600_000  # ms: every key of a test counts as one fast burst, however slow the machine
PERSON = 0  # ms: every key is a new burst, as when a person types


def _app(runtime, gap_ms=SCANNER):

    runtime.settings.scan_key_gap_ms = gap_ms
    app = signed_in_app(runtime)
    # Record every message shown: a notification expires after a few seconds, which a slow
    # machine can outlast before the test reads it.
    seen: list[str] = []
    notify = app.notify

    def recording_notify(message, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = recording_notify  # type: ignore[method-assign]
    app.seen_messages = seen  # type: ignore[attr-defined]
    return app


def _household_with_open_case(conn):
    row = conn.execute(
        "SELECT l.household_id FROM case_households l JOIN case_state s ON s.case_id = l.case_id"
        " WHERE s.status != 'closed' LIMIT 1"
    ).fetchone()
    return row[0]


@pytest.fixture
def label(runtime):
    hid = _household_with_open_case(runtime.conn)
    with transaction(runtime.conn):
        lb = ensure_household_label(runtime.ctx, hid)
    return hid, make("HH", lb.code)


def _messages(app) -> list[str]:
    return list(app.seen_messages)


def _outbox(runtime) -> int:
    return runtime.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]


class FormScreen(Screen):
    """A stand-in for any form: Enter in its field submits it."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(id="note")

    @on(Input.Submitted)
    def save(self, event: Input.Submitted) -> None:
        self.submitted.append(event.value)


class KeyLog(Widget, can_focus=True):
    """A focused widget that is not a text field; it records the keys it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    def on_key(self, event) -> None:
        self.keys.append(event.key)


class KeyScreen(Screen):
    def compose(self) -> ComposeResult:
        yield KeyLog()

    def on_mount(self) -> None:
        self.query_one(KeyLog).focus()


async def test_scan_on_a_list_opens_the_household_cases_first(runtime, label):
    hid, payload = label
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "home-table"
        await pilot.press(*payload.text, "enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, HouseholdScreen) and screen.household_id == hid
        assert screen.has_class("-from-scan")
        body = list(screen.query_one("#household-body").children)
        ids = [w.id for w in body]
        assert ids.index("household-cases") < ids.index("members-table")
        assert (
            screen.query_one("#household-cases").region.y
            < screen.query_one("#members-table").region.y
        )
        assert len(app.screen_stack) == 2  # home, household: Enter did not open a row too
        panel = screen.query_one("#household-cases")
        assert getattr(panel, "cases", None)  # the open cases are on screen


async def test_scan_into_a_form_field_leaves_the_field_and_form_alone(runtime, label):
    hid, payload = label
    app = _app(runtime)
    before = _outbox(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        form = FormScreen()
        await app.push_screen(form)
        field = form.query_one(Input)
        field.focus()
        await pilot.press(*"3-2")
        await wedge(app, pilot, payload.text.lower())
        await settle(app, pilot)
        assert field.value == "3-2"
        assert form.submitted == []
        assert isinstance(app.screen, HouseholdScreen) and app.screen.household_id == hid
    assert _outbox(runtime) == before  # nothing written


async def test_scan_into_the_search_box_restores_the_query(runtime, label):
    hid, payload = label
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        search = app.screen.query_one("#search-input", Input)
        await wedge(app, pilot, "zh", enter=False)  # typed fast too, right before the scan
        app.scanner.burst.clear()
        await wedge(app, pilot, payload.text)
        await settle(app, pilot)
        assert isinstance(app.screen, HouseholdScreen) and app.screen.household_id == hid
        assert search.value == "zh"
        # the same, keys delivered one by one with the app idle in between
        await app.pop_screen()
        await pilot.press(*payload.text, "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HouseholdScreen) and search.value == "zh"


async def test_code_typed_by_hand_in_the_search_box(runtime, label):
    hid, payload = label
    app = _app(runtime, PERSON)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        search = app.screen.query_one("#search-input", Input)
        typed = payload.readable.lower().replace("-", " ")
        await pilot.press(*typed)
        assert search.value == typed  # a person sees what they type
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, HouseholdScreen) and app.screen.household_id == hid
        assert search.value == ""


async def test_damaged_scan_is_refused_with_a_message(runtime, label):
    _, payload = label
    flipped = payload.text[:-1] + ("0" if payload.text[-1] != "0" else "1")
    app = _app(runtime)
    before = _outbox(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        form = FormScreen()
        await app.push_screen(form)
        form.query_one(Input).focus()
        await wedge(app, pilot, flipped)
        await settle(app, pilot)
        assert app.screen is form and form.submitted == []
        assert form.query_one(Input).value == ""
        assert any("不是有效的标签" in m for m in _messages(app))
        # truncated, typed slowly by a person: stays in the field to be corrected
        app.scanner.burst.gap = 0
        await pilot.press(*payload.text[:10], "enter")
        await settle(app, pilot)
        assert form.query_one(Input).value == payload.text[:10]
        assert form.submitted == []
    assert _outbox(runtime) == before


async def test_retired_and_unknown_labels_say_so(runtime, label):
    hid, payload = label
    with transaction(runtime.conn):
        reprint_household_label(runtime.ctx, hid)
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press(*payload.text, "enter")
        await settle(app, pilot)
        unknown = make("HH", encode_id(12345))
        await pilot.press(*unknown.text, "enter")
        await settle(app, pilot)
        assert len(app.screen_stack) == 1
        assert sum("标签不存在或已作废" in m for m in _messages(app)) == 2


async def test_held_keys_reach_the_widget_in_order_when_not_a_scan(runtime):
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(KeyScreen())
        log = app.screen.query_one(KeyLog)
        await pilot.press("H", "H", "z")  # breaks the pattern at once
        await pilot.press("C", "S", "1", "down")  # a non-printable key releases them
        await pilot.press("h", "c")  # lower case is never held
        await pilot.press("H")
        assert log.keys == ["H", "H", "z", "C", "S", "1", "down", "h", "c"]
        app.scanner.burst.gap = 0  # the burst pauses: the key is a person's
        await app.scanner._timeout()
        await pilot.pause()
        assert log.keys[-1] == "H"


async def test_scan_while_a_key_logging_widget_has_focus(runtime, label):
    hid, payload = label
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(KeyScreen())
        log = app.screen.query_one(KeyLog)
        await wedge(app, pilot, payload.text)
        await settle(app, pilot)
        assert log.keys == []
        assert isinstance(app.screen, HouseholdScreen) and app.screen.household_id == hid


async def test_pasted_label_opens_the_household(runtime, label):
    from textual import events

    hid, payload = label
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        app.post_message(events.Paste(payload.readable + "\n"))
        await settle(app, pilot)
        assert isinstance(app.screen, HouseholdScreen) and app.screen.household_id == hid


async def test_case_slip_scan_opens_the_case(runtime):
    conn = runtime.conn
    case_id = conn.execute("SELECT case_id FROM case_households ORDER BY hlc LIMIT 1").fetchone()[0]
    with transaction(conn):
        slip = ensure_case_slip(runtime.ctx, case_id)
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press(*make("CS", slip.code).text, "enter")
        await settle(app, pilot)
        from screens.cases.case_detail import CaseDetailScreen

        assert isinstance(app.screen, CaseDetailScreen) and app.screen.case_id == case_id


async def test_camera_key_without_the_extra_says_what_to_install(runtime, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 fails, as without the extra
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f9")
        await settle(app, pilot)
        assert any("grid-kiosk[camera]" in m for m in _messages(app))
        assert len(app.screen_stack) == 1


# --- the pure parts ---------------------------------------------------------------------------
codes = st.integers(min_value=0, max_value=(1 << 60) - 1).map(encode_id)


@given(st.sampled_from(["HH", "CS"]), codes)
def test_every_prefix_of_a_scanned_payload_is_held(kind, code):
    text = make(kind, code).text
    assert all(scanner_prefix(text[:i]) for i in range(1, len(text) + 1))
    assert not scanner_prefix(text + "0")
    assert classify(text).payload == make(kind, code)


@given(st.text(min_size=1, max_size=30))
def test_text_that_is_no_scanner_prefix_is_never_held(text):
    if scanner_prefix(text):
        assert text in (text.upper(), text.lower())  # as a scanner types, Caps Lock or not
        text = text.upper()
        assert text[0] in "HC" and (
            text.startswith(("HH1:", "CS1:")) or "HH1:".startswith(text) or "CS1:".startswith(text)
        )


@given(
    st.lists(
        st.tuples(st.sampled_from("ABH1:"), st.sampled_from([0.0, 0.01, 0.04, 0.07, 0.2])),
        max_size=40,
    )
)
def test_burst_holds_the_keys_since_the_last_pause(keys):
    burst = KeyBurst(gap=0.05)
    now, expected = 0.0, []
    for char, pause in keys:
        now += pause
        if pause > 0.05 or not expected:
            expected = []
        expected.append(char)
        burst.feed(char, now)
        assert burst.text == "".join(expected)[-64:]


def test_classify_tells_labels_damage_and_other_text_apart():
    p = make("HH", encode_id(99))
    assert classify(p.readable.lower()).payload == p
    assert classify("HH1:12").error is not None
    assert not classify("hh").is_label
    assert not classify("张三").is_label
    assert classify("HH1:" + "Z" * 10_000).error is not None


async def test_a_scanner_gone_wrong_types_nothing_anywhere(runtime, label):
    """``HH1:`` then 10,000 characters: refused as too long, nothing left in the field, no
    binding fired, nothing written."""
    _, payload = label
    app = _app(runtime)
    before = _outbox(runtime)
    junk = "HH1:" + "7" * 10_000
    async with app.run_test(size=(100, 40)) as pilot:
        form = FormScreen()
        await app.push_screen(form)
        field = form.query_one(Input)
        field.focus()
        await pilot.press(*"note")
        app.scanner.burst.clear()
        await wedge(app, pilot, junk)
        await settle(app, pilot)
        assert field.value == "note" and form.submitted == []
        await app.push_screen(KeyScreen())
        log = app.screen.query_one(KeyLog)
        await wedge(app, pilot, payload.text[:8] + "Z" * 300)
        await settle(app, pilot)
        assert log.keys == []
        assert sum("编码太长" in m or "不是有效的标签" in m for m in _messages(app)) == 2
    assert _outbox(runtime) == before


async def test_a_scan_with_caps_lock_on_opens_the_household_and_fires_no_shortcut(runtime, label):
    """Caps Lock on: the scanner types the payload in lower case. It is still a scan (the
    user guide says case does not matter), never the list's shortcuts."""
    hid, payload = label
    app = _app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await wedge(app, pilot, payload.text.lower())
        await settle(app, pilot)
        assert isinstance(app.screen, HouseholdScreen) and app.screen.household_id == hid
        assert len(app.screen_stack) == 2

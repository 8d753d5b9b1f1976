"""Scan anywhere: a USB scanner is a keyboard (a "wedge") that types the payload and Enter into
whatever has focus. The app looks at every key before the focused widget does
(:meth:`ScanAnywhere.intercept`, called first thing in ``KioskApp.on_event``):

* Focus in a text field (``Input``, ``TextArea``): keys go in as usual, and the keys typed in
  one fast burst are remembered with the field's content before the burst. On Enter, a burst
  that reads as a label is taken out of the field again (the field is as it was) and the
  record opens; Enter never reaches the field, so a form is not submitted. A label typed by
  hand (slowly) works too: the text before the cursor is looked at, from its last ``HH1`` /
  ``CS1`` on. A damaged label (wrong check character...) gives the "not a valid label"
  message instead, and Enter is still kept from the field.
* Focus anywhere else (a table, a button, nothing): a key that could begin a payload as a
  scanner types it (upper case ``H`` / ``C``, then the rest of ``HH1:`` / ``CS1:`` and code
  characters) is held back, so a scan never fires single-letter bindings. Held keys are
  replayed, in order, as soon as a key breaks the pattern or the burst pauses for longer than
  a scanner ever does (``scan_key_gap_ms``).

The decisions are pure functions and a small clock-driven buffer (kiosk/qr/wedge.py), tested
with hypothesis; :class:`ScanAnywhere` binds them to Textual.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual import events
from textual.message import Message

from kiosk.core.config import camera_source
from kiosk.qr.payload import Payload, find_in, looks_like_label, parse
from kiosk.qr.wedge import ENTER_KEYS, KeyBurst, Verdict, classify, scanner_prefix

if TYPE_CHECKING:
    from textual.app import App
    from textual.events import Event, Key
    from textual.widget import Widget

    from kiosk.app.shell import KioskApp
    from kiosk.qr.lookup import Resolved


# --- text fields ------------------------------------------------------------------------------
class _InputField:
    def __init__(self, widget: Any) -> None:
        self.w = widget

    def snapshot(self) -> tuple[str, int]:
        return self.w.value, self.w.cursor_position

    def restore(self, snap: tuple[str, int]) -> None:
        self.w.value, self.w.cursor_position = snap[0], min(snap[1], len(snap[0]))

    def before_cursor(self) -> str:
        return self.w.value[: self.w.cursor_position]

    def cut(self, start: int) -> None:
        value, cursor = self.w.value, self.w.cursor_position
        self.w.value = value[:start] + value[cursor:]
        self.w.cursor_position = start


class _TextAreaField:
    def __init__(self, widget: Any) -> None:
        self.w = widget

    def snapshot(self) -> tuple[str, tuple[int, int]]:
        return self.w.text, self.w.cursor_location

    def restore(self, snap: tuple[str, tuple[int, int]]) -> None:
        self.w.text = snap[0]
        self.w.cursor_location = snap[1]

    def before_cursor(self) -> str:
        row, col = self.w.cursor_location
        return self.w.document.get_line(row)[:col]

    def cut(self, start: int) -> None:
        row, col = self.w.cursor_location
        self.w.delete((row, start), (row, col))


def _too_long() -> Verdict:
    from kiosk.qr.payload import BODY_CHARS, InvalidLabel

    return Verdict(error=InvalidLabel("too_long", n=BODY_CHARS))


def _take_back(
    target: _InputField | _TextAreaField, typed: str, holder: dict[str, Any] | None
) -> None:
    """Remove the label just typed into a field: the text before the cursor ends with it, or
    (a field that refused some keys) the field's content from before the burst comes back."""
    before = target.before_cursor()
    if typed and before.endswith(typed):
        target.cut(len(before) - len(typed))
    elif holder and "snap" in holder:
        target.restore(holder["snap"])


def text_field(widget: Widget | None) -> _InputField | _TextAreaField | None:
    from textual.widgets import Input, TextArea

    if isinstance(widget, Input):
        return _InputField(widget)
    if isinstance(widget, TextArea) and not widget.read_only:
        return _TextAreaField(widget)
    return None


# --- the Textual side -------------------------------------------------------------------------
class ScanAnywhere:
    """Recognises scanned (or typed) labels whatever has focus, and opens their record."""

    def __init__(
        self, app: App[Any], gap_ms: int = 50, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.clock = clock
        self.burst = KeyBurst(max(1, gap_ms) / 1000)
        self.held: list[Key] = []
        self._snapshot: Any = None
        self._replaying = False
        self._timer: Any = None  # one pending "the burst paused" check at a time
        self._garbled = False  # swallowing the rest of a damaged scan
        self._overlong = False
        self._gated = False

    # Called by KioskApp.on_event for every event before Textual routes it.
    async def intercept(self, event: Event, *, gated: bool = False) -> bool:
        """True when the event was taken (held back, or used by a recognised scan).
        ``gated``: nobody is signed in, or the screen is locked: a label is recognised and
        taken back out of the PIN field, but opens nothing (the gate says to sign in first)."""
        self._gated = gated
        if self._replaying:
            return False
        if isinstance(event, events.Paste) and not event.is_forwarded:
            return self._on_paste(event.text)
        if not isinstance(event, events.Key) or event.is_forwarded:
            return False
        now = self.clock()
        focused = self.app.focused
        if event.key in ENTER_KEYS:
            return await self._on_enter(focused, now)
        char = event.character if event.is_printable else None
        if not char:
            await self._release()
            self.burst.clear()
            return False
        target = text_field(focused)
        if target is not None:
            await self._release()
            if self.burst.feed(char, now):
                # The field reads its keys from its own queue, later than we see them: the
                # snapshot is taken there too, after the keys queued before this burst.
                holder: dict[str, Any] = {}
                self._snapshot = holder
                target.w.call_later(lambda: holder.update(snap=target.snapshot()))
            return False
        if self.held and not self.burst.fast(now):
            await self._release()
        if self._garbled and not self.burst.fast(now):
            self._garbled = False
        if self._garbled:
            self.burst.feed(char, now)
            self._arm()
            return True
        self.burst.feed(char, now)
        if len(self.held) >= 4 and not scanner_prefix(self.burst.text):
            # "HH1:" came as fast as a scanner types, then the code went wrong: the rest of
            # this burst is a damaged scan, not keys for the widget.
            self.held.clear()
            self._garbled = True
            self._arm()
            return True
        if scanner_prefix(self.burst.text):
            self.held.append(event)
            self._arm()
            return True
        self.burst.clear()
        if self.held:
            await self._release(also=event)
            return True
        return False

    def _arm(self) -> None:
        """(Re)start the one check that the burst has paused."""
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.app.set_timer(self.burst.gap * 1.5, self._timeout, name="scan-hold")

    async def _on_enter(self, focused: Widget | None, now: float) -> bool:
        if self._garbled:
            self._garbled = False
            text = self.burst.head if self.burst.overlong_label else self.burst.text
            self.burst.clear()
            self._act(classify(text) if looks_like_label(text) else _too_long())
            return True
        if self.held:
            verdict = classify(self.burst.text)
            if verdict.is_label:
                self.held.clear()
                self.burst.clear()
                self._act(verdict)
                return True
            await self._release()
        target = text_field(focused)
        fast = self.burst.fast(now)
        burst_text = self.burst.text
        self._overlong = self.burst.overlong_label
        self.burst.clear()
        if target is None:
            return False
        if fast and self._overlong:
            # a label's start, then far too many keys: take them all back out of the field
            target.w.call_later(_take_back, target, "", self._snapshot)
            self._act(_too_long())
            return True
        found_in_burst = find_in(burst_text) if fast else None
        if found_in_burst is not None:
            start, tail = found_in_burst
            verdict = classify(tail)
            if verdict.is_label:
                # Queued behind the burst's keys in the field: they land, then are undone.
                holder = self._snapshot if start == 0 else None
                target.w.call_later(_take_back, target, tail, holder)
                self._act(verdict)
                return True
        found = find_in(target.before_cursor())
        if found is not None:
            start, tail = found
            verdict = classify(tail)
            if verdict.payload is not None:
                target.cut(start)
            if verdict.is_label:
                self._act(verdict)
                return True
        return False

    def _on_paste(self, text: str) -> bool:
        verdict = classify(text.strip())
        if self._gated and verdict.is_label:
            self._act(verdict)
            return True
        if verdict.payload is None:
            return False
        self._act(verdict)
        return True

    async def _timeout(self) -> None:
        self._timer = None
        if self._garbled and not self.burst.fast(self.clock()):
            self._garbled = False
            self.burst.clear()
            self._act(_too_long())
            return
        if self.held and not self.burst.fast(self.clock()):
            self.burst.clear()
            await self._release()

    async def _release(self, also: Key | None = None) -> None:
        """Replay the held keys (and ``also``) through the normal routing, in order."""
        keys = [*self.held, *([also] if also is not None else [])]
        self.held.clear()
        if not keys:
            return
        self._replaying = True
        try:
            for key in keys:
                await self.app.on_event(key)
        finally:
            self._replaying = False

    # --- acting on a recognised label ------------------------------------------------------
    def _act(self, verdict: Verdict) -> None:
        if self._gated:
            self.app.scan_at_gate()  # type: ignore[attr-defined]  # KioskApp
            return
        if verdict.error is not None:
            self.app.notify(verdict.error.message(), severity="error", timeout=8)
            return
        assert verdict.payload is not None
        # A screen may take a scan itself (a questionnaire: the household it is for)
        take = getattr(self.app.screen, "take_scan", None)
        if take is not None and take(verdict.payload):
            return
        self.open(verdict.payload)

    def open(self, payload: Payload) -> None:
        """Look the payload up in a worker, then open its household or case."""
        from kiosk.core import collector

        hold = collector.hold(1.0)  # until the record's first frame (kiosk/core/collector.py)
        self.app.run_worker(
            lambda: self._resolve(payload, hold),
            thread=True,
            group="scan",
            exclusive=True,
            exit_on_error=False,
            name="scan",
        )

    def _resolve(self, payload: Payload, gc_hold: object | None = None) -> None:
        from kiosk.qr.lookup import resolve_payload

        conn = self.app.read()  # type: ignore[attr-defined]  # KioskApp: this thread's connection
        result = resolve_payload(conn, payload, with_cases=False)  # errors: the App notifies
        view = None
        if payload.kind == "HH" and result.household is not None:
            # What the household screen shows, read here too: the screen is filled before
            # it is pushed, so its first frame has the household and its open cases.
            from screens.households.household import may_open, read_household

            if may_open(self.app):
                view = read_household(self.app, result.household.id)
        show: Callable[..., Any] = self._show
        self.app.call_from_thread(show, result, view, gc_hold)

    async def _show(
        self, result: Resolved, view: Any = None, gc_hold: object | None = None
    ) -> None:
        from kiosk.core import collector
        from screens.households.household import open_household, show_household

        opened = None
        if result.case_id is not None:
            opened = await _push_case_screen(self.app, result.case_id)
        if opened is None and result.household is not None:
            if view is not None:
                opened = await show_household(
                    cast("KioskApp", self.app), view, from_scan=True, gc_hold=gc_hold
                )
            else:  # a case slip without the case screen, or a refusal the app explains
                open_household(self.app, result.household.id, from_scan=True)
        self.app.screen.call_after_refresh(collector.release, gc_hold)
        if result.case is not None:
            self.app.notify(result.case["number"], title=result.payload.readable, timeout=4)
        self.app.post_message(
            ScanRecognised(
                result.payload, result.household.id if result.household else None, result.case_id
            )
        )

    def scan_camera(self) -> None:
        """The camera key: watch the webcam in a worker; a label seen opens its record."""
        settings = getattr(getattr(self.app, "runtime", None), "settings", None)
        index = camera_source(getattr(settings, "camera_index", 0))

        def watch() -> None:
            from kiosk.core.i18n import t
            from kiosk.qr.camera import load_cv2, scan_camera

            load_cv2()  # no extra: a clear message, before any waiting
            self.app.call_from_thread(self.app.notify, t("qr.camera.looking", seconds=30))
            self._resolve(parse(scan_camera(index, 30.0)))

        self.app.run_worker(
            watch,
            thread=True,
            group="scan-camera",
            exclusive=True,
            exit_on_error=False,
            name="scan-camera",
        )


class ScanRecognised(Message):
    """A scanned label opened its record (posted to the App, for whoever listens: tests, the
    labels screen). ``household_id`` / ``case_id`` say what was opened."""

    def __init__(self, payload: Payload, household_id: str | None, case_id: str | None) -> None:
        super().__init__()
        self.payload = payload
        self.household_id = household_id
        self.case_id = case_id


async def _push_case_screen(app: App[Any], case_id: str):
    """Open the case's screen (imported on first use: a scan at the door does not wait for
    the case screens to load at start)."""
    from screens.cases.case_detail import CaseDetailScreen

    screen = CaseDetailScreen(case_id)
    await app.push_screen(screen)
    return screen

"""The resident self-service counter (``kiosk resident``): a locked-down App of its own.

A counter PC in the community office with a USB scanner. Nobody signs in: the App acts as the
community's counter identity (role ``kiosk``, kiosk/security/roles.py), whose PIN the
administrator typed when starting it. A resident scans their case slip and sees where the case
stands (kiosk/qr/resident.py), rates it once it is resolved, or leaves an anonymous suggestion.
Nothing else is reachable: no sign-in, no modes, no command palette; Ctrl+Q and Ctrl+C do
nothing. F10 asks an administrator's name and PIN (the sign-in's check, audited) and only then
quits. After ``idle_seconds`` without a key the App goes back to its welcome screen and the
screens that showed a case are dropped with their widgets.
"""

from __future__ import annotations

import os

os.environ.setdefault("TEXTUAL_FPS", "120")  # as the worker's App (kiosk/app/shell.py)

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from db.connection import transaction
from db.context import WriteContext
from db.workers import Worker as DbWorker
from kiosk.app.scanner import ScanAnywhere
from kiosk.core.errors import describe
from kiosk.core.i18n import t
from kiosk.domain.categories import load_categories
from kiosk.qr.payload import Payload
from kiosk.runtime import Runtime
from screens.resident.welcome import WelcomeScreen

T = TypeVar("T")
#: the welcome screen comes back after this long without a key (seconds)
IDLE_SECONDS = 60.0
#: app actions a resident's keys must never reach
_LOCKED = frozenset({"quit", "help_quit", "command_palette", "suspend_process"})


class CounterScanner(ScanAnywhere):
    """The scanner wedge (kiosk/app/scanner.py), with its own ending: a scan shows the slip's
    case on the counter's screen, never a household or a worker's case screen."""

    def open(self, payload: Payload) -> None:
        from kiosk.core import collector

        hold = collector.hold(1.0)  # until the case's first frame (kiosk/core/collector.py)
        self.app.show_slip(payload, hold)  # type: ignore[attr-defined]  # ResidentApp


class ResidentApp(App[None]):
    """The counter's interface; screens reach the database through :meth:`read` and
    :meth:`write` as the worker's App's do."""

    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { background: $surface; }
    """
    BINDINGS = [
        Binding("ctrl+q", "nothing", show=False, priority=True),
        Binding("ctrl+c", "nothing", show=False, priority=True),
        Binding("ctrl+p", "nothing", show=False, priority=True),
        Binding("f10", "admin_exit", show=False, priority=True),
    ]

    def __init__(
        self, runtime: Runtime, counter: DbWorker, *, idle_seconds: float = IDLE_SECONDS
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.counter = counter
        self.community = counter.community
        self.idle_seconds = idle_seconds
        self.categories = load_categories(runtime.settings)
        self.scanner = CounterScanner(self, runtime.settings.scan_key_gap_ms)
        self._local = threading.local()
        self._write_lock = runtime.write_lock
        self._last_input = time.monotonic()
        #: the one slip screen, kept and filled before it is pushed (made at the first scan)
        self.slip_screen: Any = None
        self.title = t("resident.title")
        with self._write_lock:  # every write is the counter's (checked by guard_write)
            self.runtime.worker = counter
            self.runtime.ctx.worker_id = counter.id

    def on_mount(self) -> None:
        self.push_screen(WelcomeScreen())
        self.set_interval(min(1.0, max(0.05, self.idle_seconds / 4)), self._check_idle)

    # --- locked down --------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action not in _LOCKED

    def action_nothing(self) -> None:
        """Ctrl+Q, Ctrl+C, Ctrl+P: nothing at the counter (F10 and an administrator's PIN
        end it)."""

    async def action_quit(self) -> None:
        """Quitting is the administrator's (:meth:`action_admin_exit`)."""

    def action_command_palette(self) -> None:
        """No palette at the counter."""

    def action_admin_exit(self) -> None:
        from screens.resident.admin_exit import AdminExitScreen

        if not isinstance(self.screen, AdminExitScreen):
            self.push_screen(AdminExitScreen())

    def admin_verified(self, admin: DbWorker) -> None:
        """An administrator's PIN was checked (screens/resident/admin_exit.py): audited, then
        the counter stops."""
        self.write(lambda ctx: _as(ctx, admin.id).audit("resident_exit", "worker", admin.id))
        self.exit()

    # --- the scanner and the idle reset -------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseEvent, events.Paste)):
            self._last_input = time.monotonic()
        if await self.scanner.intercept(event):
            return
        await super().on_event(event)

    def _check_idle(self) -> None:
        if time.monotonic() - self._last_input >= self.idle_seconds:
            self._last_input = time.monotonic()
            self.reset()

    def reset(self) -> None:
        """Back to the welcome screen: every screen above it is dropped (and with it every
        widget that showed a case), the welcome's message cleared."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if self.slip_screen is not None and self.slip_screen.is_mounted:
            self.slip_screen.forget()
        self.clear_notifications()
        welcome = self.screen
        if isinstance(welcome, WelcomeScreen):
            welcome.show_message("")

    def notify(self, message: str, **kwargs: Any) -> None:  # type: ignore[override]
        """Messages (a damaged slip, a refusal) are said in large type on the screen itself,
        not in a toast in a corner."""
        show = getattr(self.screen, "show_message", None)
        if show is None:
            super().notify(message, **kwargs)
        else:
            show(message, error=kwargs.get("severity") == "error")

    # --- a scanned slip -----------------------------------------------------------------------
    def show_slip(self, payload: Payload, gc_hold: object | None = None) -> None:
        """Look the slip up on a thread (audited, refusals too), then show it."""
        self.run_worker(
            lambda: self._read_slip(payload, gc_hold),
            thread=True,
            group="slip",
            exclusive=True,
            exit_on_error=False,
            name="slip",
        )

    def _read_slip(self, payload: Payload, gc_hold: object | None = None) -> None:
        from kiosk.core import collector
        from kiosk.qr.resident import SlipRefused, audit_lookup, read_slip

        try:
            view = read_slip(
                self.read(), payload, categories=self.categories, community=self.community
            )
        except SlipRefused as exc:
            collector.release(gc_hold)
            why, message = exc.key, exc.message()
            self.write(lambda ctx: audit_lookup(ctx, payload, None, why))
            self.call_from_thread(self._refused, message)
            return
        except BaseException:
            collector.release(gc_hold)
            raise
        show: Callable[..., Any] = self._show
        self.call_from_thread(show, view, gc_hold)
        # The entry is written once the case is on its way to the screen: the resident does
        # not wait for it (it is committed before the next scan is read: one writer).
        self.write(lambda ctx: audit_lookup(ctx, payload, view.case_id, ""))

    def _refused(self, message: str) -> None:
        self.reset()
        self.notify(message, severity="error")

    async def _show(self, view: Any, gc_hold: object | None = None) -> None:
        from kiosk.core import collector
        from screens.resident.slip import SlipScreen

        self.reset()
        screen = self.slip_screen
        if screen is not None and screen.is_mounted:
            screen.show(view)  # off screen: its first frame is this case's
        else:  # the first scan: the screen is made with the case in it, and kept
            if screen is not None:
                self.uninstall_screen("slip")
            screen = self.slip_screen = SlipScreen(view)
            self.install_screen(screen, "slip")
        await self.push_screen(screen)
        screen.call_after_refresh(collector.release, gc_hold)

    # --- database access ----------------------------------------------------------------------
    def read(self) -> sqlite3.Connection:
        """A connection for the calling thread."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.runtime.db.reader()
            self._local.conn = conn
        return conn

    def write(self, fn: Callable[[WriteContext], T]) -> T:
        """Run ``fn(ctx)`` in one transaction on the writer connection (any thread), as the
        counter."""
        with self._write_lock, transaction(self.runtime.ctx.conn):
            return fn(self.runtime.ctx)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(describe(event.worker.error), severity="error")


def _as(ctx: WriteContext, worker_id: str) -> WriteContext:
    from dataclasses import replace

    return replace(ctx, worker_id=worker_id)

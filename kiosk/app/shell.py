"""The Textual application: modes, bindings, command palette, database access for screens."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time

# Frames at up to 120 per second (Textual's default is 60): a search result or a scanned
# household reaches the screen one short frame after it is ready. Textual reads this when it
# is first imported, hence before the textual imports below; KIOSK users may still override.
os.environ.setdefault("TEXTUAL_FPS", "120")
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from textual import events, on
from textual.actions import parse as parse_action
from textual.app import App
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import AwaitMount
from textual.worker import Worker, WorkerState

from db.connection import transaction
from db.context import WriteContext
from db.workers import Worker as DbWorker
from kiosk.app import textual_private as private
from kiosk.app.scanner import ScanAnywhere
from kiosk.core import collector
from kiosk.core.errors import UserError, describe
from kiosk.core.i18n import language, now_text, set_language, t, term
from kiosk.runtime import Runtime
from kiosk.security.roles import allowed, require
from screens.base import GateScreen
from screens.signin.signin import SignInScreen
from screens.widgets.footer import Notice

log = logging.getLogger("kiosk.app.shell")
T = TypeVar("T")

#: What a signed-in worker needs (kiosk.security.roles.PERMISSIONS) to open a mode ...
MODE_ACTIONS = {
    "households": "household.search",
    "cases": "cases.view",
    "figures": "figures.view",
    "sync": "sync.run",
}
#: ... or a screen (each declares its own: ``PERMISSION`` on the class) ...
#: ... or run an app action.
APP_ACTIONS = {
    "areas": "areas.manage",
    "labels": "labels.print",
    "print_slip": "labels.print",
    "scan_camera": "household.view",
}
#: The only app actions left while nobody is signed in or the screen is locked: quitting,
#: and Tab / Shift+Tab (Textual binds them to the app) to move between the fields.
GATE_ACTIONS = frozenset({"quit", "focus_next", "focus_previous"})
#: A home screen fetched ahead (while the PIN was typed) older than this is fetched again.
PREFETCH_FRESH_SECONDS = 300
#: Input that counts as someone at the laptop (the idle lock restarts its count).
ACTIVITY = (events.Key, events.MouseEvent, events.Paste)


def _import_first_screens() -> None:
    """The home screen's module and the figures' (a supervisor's first stop; plotext is its
    dearest import), imported ahead of the first use."""
    import screens.cases.figures  # noqa: F401
    import screens.households.home  # noqa: F401


def _screen_of(node: object) -> Screen | None:
    """The screen a message pump (a screen or a widget on one) belongs to."""
    if isinstance(node, Screen):
        return node
    try:
        return getattr(node, "screen", None)
    except Exception:  # noqa: BLE001 - a widget not (or no longer) on a screen
        return None


def _lazy_screen(module: str, name: str) -> Callable[[], Any]:
    """A MODES factory that imports the screen's module on first use."""

    def make() -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)()

    make.__name__ = name
    return make


class KioskApp(App[None]):
    """Grid Kiosk's interface. Screens reach the database through :meth:`read` (a connection
    per thread, for workers) and :meth:`write` (one transaction on the writer connection)."""

    CSS_PATH = "../../screens/app.tcss"
    #: the latest notification, drawn by every screen's footer until its time is up
    notice: reactive[Notice | None] = reactive(None, init=False)
    ENABLE_COMMAND_PALETTE = True
    # The top-level modes (走访/住户/事项/同步/统计); each keeps its own screen stack.
    DEFAULT_MODE = "home"
    # Modes are imported when first opened: start-up pays only for the screen it shows, the
    # sign-in screen (the figures screen alone pulls in plotext); the home screen's module is
    # imported on a thread while the PIN is typed (prefetch_home). The sign-in screen is a
    # mode of its own, so nothing of a worker's screens is behind it.
    MODES = {
        "signin": SignInScreen,
        "home": _lazy_screen("screens.households.home", "HomeScreen"),
        "households": _lazy_screen("screens.households.search", "SearchScreen"),  # 住户
        "cases": _lazy_screen("screens.cases.case_list", "CasesScreen"),  # 事项
        "figures": _lazy_screen("screens.cases.figures", "FiguresScreen"),  # 统计
        "sync": _lazy_screen("screens.sync.sync_screen", "SyncScreen"),  # 同步
    }

    BINDINGS = [
        Binding(
            "ctrl+q", "quit", term("ui.quit"), id="app.quit", tooltip=term("ui.quit"), priority=True
        ),
        Binding("f1", "section('home')", term("ui.home"), id="app.home", tooltip=term("ui.home")),
        Binding(
            "f2",
            "section('households')",
            term("ui.households"),
            id="app.households",
            tooltip=term("ui.search"),
        ),
        # QR labels: label sheets; the webcam as a scanner
        Binding(
            "f8", "labels", term("qr.ui.labels"), id="app.labels", tooltip=term("qr.ui.labels_hint")
        ),
        Binding(
            "f9",
            "scan_camera",
            term("qr.ui.camera"),
            id="app.scan_camera",
            show=False,
            tooltip=term("qr.ui.camera_hint"),
        ),
        Binding(
            "f7",
            "print_slip",
            term("qr.ui.slip"),
            id="app.print_slip",
            show=False,
            tooltip=term("qr.ui.slip_hint"),
        ),
        # cases: the case list and the figures
        Binding(
            "f3",
            "section('cases')",
            term("cases.ui.mode"),
            id="app.cases",
            tooltip=term("cases.ui.mode_hint"),
        ),
        Binding(
            "f5",
            "section('figures')",
            term("figures.mode"),
            id="app.figures",
            tooltip=term("figures.mode_hint"),
        ),
        # sync
        Binding(
            "f4",
            "section('sync')",
            term("sync.mode"),
            id="app.sync",
            tooltip=term("sync.start_tip"),
        ),
        # the office: grids and compounds (administrators and supervisors)
        Binding(
            "f6",
            "areas",
            term("areas.ui.title"),
            id="app.areas",
            show=False,
            tooltip=term("areas.ui.open_hint"),
        ),
        Binding(
            "f12",
            "toggle_language",
            term("ui.language"),
            id="app.language",
            show=False,
            tooltip=term("ui.language"),
        ),
        # sign-in and roles: lock the screen while away (works in any field)
        Binding(
            "ctrl+l",
            "lock",
            term("signin.lock"),
            id="app.lock",
            tooltip=term("signin.lock_hint"),
            priority=True,
        ),
        # every key of the screen, the ones the footer folded included
        Binding(
            "question_mark",
            "keys",
            term("ui.keys"),
            id="app.keys",
            show=False,
            tooltip=term("ui.keys_hint"),
        ),
        # another worker takes the laptop: sign out (forms are kept as drafts), from anywhere
        Binding(
            "ctrl+o",
            "switch_worker",
            term("signin.switch"),
            id="app.switch_worker",
            show=False,
            tooltip=term("signin.switch_hint"),
        ),
    ]

    def __init__(
        self,
        runtime: Runtime,
        *,
        signed_in: DbWorker | None = None,
        offered_worker: DbWorker | None = None,
        home_prefetch: Future | None = None,
        lock_seconds: float | None = None,
        **kwargs: Any,
    ) -> None:
        """The interface on ``runtime``.

        Args:
            signed_in: act as this worker from the start, without the sign-in screen (tests
                and embedding). Without it, the app opens on the sign-in screen and acts as
                nobody until a worker signs in: what ``kiosk`` always does.
            offered_worker: the name the sign-in screen offers (the last worker who signed in
                on this laptop, see :func:`kiosk.cli.run.start_app`); their home screen
                is fetched while the PIN is typed (:meth:`prefetch_home`).
            home_prefetch: the home screen's first load of ``signed_in``, already under way.
            lock_seconds: idle time before the screen locks (default: the ``lock_minutes``
                setting; 0 never locks).
        """
        if signed_in is None:
            self.DEFAULT_MODE = "signin"  # type: ignore[misc]  # App.__init__ reads it: the first screen
        super().__init__(**kwargs)
        self.runtime = runtime
        self._local = threading.local()
        self._write_lock = runtime.write_lock  # Runtime.close waits for a write in flight
        self.scanner = ScanAnywhere(self, runtime.settings.scan_key_gap_ms)
        self.offered_worker = offered_worker
        self._signed_out_here = False  # the offered name is this session's own (sign_out)
        # The home screen's first load (see HomeScreen.load), fetched ahead, and for whom.
        self._home_prefetch: Future | None = home_prefetch
        self._prefetch_for = signed_in.id if signed_in and home_prefetch else None
        self._prefetched_at = time.monotonic()
        # the collector held from a PIN's Enter to the next full frame (screens/base.py)
        self._gc_hold: object | None = None
        self.locked = False
        self._held_notices: list[tuple[str, dict[str, Any]]] = []
        self._last_input = time.monotonic()
        self._idle_timer: Timer | None = None
        self._lock_seconds = (
            runtime.settings.lock_minutes * 60 if lock_seconds is None else lock_seconds
        )
        self.title = t("app.title")
        # Nobody acts before signing in: not the runtime's default worker either.
        self._set_worker(signed_in)

    # --- who is signed in ------------------------------------------------------------
    @property
    def worker(self) -> DbWorker | None:
        """The signed-in worker (None before anyone signs in): who every screen acts as."""
        return self.runtime.worker

    @property
    def gate_open(self) -> bool:
        """May anything of a worker's session be shown: someone signed in, not locked."""
        return self.runtime.worker is not None and not self.locked

    @property
    def offered(self) -> DbWorker | None:
        """The name the sign-in screen offers: none in a browser (``kiosk office web``), where
        one office PC serves every tab on the LAN and the last person's name is nobody else's
        business (a tab that signed out offers its own worker's name again)."""
        if self.is_web and not self._signed_out_here:
            return None
        return self.offered_worker

    def _set_worker(self, worker: DbWorker | None) -> None:
        with self._write_lock:  # a write in flight keeps the author it started with
            self.runtime.worker = worker
            self.ctx.worker_id = worker.id if worker else None
            self.ctx.verified = worker is not None  # signed in with their PIN
        self.sub_title = worker.name if worker else ""

    def permit(self, action: str) -> bool:
        """May the signed-in worker do ``action`` (kiosk.security.roles)? If not, say who may."""
        try:
            require(self.worker, action)
        except UserError as exc:
            self.notify(exc.message(), severity="error", timeout=6)
            return False
        return True

    def complete_sign_in(self, worker: DbWorker) -> None:
        """``worker`` signed in (the sign-in screen checked the PIN): their home screen."""
        self._set_worker(worker)
        self.locked = False
        self._held_notices.clear()
        if (
            self._prefetch_for != worker.id  # fetched for somebody else
            or time.monotonic() - self._prefetched_at > PREFETCH_FRESH_SECONDS
        ):
            self._home_prefetch = None
        self._prefetch_for = None
        self._drop_modes()  # anything left of an earlier session
        self.switch_mode("home")
        # The sign-in screen goes once home is on screen (built anew for the next sign-in).
        self.call_after_refresh(self._drop_mode, "signin")
        self._last_input = time.monotonic()
        self._arm_idle()

    def setup_done(self, worker: DbWorker | None, said: str) -> None:
        """The first-run set-up (screens/signin/setup.py) finished: the office's first
        administrator is signed in and the office set-up opens; or the laptop is enrolled
        and synced, and its sign-in screen offers the workers it received."""
        if worker is not None:
            self.complete_sign_in(worker)

            def office() -> None:
                from screens.office.setup import OfficeSetupScreen

                self.push_screen(OfficeSetupScreen())

            self.call_after_refresh(office)
            self.notify(said)
            return
        self.pop_screen()
        signin = self.screen
        reload = getattr(signin, "reload_names", None)
        if reload is not None:
            reload()
        show = getattr(signin, "show_status", None)
        if show is not None:
            show(said)

    def _drop_mode(self, mode: str) -> None:
        """Drop ``mode``'s screens (removed in the background); it starts afresh if opened."""
        if private.mode_has_stack(self, mode) and mode != self.current_mode:
            self.remove_mode(mode)
            self.add_mode(mode, self.MODES[mode])

    def _drop_modes(self) -> None:
        """Drop every mode's screens but the current one's: the next session starts afresh."""
        for mode in private.modes_with_stacks(self):
            if mode in self.MODES:
                self._drop_mode(mode)

    def holds_screen(self, screen: Screen) -> bool:
        """Is ``screen`` open in any mode (under a form, say)?"""
        return private.in_any_stack(self, screen)

    def action_lock(self) -> None:
        self.lock("key")

    def action_keys(self) -> None:
        """List every key of the screen on top: its own, then the app-wide ones."""
        from screens.keys_panel import KeysPanel
        from screens.widgets.footer import our_bindings

        if isinstance(self.screen, KeysPanel):
            return
        own: list[tuple[str, str]] = []
        everywhere: list[tuple[str, str]] = []
        for app_wide, binding, enabled, _tooltip in our_bindings(
            self, self.screen.active_bindings, shown=False
        ):
            if enabled:
                entry = (self.get_key_display(binding), now_text(binding.description))
                (everywhere if app_wide else own).append(entry)
        self.push_screen(KeysPanel(own, everywhere))

    def action_switch_worker(self) -> None:
        self.call_later(self.sign_out)

    def lock(self, reason: str) -> None:
        """Cover everything with the lock screen (``reason``: ``idle`` or ``key``). The screens
        stay as they are underneath; the worker's PIN unlocks."""
        worker = self.worker
        if worker is None or self.locked:
            return
        from kiosk.security.session import record_lock
        from screens.signin.lock import LockScreen

        self.locked = True
        self.clear_notifications()  # toasts are drawn on the top screen: none over the lock
        self._stop_idle()
        self.push_screen(LockScreen(worker))
        self._audit(lambda: record_lock(self.write, worker, reason))

    def unlock(self, worker: DbWorker) -> None:
        """The lock screen took the worker's PIN: back to where they were."""
        from screens.signin.lock import LockScreen

        self._set_worker(worker)  # as read now (a role may have changed meanwhile)
        self.locked = False
        if isinstance(self.screen, LockScreen):
            self.pop_screen()
        self.call_after_refresh(self.collector_may_run)
        held, self._held_notices = self._held_notices, []
        for message, options in held:
            self.notify(message, **options)
        self._last_input = time.monotonic()
        self._arm_idle()

    def sign_out(self) -> None:
        """Sign the worker out (Ctrl+O anywhere, the lock screen, the palette): every screen
        of theirs is dropped and the sign-in screen comes up; their open forms are kept as
        drafts."""
        from kiosk.security.session import record_lock

        worker = self.worker
        if worker is not None:
            self._audit(lambda: record_lock(self.write, worker, "sign_out"))
        self._stop_idle()
        self._set_worker(None)
        self.locked = False
        self._held_notices.clear()
        self.clear_notifications()
        self._home_prefetch = None
        self.collector_may_run()
        self.offered_worker = worker
        self._signed_out_here = True
        self._drop_mode("signin")  # a fresh sign-in screen, offering this worker's name
        self.switch_mode("signin")
        self._drop_modes()

    @on(events.DeliveryFailed)
    def _not_delivered(self, event: events.DeliveryFailed) -> None:
        """A file meant for the browser (``kiosk office web``) did not reach it."""
        if event.name == "ledger":
            self.notify(t("ledger.ui.not_sent"), severity="error", timeout=10)

    def _audit(self, write: Callable[[], object]) -> None:
        """An audit entry, written on a thread (never holding up the screen)."""
        self.run_worker(write, thread=True, group="audit", exit_on_error=False, name="audit")

    # --- the idle lock -------------------------------------------------------------------------
    @property
    def lock_seconds(self) -> float:
        """Seconds without a key or mouse event before the screen locks (0: never)."""
        return self._lock_seconds

    @lock_seconds.setter
    def lock_seconds(self, seconds: float) -> None:
        self._lock_seconds = seconds
        self._last_input = time.monotonic()
        self._arm_idle()

    def _arm_idle(self) -> None:
        """One timer, due when the idle time would run out (input meanwhile only moves the
        time it is measured from: the timer re-arms itself then)."""
        self._stop_idle()
        if self._lock_seconds > 0 and self.gate_open and self.is_running:
            due = self._last_input + self._lock_seconds - time.monotonic()
            self._idle_timer = self.set_timer(max(0.02, due), self._idle_due, name="idle-lock")

    def _stop_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.stop()
            self._idle_timer = None

    def _idle_due(self) -> None:
        self._idle_timer = None
        if not self.gate_open or self._lock_seconds <= 0:
            return
        if time.monotonic() - self._last_input >= self._lock_seconds:
            self.lock("idle")
        else:
            self._arm_idle()

    def on_mount(self) -> None:
        self._arm_idle()
        # Started by ``kiosk``: the garbage collector was held until this first frame.
        self.call_after_refresh(collector.release_start, True)

    # --- the gate: nothing of a session before sign-in or under the lock, and roles ---------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.gate_open:
            return action in GATE_ACTIONS
        # keys of sections and actions outside the worker's role are not offered
        needed = self._role_needs(action, parameters)
        if needed is not None and not allowed(self.worker, needed):
            return False
        return super().check_action(action, parameters)

    async def action_section(self, mode: str) -> None:
        """F1-F5: a section's first screen (the walk list, the case list...), whatever was
        opened in it last; a form on the way is left as Esc leaves it (its draft kept). F1
        on the home list itself lists every key."""
        if mode == self.current_mode and len(self.screen_stack) == 1:
            if mode == "home":
                self.action_keys()
            return
        if mode != self.current_mode:
            await self.switch_mode(mode)
            if mode != self.current_mode:  # refused: locked, or not this worker's
                return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, GateScreen):
            await self.pop_screen()

    def switch_mode(self, mode: str) -> AwaitMount:
        if mode != "signin" and not self.gate_open:
            return AwaitMount(self.screen, [])
        needed = MODE_ACTIONS.get(mode)
        if needed and not self.permit(needed):
            return AwaitMount(self.screen, [])
        return super().switch_mode(mode)

    def push_screen(
        self,
        screen,
        callback=None,
        wait_for_dismiss=False,
        *,  # type: ignore[override]
        mode=None,
    ):
        if isinstance(screen, Screen) and not isinstance(screen, GateScreen):
            needed = getattr(screen, "PERMISSION", None)  # Textual's own screens have none
            if not self.gate_open or (needed and not self.permit(needed)):
                if wait_for_dismiss:
                    refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                    refused.set_result(None)
                    return refused
                return AwaitMount(self.screen, [])
        return super().push_screen(screen, callback, wait_for_dismiss, mode=mode)

    def pop_screen(self) -> AwaitComplete:
        """Under the lock, a screen below it that closes itself (a save finishing, whose
        handler calls ``dismiss``) is taken out from under the lock screen, which stays on
        top: only the worker's PIN removes it (:meth:`unlock`)."""
        stack = private.screen_stack(self)
        if not (self.locked and len(stack) > 1 and isinstance(stack[-1], GateScreen)):
            return super().pop_screen()
        closing = _screen_of(private.active_pump())
        if closing is None or closing not in stack[1:-1]:
            closing = stack[-2] if len(stack) > 2 else None
        if closing is None:  # the lock is over the mode's base screen: nothing to close
            return AwaitComplete.nothing()
        stack.remove(closing)
        return private.take_out(self, closing)

    def action_command_palette(self) -> None:
        from kiosk.app.textual_private import CommandPalette

        # the header's icon calls this directly: the gate is checked here too
        if self.gate_open and self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(
                CommandPalette(id="--command-palette", placeholder=t("ui.palette_search"))
            )

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Notifications of a session are held back under the lock (shown after unlocking)
        and dropped before sign-in.

        A notice is drawn on a line of its own above the footer's keys, not as Textual's
        toast: a toast lies over other widgets, and every time one of them redraws, the cut
        at its edge blanks whichever Chinese character of the toast it falls in
        (Textualize/textual#6357). It is plain text: our words are never markup, and a
        message such as ``pip install 'grid-kiosk[camera]'`` must show its brackets."""
        markup = False
        if self.gate_open:
            super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)
            seconds = self.NOTIFICATION_TIMEOUT if timeout is None else timeout
            notice = Notice(message, title, str(severity))
            self.notice = notice
            self.set_timer(seconds, lambda: self._notice_over(notice))
        elif self.locked:
            self._held_notices.append(
                (
                    message,
                    {"title": title, "severity": severity, "timeout": timeout, "markup": markup},
                )
            )

    def _notice_over(self, notice: Notice) -> None:
        if self.notice is notice:  # a newer one stays its own time
            self.notice = None

    def clear_notifications(self) -> None:
        super().clear_notifications()
        self.notice = None

    def hold_collector_until_painted(self, hold: object | None) -> None:
        """Keep a PIN check's collector hold (screens/base.py) until the screen it leads to
        has painted what it shows: the home screen with its walk list, or the screen the lock
        covered (they call :meth:`collector_may_run` after that frame); a refusal ends it
        at once."""
        collector.release(self._gc_hold)
        self._gc_hold = hold

    def css_generation(self) -> int:
        """Counted up whenever the app's CSS is invalidated (a theme change): a screen kept off
        the stack restyles when it comes back if this moved while it was away."""
        return private.css_generation(self)

    def collector_may_run(self) -> None:
        """The screen a PIN led to has painted: the collector runs again."""
        hold, self._gc_hold = self._gc_hold, None
        collector.release(hold)

    def take_home_prefetch(self) -> Future | None:
        """The prefetched first load of the home screen, once (None afterwards)."""
        future, self._home_prefetch = self._home_prefetch, None
        return future

    def prefetch_home(self) -> None:
        """While the offered worker types their PIN: import the home screen and fetch their
        first load on a thread, so the home screen's first frame shows it. Started by the
        sign-in screen once it is up, not at start-up (it would slow the first frame);
        dropped if someone else signs in."""
        worker = self.offered
        if worker is None and self.worker is None and self._home_prefetch is None:
            # Nobody offered (a browser tab offers no name): still import the screens the
            # sign-in leads to, off the UI thread, while the name and PIN are typed.
            self.run_worker(
                _import_first_screens, thread=True, group="home-prefetch", exit_on_error=False
            )
            return
        if worker is None or self._home_prefetch is not None or self.worker is not None:
            return
        future: Future = Future()
        self._home_prefetch, self._prefetch_for = future, worker.id
        self._prefetched_at = time.monotonic()
        settings = self.runtime.settings

        def fetch() -> None:
            from kiosk.households.home_data import load_home

            try:
                import screens.households.home  # noqa: F401  # its import, off the UI thread too

                future.set_result(
                    load_home(self.read(), worker, settings.care_revisit_days, settings.page_size)
                )
            except BaseException as exc:  # the home screen loads afresh then
                future.set_exception(exc)

        self.run_worker(
            fetch, thread=True, group="home-prefetch", exit_on_error=False, name="home-prefetch"
        )

    def get_system_commands(self, screen):  # type: ignore[override]
        from kiosk.app.palette import kiosk_commands, textual_commands

        yield from textual_commands(super().get_system_commands(screen))
        yield from kiosk_commands(self)

    # --- scan anywhere (kiosk/app/scanner.py): a label scanned or typed into any
    # widget opens its household; the scanner sees each key before the focused widget.
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, ACTIVITY):
            self._last_input = time.monotonic()
        # Before sign-in and under the lock a scan opens nothing: it is taken back out of the
        # PIN field and the gate says to sign in (or unlock) first.
        if await self.scanner.intercept(event, gated=not self.gate_open):
            return
        if isinstance(event, events.Key) and self.gate_open and self._refuse_hidden_key(event):
            return
        await super().on_event(event)

    def scan_at_gate(self) -> None:
        """A label was scanned at the sign-in or lock screen: say what to do first."""
        if isinstance(self.screen, GateScreen):
            key = "qr.ui.unlock_first" if self.locked else "qr.ui.sign_in_first"
            self.screen.show_status(t(key), error=True)

    def _role_needs(self, action: str, parameters: tuple[object, ...]) -> str | None:
        if action == "section" and parameters:
            return MODE_ACTIONS.get(str(parameters[0]))
        return APP_ACTIONS.get(action)

    def _refuse_hidden_key(self, event: events.Key) -> bool:
        """An app-wide key outside the worker's role is not offered; pressed anyway (and
        bound by nothing on screen), it says who may instead of doing nothing."""
        if event.key in self.screen.active_bindings:
            return False
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            _, name, params = parse_action(binding.action)
            needed = self._role_needs(name, params)
            if needed is not None and not allowed(self.worker, needed):
                self.permit(needed)
                return True
        return False

    def action_labels(self) -> None:
        if not self.permit(APP_ACTIONS["labels"]):
            return
        from screens.households.labels import LabelsScreen

        self.push_screen(LabelsScreen(getattr(self.screen, "household_id", None)))

    def action_areas(self) -> None:
        if not self.permit(APP_ACTIONS["areas"]):
            return
        from screens.office.areas import AreasScreen

        self.push_screen(AreasScreen())

    def action_scan_camera(self) -> None:
        if self.permit(APP_ACTIONS["scan_camera"]):
            self.scanner.scan_camera()

    def action_print_slip(self) -> None:
        if not self.permit(APP_ACTIONS["print_slip"]):
            return
        from kiosk.qr.actions import print_slip

        print_slip(self)

    # --- database access -----------------------------------------------------------------
    @property
    def ctx(self) -> WriteContext:
        return self.runtime.ctx

    def read(self) -> sqlite3.Connection:
        """A connection for the calling thread (WAL: readers never block the writer)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.runtime.db.reader()
            self._local.conn = conn
        return conn

    def write(self, fn: Callable[[WriteContext], T]) -> T:
        """Run ``fn(ctx)`` in one transaction on the writer connection (any thread)."""
        with self._write_lock, transaction(self.ctx.conn):
            return fn(self.ctx)

    # --- errors from workers: one place -----------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(describe(event.worker.error), severity="error", timeout=8)

    def action_toggle_language(self) -> None:
        set_language("en" if language() == "zh" else "zh")
        self.notify(t("ui.language"))
        self.title = t("app.title")
        # the footer draws the keys again, in the new language (kiosk.core.i18n.Term)
        self.screen.refresh_bindings()

"""What every Grid Kiosk screen shares: typed access to the app, and worker failures shown."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events, work
from textual.actions import parse as parse_action
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from db.workers import Worker as DbWorker
from kiosk.core import collector
from kiosk.core.errors import UserError, describe
from kiosk.core.i18n import t
from kiosk.security.roles import allowed

if TYPE_CHECKING:
    from kiosk.app.shell import KioskApp

#: what a PIN can be (kiosk.security.auth.check_pin_rules): anything else is refused before checking
PIN_MIN, PIN_MAX = 6, 12
PIN_SHAPE = re.compile(rf"[0-9]{{{PIN_MIN},{PIN_MAX}}}")
#: the longest the collector is held for a sign-in (a slow check on a busy laptop still ends it)
GC_HOLD_SECONDS = 2.0


class KioskScreen(Screen[Any]):
    #: what the acting worker needs to open it (kiosk/security/roles.py; None: anyone)
    PERMISSION: ClassVar[str | None] = None

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    # --- roles (kiosk.security.roles): keys outside the worker's role are hidden from the footer, and
    # pressing one anyway says who may (error.role_forbidden) instead of doing nothing.
    def role_action(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """The kiosk.security.roles action a binding's action needs (None: anyone signed in)."""
        return None

    def _refused(self, action: str, parameters: tuple[object, ...]) -> str | None:
        needed = self.role_action(action, parameters)
        return needed if needed is not None and not allowed(self.kiosk.worker, needed) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self._refused(action, parameters) is None

    def on_key(self, event: events.Key) -> None:
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            _, name, params = parse_action(binding.action)
            if self._refused(name, params):
                event.stop()
                event.prevent_default()
                self.kiosk.permit(self._refused(name, params) or "")
                return

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A screen's worker failed: say so in the interface's language (the traceback goes to
        the log). ``Worker.StateChanged`` does not bubble to the app, so every screen handles
        its own; screens that need more override this."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(describe(event.worker.error), severity="error", timeout=8)


class GateScreen(Screen[Any]):
    """A screen shown while no one may see personal data: the sign-in and lock screens.

    The app lets only these through while nobody is signed in or the screen is locked
    (``KioskApp.push_screen``). Their messages are written on the screen itself (the
    ``#gate-status`` line), since the app holds notifications back then.

    Both check a PIN the same way: :func:`kiosk.security.session.attempt` on a thread (argon2id takes
    ~0.1 s; the interface stays live and says it is checking), then :meth:`accepted` or the
    refusal on the status line, with a live countdown when the growing delay applies.

    Python's garbage collector is held from the PIN's Enter until the screen it leads to has
    painted (kiosk/core/collector.py): a full collection there took 70-320 ms, most of the
    sign-in's budget. The app keeps the hold (``KioskApp.hold_collector_until_painted``): a
    refusal lets it go at once, an acceptance once the next screen has painted.
    """

    #: what the acting worker needs to open it (kiosk/security/roles.py; None: anyone)
    PERMISSION: ClassVar[str | None] = None

    class Checked(Message):
        """A PIN check finished (handled by GateScreen): ``worker`` if accepted, else the
        ``refusal``."""

        def __init__(self, worker: DbWorker | None, refusal: UserError | None) -> None:
            super().__init__()
            self.worker = worker
            self.refusal = refusal

    #: a PIN is being checked: Enter waits for the answer
    checking = False

    def __init__(self) -> None:
        super().__init__()
        self._wait: tuple[str, float] | None = None  # (message key, monotonic deadline)
        self._ticker: Timer | None = None

    @property
    def kiosk(self) -> KioskApp:
        return cast("KioskApp", self.app)

    def show_status(self, text: str, *, error: bool = False) -> None:
        """Say something on the screen's status line (``#gate-status``)."""
        status = self.query_one("#gate-status", Static)
        status.set_class(error, "-error")
        status.update(text)

    def check_pin(self, name: str, pin: str, *, unlock: bool) -> None:
        """Check ``pin`` for ``name`` on a thread; the answer arrives as :class:`Checked`."""
        if self.checking:
            return
        if not PIN_SHAPE.fullmatch(pin):
            # Not a possible PIN: said at once, and neither checked nor counted; the cursor
            # goes where the PIN is typed (Sign in may have been pressed with it empty).
            self.show_status(t("error.pin_length", min=PIN_MIN, max=PIN_MAX), error=True)
            self.query_one("#gate-pin", Input).focus()
            return
        self.checking = True
        self._stop_countdown()
        self.show_status(t("signin.checking"))
        self.kiosk.hold_collector_until_painted(collector.hold(GC_HOLD_SECONDS))
        self._check(name, pin, unlock)

    @work(thread=True, group="gate-pin", exit_on_error=False)
    def _check(self, name: str, pin: str, unlock: bool) -> None:
        from kiosk.security.session import attempt

        try:
            worker = attempt(self.kiosk.read(), self.kiosk.write, name, pin, unlock=unlock)
        except UserError as exc:
            self.post_message(self.Checked(None, exc))
            return
        self.post_message(self.Checked(worker, None))

    def on_gate_screen_checked(self, message: Checked) -> None:
        self.checking = False
        self.clear_pin()
        if message.worker is not None:
            self.show_status("")
            self.accepted(message.worker)
            return
        self.kiosk.collector_may_run()
        refusal = message.refusal
        assert refusal is not None
        seconds = refusal.params.get("seconds")
        if isinstance(seconds, int) and seconds > 0:
            self._wait = (refusal.key, time.monotonic() + seconds)
            self._tick()
            self._ticker = self.set_interval(1.0, self._tick)
        else:
            self.show_status(refusal.message(), error=True)

    def _tick(self) -> None:
        """The countdown of the growing delay, once a second."""
        if self._wait is None:
            return
        key, until = self._wait
        left = int(until - time.monotonic() + 0.999)
        if left <= 0:
            self._stop_countdown()
            self.show_status("")
            return
        self.show_status(t(key, seconds=left), error=True)

    def _stop_countdown(self) -> None:
        self._wait = None
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def clear_pin(self) -> None:
        """Empty the PIN field (``#gate-pin``) and put the cursor there."""
        pin = self.query_one("#gate-pin", Input)
        pin.value = ""
        pin.focus()

    def accepted(self, worker: DbWorker) -> None:
        """The PIN was right (the screen says what happens next)."""
        raise NotImplementedError

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A check failed for another reason (the database, say): on the status line."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.checking = False
            self.kiosk.collector_may_run()
            self.show_status(describe(event.worker.error), error=True)

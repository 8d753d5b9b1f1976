"""The Textual application: modes, bindings, command palette, database access for screens."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

# Frames at up to 120 per second (Textual's default is 60): a search result or a scanned
# household reaches the screen one short frame after it is ready. Textual reads this when it
# is first imported, hence before the textual imports below; KIOSK users may still override.
os.environ.setdefault("TEXTUAL_FPS", "120")
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from db.connection import transaction
from db.context import WriteContext
from db.workers import Worker as DbWorker
from kiosk.errors import describe
from kiosk.i18n import language, set_language, t
from kiosk.qr.scanner import ScanAnywhere
from kiosk.runtime import Runtime
from screens.home import HomeScreen

log = logging.getLogger("kiosk.app")
T = TypeVar("T")


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

    CSS_PATH = "../screens/app.tcss"
    ENABLE_COMMAND_PALETTE = True
    # The top-level modes (走访/住户/事项/同步/统计); each keeps its own screen stack.
    DEFAULT_MODE = "home"
    # Modes other than home are imported when first opened: start-up pays only for the
    # screen it shows (the figures screen alone pulls in plotext).
    MODES = {
        "home": HomeScreen,
        "households": _lazy_screen("screens.search", "SearchScreen"),  # 住户
        "cases": _lazy_screen("screens.cases", "CasesScreen"),  # 事项 (issue 4)
        "figures": _lazy_screen("screens.figures", "FiguresScreen"),  # 统计 (issue 4)
        "sync": _lazy_screen("screens.sync", "SyncScreen"),  # 同步 (issue 6)
    }

    BINDINGS = [
        Binding("ctrl+q", "quit", t("ui.quit"), id="app.quit", tooltip=t("ui.quit"), priority=True),
        Binding("f1", "switch_mode('home')", t("ui.home"), id="app.home", tooltip=t("ui.home")),
        Binding("f2", "switch_mode('households')", t("ui.households"), id="app.households",
                tooltip=t("ui.search")),
        # QR labels (issue 5): label sheets; the webcam as a scanner
        Binding("f8", "labels", t("qr.ui.labels"), id="app.labels", tooltip=t("qr.ui.labels_hint")),
        Binding("f9", "scan_camera", t("qr.ui.camera"), id="app.scan_camera", show=False,
                tooltip=t("qr.ui.camera_hint")),
        Binding("f7", "print_slip", t("qr.ui.slip"), id="app.print_slip", show=False,
                tooltip=t("qr.ui.slip_hint")),
        # cases (issue 4): the case list and the figures
        Binding("f3", "switch_mode('cases')", t("cases.ui.mode"), id="app.cases",
                tooltip=t("cases.ui.mode_hint")),
        Binding("f5", "switch_mode('figures')", t("figures.mode"), id="app.figures",
                tooltip=t("figures.mode_hint")),
        # sync (issue 6)
        Binding("f4", "switch_mode('sync')", t("sync.mode"), id="app.sync",
                tooltip=t("sync.start_tip")),
        Binding("f12", "toggle_language", t("ui.language"), id="app.language", show=False,
                tooltip=t("ui.language")),
    ]

    def __init__(self, runtime: Runtime, *, signed_in: DbWorker | None = None,
                 home_prefetch: Future | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime
        if signed_in is not None:
            runtime.worker = signed_in
            runtime.ctx.worker_id = signed_in.id
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self.scanner = ScanAnywhere(self, runtime.settings.scan_key_gap_ms)
        # The home screen's data, fetched on a thread while Textual starts (see HomeScreen.load).
        self._home_prefetch: Future | None = home_prefetch
        self.title = t("app.title")
        self.sub_title = runtime.worker.name if runtime.worker else t("ui.no_worker")

    def take_home_prefetch(self) -> Future | None:
        """The prefetched first load of the home screen, once (None afterwards)."""
        future, self._home_prefetch = self._home_prefetch, None
        return future

    def get_system_commands(self, screen):  # type: ignore[override]
        yield from super().get_system_commands(screen)
        from kiosk.palette import kiosk_commands

        yield from kiosk_commands(self)

    # --- scan anywhere (issue 5, kiosk/qr/scanner.py): a label scanned or typed into any
    # widget opens its household; the scanner sees each key before the focused widget.
    async def on_event(self, event: events.Event) -> None:
        if await self.scanner.intercept(event):
            return
        await super().on_event(event)

    def action_labels(self) -> None:
        from screens.labels import LabelsScreen

        self.push_screen(LabelsScreen(getattr(self.screen, "household_id", None)))

    def action_scan_camera(self) -> None:
        self.scanner.scan_camera()

    def action_print_slip(self) -> None:
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

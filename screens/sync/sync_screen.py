"""The sync screen (同步): changes waiting, the last successful sync, a sync with a progress
bar and its counts, the conflicts to review (Enter opens one), and the changes the hub
refused, each with its record, household, reason and what to do (``r`` sends them again,
``x`` lets a supervisor give the selected one up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Header, ProgressBar, Static
from textual.worker import Worker, WorkerState

from db.sync import Conflict, SyncState, held_changes, list_conflicts, sync_state
from kiosk.core.errors import describe
from kiosk.core.i18n import t, term, when
from kiosk.sync.present import conflict_row, held_row
from screens.base import KioskScreen
from screens.widgets.footer import KioskFooter


@dataclass
class SyncStatus:
    state: SyncState
    conflicts: list[Conflict]
    held: list[dict]


class SyncScreen(KioskScreen):
    #: what the acting worker needs to open it (None: the mode's or the caller's check)
    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [
        Binding("s", "sync", term("sync.start"), id="sync.start", tooltip=term("sync.start_tip")),
        Binding(
            "enter",
            "review",
            term("sync.keep_mine", "sync.keep_theirs"),
            id="sync.review",
            tooltip=term("sync.conflicts_tip"),
        ),
        Binding(
            "r", "resend", term("sync.resend"), id="sync.resend", tooltip=term("sync.resend_tip")
        ),
        Binding(
            "x",
            "discard",
            term("sync.discard"),
            id="sync.discard",
            tooltip=term("sync.discard_tip"),
        ),
    ]

    #: changes the hub refused and the laptop holds: the resend and discard keys show only
    #: while there are some
    held_count = 0

    def role_action(self, action: str, parameters: tuple[object, ...]) -> str | None:
        return "sync.discard" if action == "discard" else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("resend", "discard") and not self.held_count:
            return False
        return super().check_action(action, parameters)

    DEFAULT_CSS = """
    SyncScreen #sync-progress { margin: 0 1; }
    SyncScreen .line { padding: 0 1; }
    """

    class StatusLoaded(Message):
        """Pending count, last sync and open conflicts arrived (handled by SyncScreen)."""

        def __init__(self, status: SyncStatus) -> None:
            super().__init__()
            self.status = status

    class Progress(Message):
        """A sync step finished (handled by SyncScreen; a burst collapses to the last)."""

        def __init__(self, phase: str, done: int, total: int) -> None:
            super().__init__()
            self.phase, self.done, self.total = phase, done, total

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, SyncScreen.Progress)

    class Finished(Message):
        """A sync ended, with its counts (handled by SyncScreen)."""

        def __init__(self, counts: dict[str, int]) -> None:
            super().__init__()
            self.counts = counts

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(t("sync.title"), classes="title")
        yield Static("", id="sync-hub", classes="line muted")
        yield Static(t("ui.loading"), id="sync-pending", classes="line")
        yield Static("", id="sync-last", classes="line muted")
        yield ProgressBar(id="sync-progress", show_eta=False)
        yield Static("", id="sync-phase", classes="line")
        yield Static("", id="sync-conflicts-title", classes="title")
        yield DataTable(id="sync-conflicts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="sync-held-title", classes="title")
        yield DataTable(id="sync-held", cursor_type="row", zebra_stripes=True)
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one("#sync-conflicts", DataTable).add_columns(
            "#",
            t("sync.col_record"),
            t("sync.col_field"),
            t("sync.col_mine"),
            t("sync.col_theirs"),
            t("sync.col_winner"),
        )
        self.query_one("#sync-held", DataTable).add_columns(
            t("sync.cli.col_record"),
            t("sync.cli.col_household"),
            t("sync.cli.col_why"),
            t("sync.cli.col_todo"),
        )
        self.query_one("#sync-held", DataTable).display = False
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="sync-status", exit_on_error=False)
    def load(self) -> None:
        conn = self.kiosk.read()
        held = [held_row(conn, h) for h in held_changes(conn, limit=200)]
        self.post_message(
            self.StatusLoaded(SyncStatus(sync_state(conn), list_conflicts(conn, limit=200), held))
        )

    def on_sync_screen_status_loaded(self, message: StatusLoaded) -> None:
        s = message.status.state
        self.query_one("#sync-hub", Static).update(
            t("sync.hub", url=s.hub_url) if s.enrolled else t("sync.not_enrolled")
        )
        self.query_one("#sync-pending", Static).update(t("sync.pending", n=s.pending))
        self.query_one("#sync-last", Static).update(
            t("sync.last_success", at=when(s.last_success) or t("sync.never"))
        )
        conflicts = message.status.conflicts
        self.query_one("#sync-conflicts-title", Static).update(
            t("sync.conflict_count", n=s.conflicts) if s.conflicts else t("sync.no_conflicts")
        )
        table = self.query_one("#sync-conflicts", DataTable)
        table.clear()
        for c in conflicts:
            r = conflict_row(c)
            table.add_row(
                str(r["id"]),
                r["record"],
                r["field"],
                r["mine"],
                r["theirs"],
                r["applied"],
                key=str(c.id),
            )
        held = message.status.held
        if bool(held) != bool(self.held_count):
            self.held_count = len(held)
            self.refresh_bindings()
        self.held_count = len(held)
        self.query_one("#sync-held-title", Static).update(
            t("sync.refused_count", n=s.refused) if s.refused else ""
        )
        held_table = self.query_one("#sync-held", DataTable)
        held_table.clear()
        held_table.display = bool(held)
        for r in held:
            held_table.add_row(
                r["record"], r["household"] or "-", r["why"], r["todo"], key=r["op_id"]
            )

    def action_sync(self) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=None, progress=0)
        self.query_one("#sync-phase", Static).update(t("sync.phase_push", done=0, total="…"))
        self.run_sync()

    def _progress(self, phase: str, done: int, total: int) -> None:
        self.post_message(self.Progress(phase, done, total))

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def run_sync(self) -> None:
        from kiosk.sync.client import run_sync

        settings = self.kiosk.runtime.settings
        try:
            report = run_sync(
                self.kiosk.ctx,
                hub_url=settings.hub_url,
                batch_size=settings.sync_batch,
                timeout=settings.sync_timeout,
                write=self.kiosk.write,
                reader=self.kiosk.read(),
                progress=self._progress,
            )
        finally:
            self.load()  # whatever happened, show what is pending now
        self.post_message(self.Finished(report.as_dict()))

    def on_sync_screen_progress(self, message: Progress) -> None:
        bar = self.query_one(ProgressBar)
        phase = self.query_one("#sync-phase", Static)
        if message.phase == "push":
            bar.update(total=max(message.total, 1), progress=message.done)
            phase.update(t("sync.phase_push", done=message.done, total=message.total))
        else:
            bar.update(total=None)
            phase.update(t("sync.phase_pull", done=message.done))

    def on_sync_screen_finished(self, message: Finished) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=1, progress=1)
        text = t("sync.done", **message.counts)
        sent, got = message.counts.get("photos_sent", 0), message.counts.get("photos_received", 0)
        if sent or got:
            text += "\n" + t("sync.photos", sent=sent, received=got)
        skew = message.counts.get("clock_skew_hours") or 0
        if skew:  # the laptop's clock is far from the hub's: say so where the result is
            text += "\n" + t(
                "sync.cli.clock_ahead" if skew > 0 else "sync.cli.clock_behind", hours=abs(skew)
            )
        self.query_one("#sync-phase", Static).update(text)
        self.notify(text, severity="warning" if skew else "information")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Worker failures (hub unreachable, refused...) as a message, also in place of the
        progress line: StateChanged does not bubble to the app, so each screen with workers
        reports its own."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            text = describe(event.worker.error)
            if event.worker.group == "sync":
                self.query_one(ProgressBar).update(total=1, progress=0)
                self.query_one("#sync-phase", Static).update(text)
            self.notify(text, severity="error", timeout=8)

    def action_resend(self) -> None:
        """Send every change the hub refused again at the next sync (their cause fixed)."""
        if self.kiosk.permit("sync.run"):
            self.release_held()

    @work(thread=True, exclusive=True, group="sync-held", exit_on_error=False)
    def release_held(self) -> None:
        from db.sync import release

        n = self.kiosk.write(lambda ctx: release(ctx.conn))
        self.app.call_from_thread(self.notify, t("sync.cli.released", n=n))
        self.load()

    def action_discard(self) -> None:
        """A supervisor gives up sending the selected refused change, after confirming."""
        table = self.query_one("#sync-held", DataTable)
        if not table.row_count or not self.kiosk.permit("sync.discard"):
            return
        op_id = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if not op_id:
            return
        from screens.confirm import ConfirmScreen

        def decided(yes: bool | None) -> None:
            if yes:
                self.discard_held(op_id)

        self.app.push_screen(ConfirmScreen(t("sync.discard_confirm")), decided)

    @work(thread=True, exclusive=True, group="sync-held", exit_on_error=False)
    def discard_held(self, op_id: str) -> None:
        from db.sync import discard

        def run(ctx) -> int:
            n = discard(ctx.conn, [op_id], by=ctx.worker_id)
            ctx.audit("discard", detail={"ops": n})
            return n

        n = self.kiosk.write(run)
        self.app.call_from_thread(self.notify, t("sync.cli.discarded", n=n))
        self.load()

    def action_review(self) -> None:
        table = self.query_one("#sync-conflicts", DataTable)
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key:
            from screens.sync.conflicts import ConflictScreen

            self.app.push_screen(ConflictScreen(int(key)), self._reviewed)

    def _reviewed(self, _changed: bool | None) -> None:
        self.load()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "sync-conflicts":
            self.action_review()

"""One sync conflict, field by field: keep mine, keep theirs, or edit a value. Returns True
when the conflict was resolved."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from db.sync import Conflict, get_conflict, resolve_conflict
from kiosk.core.errors import describe
from kiosk.core.i18n import t, term
from kiosk.sync.present import conflict_row
from screens.widgets.footer import KioskFooter


class ConflictScreen(ModalScreen[bool]):
    #: what the acting worker needs to open it (kiosk/security/roles.py); the app checks
    PERMISSION: ClassVar[str | None] = "sync.resolve"
    BINDINGS = [
        Binding(
            "m",
            "choose('mine')",
            term("sync.keep_mine"),
            id="conflict.mine",
            tooltip=term("sync.keep_mine"),
        ),
        Binding(
            "t",
            "choose('theirs')",
            term("sync.keep_theirs"),
            id="conflict.theirs",
            tooltip=term("sync.keep_theirs"),
        ),
        Binding("e", "edit", term("sync.edit"), id="conflict.edit", tooltip=term("sync.edit")),
        Binding(
            "escape",
            "dismiss(False)",
            term("sync.back"),
            id="conflict.back",
            tooltip=term("sync.back"),
        ),
    ]

    DEFAULT_CSS = """
    ConflictScreen { align: center middle; }
    ConflictScreen > Vertical { width: 76; height: auto; border: round $accent; padding: 0 1;
                                background: $surface; }
    ConflictScreen Input { display: none; }
    ConflictScreen Input.editing { display: block; }
    """

    class Loaded(Message):
        """The conflict arrived (handled by ConflictScreen)."""

        def __init__(self, conflict: Conflict | None) -> None:
            super().__init__()
            self.conflict = conflict

    class Resolved(Message):
        """The choice was written (handled by ConflictScreen, which closes)."""

    def __init__(self, conflict_id: int) -> None:
        super().__init__()
        self.conflict_id = conflict_id
        self.conflict: Conflict | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(t("ui.loading"), id="conflict-body")
            yield Input(id="conflict-value")
        yield KioskFooter()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="conflict", exit_on_error=False)
    def load(self) -> None:
        self.post_message(self.Loaded(get_conflict(self.app.read(), self.conflict_id)))  # type: ignore[attr-defined]

    def on_conflict_screen_loaded(self, message: Loaded) -> None:
        self.conflict = c = message.conflict
        if c is None:
            self.dismiss(False)
            return
        r = conflict_row(c)
        self.query_one("#conflict-body", Static).update(
            f"{t('sync.col_record')}: {r['record']}\n{t('sync.col_field')}: {r['field']}\n"
            f"{t('sync.col_mine')}: {r['mine']}\n{t('sync.col_theirs')}: {r['theirs']}\n"
            f"{t('sync.col_winner')}: {r['applied']}"
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Worker failures (hub unreachable, refused...) as a message: StateChanged does not
        bubble to the app, so each screen with workers reports its own."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(describe(event.worker.error), severity="error", timeout=8)

    def action_choose(self, choice: str, value: object = None) -> None:
        if self.conflict is not None:
            self.resolve(choice, value)

    def action_edit(self) -> None:
        if self.conflict is None:
            return
        box = self.query_one(Input)
        box.add_class("editing")
        box.placeholder = t("sync.edit_prompt", field=conflict_row(self.conflict)["field"])
        box.value = "" if self.conflict.current_value is None else str(self.conflict.current_value)
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_choose("edit", event.value)

    @work(thread=True, exclusive=True, group="conflict-write", exit_on_error=False)
    def resolve(self, choice: str, value: object) -> None:
        cid = self.conflict_id
        self.app.write(lambda ctx: resolve_conflict(ctx, cid, choice, value))  # type: ignore[attr-defined]
        self.post_message(self.Resolved())

    def on_conflict_screen_resolved(self, message: Resolved) -> None:
        self.notify(t("sync.resolved"))
        self.dismiss(True)

"""The community's responsible departments (责任单位), kept by its supervisor: the list, a
name typed to add one, Delete on the list to retire the highlighted one. Opened with d on the
case list. Retiring keeps the name on the cases already assigned to it."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Header, Input, Static

from db.departments import Department, list_departments
from db.errors import UserError
from kiosk.core.errors import describe
from kiosk.core.i18n import t, term
from kiosk.households.departments import add, community_for, retire
from screens.base import KioskScreen
from screens.widgets.footer import KioskFooter
from screens.widgets.result_list import ResultList


class DepartmentsScreen(KioskScreen):
    PERMISSION: ClassVar[str | None] = "departments.manage"
    DEFAULT_CSS = """
    DepartmentsScreen #dept-error { color: $error; padding: 0 1; height: auto; }
    DepartmentsScreen #dept-hint { padding: 0 1; height: auto; }
    DepartmentsScreen #dept-name { margin: 0 1; }
    """
    BINDINGS = [
        Binding(
            "escape",
            "app.pop_screen",
            term("ui.back"),
            id="departments.back",
            tooltip=term("ui.back"),
        ),  # fmt: skip
        Binding(
            "delete",
            "retire",
            term("departments.ui.retire"),
            id="departments.retire",
            tooltip=term("departments.ui.retire_hint"),
        ),  # fmt: skip
    ]

    class Listed(Message):
        def __init__(self, community: str, departments: list[Department]) -> None:
            super().__init__()
            self.community = community
            self.departments = departments

    class Failed(Message):
        def __init__(self, message: str) -> None:
            super().__init__()
            self.message = message

    def __init__(self) -> None:
        super().__init__()
        self.community = ""
        self.departments: list[Department] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(t("departments.ui.title"), classes="title", id="dept-title")
        yield Static(t("departments.ui.hint"), classes="muted", id="dept-hint")
        yield Input(placeholder=t("departments.ui.placeholder"), id="dept-name", max_length=64)
        yield Static("", id="dept-error")
        yield ResultList([t("departments.col.name")], id="dept-list")
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one("#dept-name", Input).focus()
        self.load()

    @work(thread=True, exclusive=True, group="departments", exit_on_error=False)
    def load(self) -> None:
        try:
            community = community_for(self.kiosk.worker, self.community or None)
        except UserError as exc:
            self.post_message(self.Failed(describe(exc)))
            return
        self.post_message(self.Listed(community, list_departments(self.kiosk.read(), community)))

    def on_departments_screen_listed(self, message: Listed) -> None:
        self.community = message.community
        self.departments = message.departments
        self.query_one("#dept-title", Static).update(
            t("departments.ui.title_of", community=message.community, n=len(message.departments))
        )
        self.query_one("#dept-list", ResultList).set_rows(
            [(d.id, (d.name,)) for d in message.departments]
        )

    def on_departments_screen_failed(self, message: Failed) -> None:
        self.query_one("#dept-error", Static).update(message.message)

    @on(Input.Submitted, "#dept-name")
    def add_typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.write("add", event.value)

    def action_retire(self) -> None:
        table = self.query_one("#dept-list", ResultList)
        if table.row_count:
            self.write("retire", table.get_row_at(table.cursor_row)[0].strip())

    @work(thread=True, exclusive=True, group="departments-write", exit_on_error=False)
    def write(self, what: str, name: str) -> None:
        community = self.community
        try:
            if what == "add":
                _dep, wrote = self.kiosk.write(lambda ctx: add(ctx, community, name))
                said = t("departments.ui.added" if wrote else "departments.ui.known", name=name)
            else:
                self.kiosk.write(lambda ctx: retire(ctx, community, name))
                said = t("departments.ui.retired", name=name)
        except UserError as exc:
            self.post_message(self.Failed(describe(exc)))
            return
        self.app.call_from_thread(self._written, what, said)

    def _written(self, what: str, said: str) -> None:
        self.query_one("#dept-error", Static).update("")
        if what == "add":
            self.query_one("#dept-name", Input).value = ""
        self.notify(said)
        self.load()

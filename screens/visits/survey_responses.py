"""This laptop's questionnaire responses, newest first: Enter opens one to review and change
(the form version it was filled with; the change is a new response replacing it)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Header, Static

from kiosk.core.i18n import t, term
from screens.base import KioskScreen
from screens.widgets.footer import KioskFooter


class SurveyResponsesScreen(KioskScreen):
    PERMISSION: ClassVar[str | None] = "survey.fill"

    BINDINGS = [
        Binding(
            "escape",
            "app.pop_screen",
            term("ui.back"),
            id="responses.back",
            tooltip=term("ui.back"),
        ),
    ]

    class Loaded(Message):
        def __init__(self, rows: list[tuple[Any, str]]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self, household_id: str | None = None) -> None:
        super().__init__()
        self.household_id = household_id
        self.rows: list[tuple[Any, str]] = []
        self.addresses: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(t("visits.form.review"), classes="title")
        yield Static(t("visits.form.not_yours"), classes="muted")
        yield DataTable(id="responses", cursor_type="row")
        yield KioskFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(
            t("visits.form.col_when"), t("visits.form.col_form"), t("visits.form.col_household")
        )
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="responses-load", exit_on_error=False)
    def load(self) -> None:
        from db.households import get_household
        from db.surveys import own_responses
        from kiosk.domain import present

        conn = self.kiosk.read()
        rows = own_responses(conn, self.kiosk.ctx.device_id, household_id=self.household_id)
        addresses: dict[str, str] = {}
        for response, _ in rows:
            hid = response.household_id
            if hid and hid not in addresses:
                h = get_household(conn, hid)
                addresses[hid] = present.address(h) if h is not None else ""
        self.addresses = addresses
        self.post_message(self.Loaded(rows))

    def on_survey_responses_screen_loaded(self, message: Loaded) -> None:
        self.rows = message.rows
        table = self.query_one(DataTable)
        table.clear()
        for response, title in self.rows:
            when = (response.submitted_at or "")[:16].replace("T", " ")
            hid = response.household_id
            who = self.addresses.get(hid, "") if hid else t("visits.form.anonymous")
            table.add_row(Text(when), Text(title), Text(who), key=response.id)
        table.focus()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None:
            return
        response = self.rows[table.cursor_row][0]
        from screens.visits.survey_fill import SurveyFillScreen

        self.app.push_screen(SurveyFillScreen(response.household_id, response=response))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

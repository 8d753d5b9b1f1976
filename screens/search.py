"""Household search: results as you type, paged in SQL."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Input, Static

from db.search import SearchHit, search_households
from kiosk import present
from kiosk.i18n import t
from screens.base import KioskScreen


class SearchScreen(KioskScreen):
    BINDINGS = [
        Binding("escape", "focus_input", t("ui.search"), id="search.focus", tooltip=t("ui.search")),
        Binding("down", "focus_results", t("ui.open"), id="search.results", show=False,
                tooltip=t("search.hint")),
    ]

    class Results(Message):
        """A page of search results (handled by SearchScreen; stale ones are dropped)."""

        def __init__(self, generation: int, query: str, hits: list[SearchHit], offset: int) -> None:
            super().__init__()
            self.generation = generation
            self.query = query
            self.hits = hits
            self.offset = offset

    def __init__(self) -> None:
        super().__init__()
        self._generation = 0
        self._query = ""
        self._loaded = 0
        self._exhausted = True
        self._loading_more = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder=t("search.placeholder"), id="search-input")
        yield Static(t("search.empty"), id="search-status", classes="muted")
        yield DataTable(id="search-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(t("col.address"), t("col.head"), t("col.members"), t("col.grid"),
                          t("col.tags"), t("col.matched"))
        self.query_one(Input).focus()

    @property
    def page_size(self) -> int:
        return self.kiosk.runtime.settings.page_size

    @on(Input.Changed, "#search-input")
    def query_changed(self, event: Input.Changed) -> None:
        self._generation += 1
        self._query = event.value
        if not event.value.strip():
            self.query_one(DataTable).clear()
            self.query_one("#search-status", Static).update(t("search.empty"))
            return
        self.search(self._generation, event.value, 0)

    @on(Input.Submitted, "#search-input")
    def query_submitted(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count == 1:
            self.open_row(0)
        elif table.row_count:
            table.focus()

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def search(self, generation: int, query: str, offset: int) -> None:
        hits = search_households(self.kiosk.read(), query, limit=self.page_size, offset=offset)
        self.post_message(self.Results(generation, query, hits, offset))

    def on_search_screen_results(self, message: Results) -> None:
        if message.generation != self._generation:
            return  # a newer keystroke has already asked again
        table = self.query_one(DataTable)
        if message.offset == 0:
            table.clear()
            self._loaded = 0
        for hit in message.hits:
            h = hit.household
            table.add_row(present.address(h), h.head_name, str(h.member_count), h.grid_code,
                          present.tags(h.tags), t(f"match.{hit.matched}"), key=h.id)
        self._loaded += len(message.hits)
        self._exhausted = len(message.hits) < self.page_size
        self._loading_more = False
        status = self.query_one("#search-status", Static)
        if not self._loaded:
            status.update(t("search.none"))
        elif self._exhausted:
            status.update(t("search.results", n=self._loaded))
        else:
            status.update(t("search.results_more", n=self._loaded))

    @on(DataTable.RowHighlighted, "#search-table")
    def maybe_load_more(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        if (not self._exhausted and not self._loading_more
                and event.cursor_row >= table.row_count - 1):
            self._loading_more = True
            self.search(self._generation, self._query, self._loaded)

    @on(DataTable.RowSelected, "#search-table")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.open_household(event.row_key.value)

    def open_row(self, index: int) -> None:
        table = self.query_one(DataTable)
        key = table.coordinate_to_cell_key((index, 0)).row_key.value
        if key:
            self.open_household(key)

    def open_household(self, household_id: str) -> None:
        from screens.household import HouseholdScreen

        self.app.push_screen(HouseholdScreen(household_id))

    def action_focus_input(self) -> None:
        self.query_one(Input).focus()

    def action_focus_results(self) -> None:
        table = self.query_one(DataTable)
        if self.query_one(Input).has_focus and table.row_count:
            table.focus()

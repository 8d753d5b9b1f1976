"""Household search: results as you type, paged in SQL."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Header, Input, Static

from db.search import SearchHit, search_households
from kiosk.core.i18n import t, term
from kiosk.domain import present
from screens.base import KioskScreen
from screens.widgets.footer import KioskFooter
from screens.widgets.result_list import ResultList


class SearchScreen(KioskScreen):
    #: what the acting worker needs to open it (None: the mode's or the caller's check)
    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [
        Binding(
            "escape", "focus_input", term("ui.search"), id="search.focus", tooltip=term("ui.search")
        ),
        Binding(
            "down",
            "focus_results",
            term("ui.open"),
            id="search.results",
            show=False,
            tooltip=term("search.hint"),
        ),
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
        yield ResultList(
            [
                t("col.address"),
                t("col.head"),
                t("col.members"),
                t("col.grid"),
                t("col.tags"),
                t("col.matched"),
            ],
            id="search-table",
        )
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @property
    def page_size(self) -> int:
        return self.kiosk.runtime.settings.page_size

    @on(Input.Changed, "#search-input")
    def query_changed(self, event: Input.Changed) -> None:
        self._generation += 1
        self._query = event.value
        if not event.value.strip():
            self.query_one(ResultList).clear()
            self.query_one("#search-status", Static).update(t("search.empty"), layout=False)
            return
        self.search(self._generation, event.value, 0)

    @on(Input.Submitted, "#search-input")
    def query_submitted(self) -> None:
        # Enter opens the highlighted (at first the best) match. Focus moves asynchronously, so
        # a quick ↓ Enter can still land here: opening the cursor's row does what was meant.
        table = self.query_one(ResultList)
        if table.row_count:
            self.open_household(table.key_at(table.cursor_row))

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def search(self, generation: int, query: str, offset: int) -> None:
        hits = search_households(self.kiosk.read(), query, limit=self.page_size, offset=offset)
        self.post_message(self.Results(generation, query, hits, offset))

    def on_search_screen_results(self, message: Results) -> None:
        if message.generation != self._generation:
            return  # a newer keystroke has already asked again
        table = self.query_one(ResultList)
        rows = [
            (
                hit.household.id,
                (
                    present.address(hit.household),
                    present.head(hit.household),
                    str(hit.household.member_count),
                    hit.household.grid_code,
                    present.tags(hit.household.tags),
                    present.match(hit),
                ),
            )
            for hit in message.hits
        ]
        if message.offset == 0:
            table.set_rows(rows)
            self._loaded = 0
        else:
            table.add_rows(rows)
        self._loaded += len(message.hits)
        self._exhausted = len(message.hits) < self.page_size
        self._loading_more = False
        status = self.query_one("#search-status", Static)
        # The status line has a fixed height: updating it needs no layout pass.
        if not self._loaded:
            status.update(t("search.none"), layout=False)
        elif self._exhausted:
            status.update(t("search.results", n=self._loaded), layout=False)
        else:
            status.update(t("search.results_more", n=self._loaded), layout=False)

    @on(ResultList.NearEnd, "#search-table")
    def load_more(self) -> None:
        if not self._exhausted and not self._loading_more:
            self._loading_more = True
            self.search(self._generation, self._query, self._loaded)

    @on(ResultList.Selected, "#search-table")
    def row_selected(self, event: ResultList.Selected) -> None:
        self.open_household(event.key)

    def open_household(self, household_id: str) -> None:
        from screens.households.household import open_household

        open_household(self.app, household_id)  # the app's kept screen, filled off screen

    def action_focus_input(self) -> None:
        self.query_one(Input).focus()

    def action_focus_results(self) -> None:
        table = self.query_one(ResultList)
        if self.query_one(Input).has_focus and table.row_count:
            table.focus()

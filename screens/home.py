"""The home screen: the worker's grid at a glance."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from db.households import Household, list_households
from kiosk import present
from kiosk.i18n import t
from screens.base import KioskScreen


@dataclass
class GridSummary:
    grid_names: list[str]
    households: int
    members: int
    pending: int
    tag_counts: dict[str, int]


class HomeScreen(KioskScreen):
    BINDINGS = [
        Binding("enter", "open_household", t("ui.open"), id="home.open", tooltip=t("ui.open")),
        Binding("/", "app.switch_mode('households')", t("ui.search"), id="home.search",
                tooltip=t("ui.search")),
    ]

    class Loaded(Message):
        """The grid's summary and first page of households arrived (handled by HomeScreen)."""

        def __init__(self, summary: GridSummary, households: list[Household]) -> None:
            super().__init__()
            self.summary = summary
            self.households = households

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(t("home.title"), id="home-title", classes="title")
        yield Static(t("ui.loading"), id="home-summary", classes="muted")
        yield Static("", id="home-care", classes="muted")
        yield Static(t("home.walk"), classes="title")
        yield DataTable(id="home-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(t("col.address"), t("col.head"), t("col.members"), t("col.tags"))
        self.load()

    @work(thread=True, exclusive=True, group="home", exit_on_error=False)
    def load(self) -> None:
        conn = self.kiosk.read()
        worker = self.kiosk.runtime.worker
        codes = list(worker.grids) if worker else []
        grid_ids = [r[0] for r in conn.execute(
            f"SELECT id FROM grids WHERE code IN ({','.join('?' * len(codes))})", codes)]
        names = [r[0] for r in conn.execute(
            f"SELECT name FROM grids WHERE code IN ({','.join('?' * len(codes))})", codes)]
        where = f"grid_id IN ({','.join('?' * len(grid_ids))})" if grid_ids else "1"
        households, members = conn.execute(
            f"SELECT count(*), COALESCE(sum(member_count), 0) FROM households WHERE {where}",
            grid_ids).fetchone()
        tag_counts: dict[str, int] = {}
        for tag in ("elderly70", "alone", "disabled", "hardship", "unvaccinated", "conscription"):
            tag_counts[tag] = conn.execute(
                f"SELECT count(*) FROM households WHERE {where} AND (' ' || tags || ' ') LIKE ?",
                [*grid_ids, f"% {tag} %"]).fetchone()[0]
        pending = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        page = list_households(conn, grid_id=grid_ids[0] if grid_ids else None,
                               limit=self.kiosk.runtime.settings.page_size)
        self.post_message(self.Loaded(GridSummary(names, households, members, pending, tag_counts), page))

    def on_home_screen_loaded(self, message: Loaded) -> None:
        s = message.summary
        worker = self.kiosk.runtime.worker
        who = worker.name if worker else t("ui.no_worker")
        self.query_one("#home-title", Static).update(
            f"{t('home.title')}: {who} · {'、'.join(s.grid_names)}")
        self.query_one("#home-summary", Static).update(
            t("home.summary", households=s.households, members=s.members, pending=s.pending))
        care = "  ".join(t("home.tag_count", tag=t(f"tag.{k}"), n=v) for k, v in s.tag_counts.items())
        self.query_one("#home-care", Static).update(f"{t('home.care')}: {care}")
        table = self.query_one(DataTable)
        table.clear()
        for h in message.households:
            table.add_row(present.address(h), h.head_name, str(h.member_count),
                          present.tags(h.tags), key=h.id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.open(event.row_key.value)

    def action_open_household(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key:
                self.open(key)

    def open(self, household_id: str) -> None:
        from screens.household import HouseholdScreen

        self.app.push_screen(HouseholdScreen(household_id))

"""The home screen of a grid worker: the grid at a glance and today's walk list.

The walk list (:mod:`db.walklist`) puts first what is due: revisits after 未遇, households
with cases awaiting a follow-up visit or a rating, care households not visited for
``care_revisit_days``, then the rest in walking order. It pages in SQL as the cursor nears
the end of what is loaded.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import date
from typing import ClassVar

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import Header, Static

from db.walklist import WalkEntry, walk_list
from kiosk.core.i18n import t, term
from kiosk.domain import present
from kiosk.households.home_data import GridSummary, load_home
from kiosk.security.roles import allowed, role_label
from screens.base import KioskScreen
from screens.widgets.footer import KioskFooter
from screens.widgets.result_list import ResultList


def grids_line(start: str, names: list[str], width: int) -> str:
    """``start`` and the grid names, as many whole names as fit ``width`` cells, then "等 N 个网格"
    (a supervisor's community has many grids: a name is never broken across lines)."""
    sep = t("role.separator")
    line = start + sep.join(names)
    if cell_len(line) <= width or len(names) <= 1:
        return line
    for n in range(len(names) - 1, 0, -1):
        line = start + sep.join(names[:n]) + t("home.more_grids", n=len(names) - n)
        if cell_len(line) <= width:
            return line
    return start + t("home.grids", n=len(names))


class HomeScreen(KioskScreen):
    #: what the acting worker needs to open it (None: the mode's or the caller's check)
    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [
        Binding(
            "enter", "open_household", term("ui.open"), id="home.open", tooltip=term("ui.open")
        ),
        Binding(
            "v",
            "record_visit",
            term("visits.walk.quick_visit"),
            id="home.record_visit",
            tooltip=term("visits.record_hint"),
        ),
        Binding(
            "/",
            "search",
            term("ui.search"),
            id="home.search",
            tooltip=term("ui.search"),
        ),
        Binding(
            "k",
            "to_verify",
            term("home.verify_key"),
            id="home.to_verify",
            tooltip=term("home.verify_hint"),
        ),
        Binding(
            "n",
            "new_household",
            term("household.form.new"),
            id="home.new_household",
            tooltip=term("household.form.new_hint"),
        ),
        Binding(
            "ctrl+f",
            "feedback",
            term("visits.feedback.title"),
            id="home.feedback",
            tooltip=term("visits.feedback.hint"),
        ),
        Binding(
            "ctrl+w",
            "survey",
            term("visits.survey.fill_anonymous"),
            id="home.survey",
            tooltip=term("visits.survey.fill_anonymous"),
        ),
    ]

    class Loaded(Message):
        """The grid's summary and first page of the walk list arrived (handled by HomeScreen)."""

        def __init__(self, summary: GridSummary, entries: list[WalkEntry]) -> None:
            super().__init__()
            self.summary = summary
            self.entries = entries

    class Page(Message):
        """A further page of the walk list (handled by HomeScreen)."""

        def __init__(self, generation: int, offset: int, entries: list[WalkEntry]) -> None:
            super().__init__()
            self.generation = generation
            self.offset = offset
            self.entries = entries

    def __init__(self) -> None:
        super().__init__()
        self.summary: GridSummary | None = None
        self._generation = 0
        self._loaded = 0
        self._exhausted = True
        self._loading_more = False
        #: the walk list shows only the households with numbers to verify (k)
        self.to_verify_only = False

    def compose(self) -> ComposeResult:
        yield Header()
        # One widget for the whole head of the screen (fewer widgets: a faster first frame).
        yield Static(t("ui.loading"), id="home-head")
        # The walk list: a line-API list, so the first screen paints quickly (see result_list).
        yield ResultList(
            [
                t("visits.walk.col_reason"),
                t("col.address"),
                t("col.head"),
                t("col.members"),
                t("col.tags"),
                t("visits.walk.col_last"),
            ],
            id="home-table",
        )
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one(ResultList).focus()
        prefetched = self.kiosk.take_home_prefetch()
        worker = self.kiosk.worker
        if worker is not None and not allowed(worker, "household.view"):
            # An administrator or an overseer: no households on their screen
            # (kiosk.security.roles); an overseer is pointed at the cases and the figures.
            area = worker.street or worker.district
            self.query_one("#home-head", Static).update(
                t("signin.overseer_home", name=worker.name, role=role_label(worker.role), area=area)
                if area
                else t("signin.admin_home", name=worker.name, role=role_label(worker.role))
            )
            self.call_after_refresh(self.kiosk.collector_may_run)
            return
        if prefetched is not None and prefetched.done() and prefetched.exception() is None:
            # Fetched on a thread while Textual started: the very first frame shows it.
            summary, entries = prefetched.result()
            self.on_home_screen_loaded(self.Loaded(summary, entries))
        else:
            self.load(prefetched)

    def on_screen_resume(self) -> None:
        if self.summary is not None:  # back from a visit: what is due has changed
            self.load()

    @property
    def page_size(self) -> int:
        return self.kiosk.runtime.settings.page_size

    @property
    def care_days(self) -> int:
        return self.kiosk.runtime.settings.care_revisit_days

    @work(thread=True, exclusive=True, group="home", exit_on_error=False)
    def load(self, prefetched: Future | None = None) -> None:
        # The first load may have been started by the app before the screen existed
        # (start-up overlaps the database work with Textual's own); later loads read afresh.
        if prefetched is not None:
            summary, entries = prefetched.result()
        else:
            summary, entries = load_home(
                self.kiosk.read(), self.kiosk.worker, self.care_days, self.page_size
            )
        self.post_message(self.Loaded(summary, entries))

    @work(thread=True, exclusive=True, group="home-page", exit_on_error=False)
    def load_page(self, generation: int, offset: int) -> None:
        s = self.summary
        if s is None:
            return
        entries = walk_list(
            self.kiosk.read(),
            s.grid_ids,
            today=date.today(),
            care_days=self.care_days,
            case_households=s.case_households,
            limit=self.page_size,
            offset=offset,
            to_verify_only=self.to_verify_only,
        )
        self.post_message(self.Page(generation, offset, entries))

    def on_home_screen_loaded(self, message: Loaded) -> None:
        s = message.summary
        self.summary = s
        self._generation += 1
        # a sign-in's collector hold ends once this frame is painted (KioskApp.collector_may_run)
        self.call_after_refresh(self.kiosk.collector_may_run)
        self.refresh_bindings()  # k shows only when there is something to verify
        worker = self.kiosk.worker
        who = worker.name if worker else t("ui.no_worker")
        care = "  ".join(
            t("home.tag_count", tag=t(f"tag.{k}"), n=v) for k, v in s.tag_counts.items()
        )
        w = s.walk
        walk = (
            t(
                "visits.walk.summary",
                revisit=w["revisit"],
                case=w["case"],
                care=w["care"],
                routine=w["routine"],
                done=w["visited_today"],
                days=self.care_days,
            )
            if message.entries
            else t("visits.walk.empty")
        )
        head = Content.assemble(
            (
                grids_line(f"{t('home.title')}: {who} · ", s.grid_names, self.size.width - 2),
                "bold $accent",
            ),
            "\n",
            (
                t("home.summary", households=s.households, members=s.members, pending=s.pending)
                + (t("home.to_verify", n=s.to_verify) if s.to_verify else ""),
                "$text-muted",
            ),
            "\n",
            (f"{t('home.care')}: {care}", "$text-muted"),
            "\n",
            (t("visits.walk.title"), "bold $accent"),
            "\n",
            (walk, "$text-muted"),
        )
        self.query_one("#home-head", Static).update(head)
        self._loaded = 0
        if self.to_verify_only:  # the list as k left it: read again with its filter
            self._exhausted, self._loading_more = False, True
            self.query_one(ResultList).clear()
            self.load_page(self._generation, 0)
            return
        self.add_entries(message.entries, replace=True)

    def on_home_screen_page(self, message: Page) -> None:
        if message.generation != self._generation or message.offset != self._loaded:
            return  # stale: the list was reloaded meanwhile
        self.add_entries(message.entries)

    def add_entries(self, entries: list[WalkEntry], replace: bool = False) -> None:
        table = self.query_one(ResultList)
        rows = []
        today = date.today()
        for e in entries:
            if e.reason == "revisit" or (e.revisit_on and e.reason == "routine"):
                late = (today - date.fromisoformat(e.revisit_on)).days if e.revisit_on else 0
                reason = (
                    t("visits.walk.revisit_late", date=e.revisit_on, days=late)
                    if late > 0
                    else t("visits.walk.revisit_on", date=e.revisit_on)
                )
            else:
                reason = t(f"visits.walk.{e.reason}")
            if self.to_verify_only:
                reason = t("home.verify_reason")
            if e.visited_today:
                reason = "✓ " + t("visits.walk.done_today")
            last = e.last_visit_at[:10] if e.last_visit_at else t("visits.walk.never")
            address = t(
                "address.full", compound=e.compound, building=e.building, unit=e.unit, room=e.room
            )
            rows.append(
                (
                    e.household_id,
                    (reason, address, e.head_name, str(e.member_count), present.tags(e.tags), last),
                )
            )
        if replace:
            table.set_rows(rows)
        else:
            table.add_rows(rows)
        self._loaded += len(entries)
        self._exhausted = len(entries) < self.page_size
        self._loading_more = False

    @on(ResultList.Highlighted, "#home-table")
    def maybe_load_more(self, event: ResultList.Highlighted) -> None:
        if (
            not self._exhausted
            and not self._loading_more
            and event.index >= event.result_list.row_count - 5
        ):
            self._loading_more = True
            self.load_page(self._generation, self._loaded)

    @on(ResultList.Selected, "#home-table")
    def row_selected(self, event: ResultList.Selected) -> None:
        self.open(event.key)

    def _current(self) -> str | None:
        table = self.query_one(ResultList)
        if not table.row_count:
            return None
        return table.key_at(table.cursor_row)

    def action_open_household(self) -> None:
        key = self._current()
        if key:
            self.open(key)

    #: what each of this screen's keys needs (kiosk/security/roles.py): an administrator,
    #: who does no household work, is not offered them
    ROLE_ACTIONS = {
        "record_visit": "visit.record",
        "search": "household.search",
        "feedback": "feedback.record",
        "survey": "survey.fill",
        "new_household": "household.edit",
    }

    def role_action(self, action: str, parameters: tuple[object, ...]) -> str | None:
        return self.ROLE_ACTIONS.get(action)

    async def action_search(self) -> None:
        await self.kiosk.action_section("households")

    def action_record_visit(self) -> None:
        key = self._current()
        if key:
            from screens.visits.visit_form import VisitFormScreen

            self.app.push_screen(VisitFormScreen(key))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "to_verify" and not (self.summary and self.summary.to_verify):
            return False  # nothing to verify in these grids: no key
        return super().check_action(action, parameters)

    def action_to_verify(self) -> None:
        """Only the households with numbers to verify (待核实), or the whole walk list again."""
        if self.summary is None:
            return
        self.to_verify_only = not self.to_verify_only
        self._generation += 1
        self._loaded, self._exhausted, self._loading_more = 0, False, True
        self.query_one(ResultList).clear()
        self.load_page(self._generation, 0)
        self.notify(
            t("home.verify_on", n=self.summary.to_verify)
            if self.to_verify_only
            else t("home.verify_off")
        )

    def action_new_household(self) -> None:
        """Register a household found on the walk (screens/households/editing.py), then open it."""
        if self.summary is not None and self.summary.grid_ids:
            self._new_household(list(self.summary.grid_ids))

    @work(thread=True, exclusive=True, group="home-new-household", exit_on_error=False)
    def _new_household(self, grid_ids: list[str]) -> None:
        from db.areas import compound_names, grids_by_ids
        from screens.households.editing import NewHouseholdScreen

        conn = self.kiosk.read()
        grids = [(g.code, g.name) for g in grids_by_ids(conn, grid_ids)]
        compounds = compound_names(conn, grid_ids)

        def opened(hid: str | None) -> None:
            if hid:
                self.open(hid)

        self.app.call_from_thread(
            self.app.push_screen, NewHouseholdScreen(grids, compounds), opened
        )

    def action_feedback(self) -> None:
        from screens.visits.feedback_form import FeedbackFormScreen

        self.app.push_screen(FeedbackFormScreen())

    def action_survey(self) -> None:
        from screens.visits.survey_fill import SurveyFillScreen

        self.app.push_screen(SurveyFillScreen(household_id=None))

    def open(self, household_id: str) -> None:
        from screens.households.household import open_household

        open_household(self.app, household_id)  # the app's kept screen, filled off screen

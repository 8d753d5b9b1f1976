"""A household: address, care tags, members (masked), and the visits and cases panels."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Header, Static

from db.households import Household, get_household
from kiosk import present
from kiosk.audit import record_lookup
from kiosk.i18n import t
from screens.base import KioskScreen
from screens.case_widgets import HouseholdCases  # the cases panel (issue 4)
from screens.widgets.footer import KioskFooter
from screens.widgets.qr import HouseholdQR
from screens.widgets.result_list import ResultList


class HouseholdScreen(KioskScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", t("ui.back"), id="household.back", tooltip=t("ui.back")),
        # cases (issue 4)
        Binding("c", "register_case", t("cases.ui.register"), id="household.register_case",
                tooltip=t("cases.ui.register_hint")),
        # visits (issue 3)
        Binding("v", "record_visit", t("visits.record"), id="household.record_visit",
                tooltip=t("visits.record_hint")),
        Binding("w", "fill_survey", t("visits.survey.fill"), id="household.fill_survey",
                tooltip=t("visits.survey.fill_hint")),
    ]

    class Loaded(Message):
        """The household arrived from the database (handled by HouseholdScreen)."""

        def __init__(self, household: Household | None) -> None:
            super().__init__()
            self.household = household

    def __init__(self, household_id: str) -> None:
        super().__init__()
        self.household_id = household_id
        self.household: Household | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="household-body"):
            yield Static(t("ui.loading"), id="household-address", classes="title")
            yield Static("", id="household-grid", classes="muted")
            yield Static("", id="household-tags", classes="tag")
            yield Static(t("household.members"), classes="title")
            yield ResultList([t("col.name"), t("col.relation"), t("col.gender"),
                              t("col.birth_year"), t("col.phone"), t("col.id_number")],
                             id="members-table")
            yield Static(t("household.cases"), classes="title")
            yield HouseholdCases(self.household_id, id="household-cases")
            yield Static(t("household.visits"), classes="title")
            yield Static(t("household.no_visits"), id="household-visits", classes="muted")
            yield HouseholdQR(self.household_id)  # the door label (issue 5, screens/widgets/qr.py)
        yield KioskFooter()

    def action_register_case(self) -> None:
        """Register a case for this household (issue 4); the cases panel reloads after."""
        from screens.case_register import CaseRegisterScreen

        self.app.push_screen(CaseRegisterScreen([self.household_id]),
                             lambda _: self.query_one(HouseholdCases).reload())

    def on_mount(self) -> None:
        self.load()
        self.load_visits()

    @work(thread=True, exclusive=True, group="household", exit_on_error=False)
    def load(self) -> None:
        self.post_message(self.Loaded(get_household(self.kiosk.read(), self.household_id)))
        record_lookup(self.kiosk, self.household_id)  # audited, on a thread of its own

    def on_household_screen_loaded(self, message: Loaded) -> None:
        h = message.household
        self.household = h
        if h is None:
            self.query_one("#household-address", Static).update(t("household.missing"))
            return
        self.query_one("#household-address", Static).update(present.address(h))
        self.query_one("#household-grid", Static).update(
            t("household.grid_line", street=h.street, community=h.community, grid=h.grid_name))
        self.query_one("#household-tags", Static).update(present.tags(h.tags))
        table = self.query_one("#members-table", ResultList)
        rows = []
        for m in h.members:
            row = present.member_row(m)
            rows.append((m.id, (str(row["name"]), str(row["relation"]), str(row["gender"]),
                                str(row["birth_year"] or ""), str(row["phone"]),
                                str(row["id_number"]))))
        table.set_rows(rows)
        table.styles.height = len(rows) + 1  # the header line and one line per member

    # --- visits panel (issue 3: "#household-visits") --------------------------------------
    VISITS_SHOWN = 10

    class VisitsLoaded(Message):
        """The household's latest visits, as text (handled by HouseholdScreen)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    @work(thread=True, exclusive=True, group="household-visits", exit_on_error=False)
    def load_visits(self) -> None:
        from db.visits import list_visits
        from kiosk.visits import format_visit

        visits = list_visits(self.kiosk.read(), self.household_id, limit=self.VISITS_SHOWN + 1)
        text = "\n".join(format_visit(v) for v in visits[: self.VISITS_SHOWN])
        if len(visits) > self.VISITS_SHOWN:
            text += "\n" + t("visits.more")
        self.post_message(self.VisitsLoaded(text or t("household.no_visits")))

    def on_household_screen_visits_loaded(self, message: VisitsLoaded) -> None:
        self.query_one("#household-visits", Static).update(Text(message.text))

    def on_screen_resume(self) -> None:
        self.load_visits()

    def action_record_visit(self) -> None:
        from screens.visit_form import VisitFormScreen

        self.app.push_screen(VisitFormScreen(self.household_id))

    def action_fill_survey(self) -> None:
        from screens.survey_fill import SurveyFillScreen

        self.app.push_screen(SurveyFillScreen(household_id=self.household_id))

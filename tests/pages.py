"""Page objects for the main screens: a test reads like the day ("open the household, record
a visit, add a problem, save") while the keys stay the ones a person presses."""

from __future__ import annotations

from typing import Any

from screens.cases.case_list import CasesScreen
from screens.households.household import HouseholdScreen
from screens.visits.visit_form import VisitFormScreen
from tests.pilot_helpers import settle


async def sign_in(app: Any, pilot: Any, name: str, pin: str) -> None:
    """At the sign-in screen, as a person: the name typed over whatever it offers, Enter, the
    PIN, Enter; then the app settles (the caller checks where it landed)."""
    from textual.widgets import Input

    field = app.screen.query_one("#signin-name", Input)
    field.focus()
    field.value = ""
    await pilot.press(*name, "enter")
    await pilot.press(*pin, "enter")
    await settle(app, pilot)


class Page:
    def __init__(self, app: Any, pilot: Any) -> None:
        self.app, self.pilot = app, pilot

    @property
    def screen(self) -> Any:
        return self.app.screen

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await settle(self.app, self.pilot)

    async def type(self, text: str) -> None:
        await self.press(*text)


class HouseholdPage(Page):
    @classmethod
    async def open(cls, app: Any, pilot: Any, household_id: str) -> HouseholdPage:
        await settle(app, pilot)
        await app.push_screen(HouseholdScreen(household_id))
        await settle(app, pilot)
        assert isinstance(app.screen, HouseholdScreen)
        return cls(app, pilot)

    async def record_visit(self) -> VisitFormPage:
        await self.press("v")
        assert isinstance(self.screen, VisitFormScreen), type(self.screen).__name__
        return VisitFormPage(self.app, self.pilot)


class VisitFormPage(Page):
    @property
    def form(self) -> VisitFormScreen:
        assert isinstance(self.screen, VisitFormScreen)
        return self.screen

    async def met_the_first_member(self) -> None:
        await self.press("space")

    async def add_problem(self, text: str, *, category_downs: int = 1) -> None:
        """F4, pick the category ``category_downs`` rows down the list, type the problem."""
        await self.press("f4")
        await self.press("enter", *["down"] * category_downs, "enter", "tab")
        await self.type(text)

    async def add_suggestion(self, text: str) -> None:
        await self.press("f5")
        await self.type(text)

    async def save(self) -> None:
        await self.press("ctrl+s")

    async def leave(self) -> None:
        await self.press("escape")

    @property
    def error(self) -> str:
        return str(self.form.query_one(f"#{self.form.ERROR_ID}").render())


class CaseListPage(Page):
    @classmethod
    async def open(cls, app: Any, pilot: Any) -> CaseListPage:
        await settle(app, pilot)
        app.switch_mode("cases")
        await settle(app, pilot)
        assert isinstance(app.screen, CasesScreen)
        return cls(app, pilot)

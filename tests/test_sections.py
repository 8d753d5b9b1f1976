"""F1-F5 open a section's first screen, whatever was opened in it last: F1 the walk list, F3
the case list; a visit form on the way is left as Esc leaves it, its draft kept."""

from __future__ import annotations

from db.drafts import load_draft
from screens.cases.case_detail import CaseDetailScreen
from screens.cases.case_list import CasesScreen
from screens.households.home import HomeScreen
from screens.households.household import HouseholdScreen
from screens.visits.visit_form import VisitFormScreen
from tests.pilot_helpers import settle, signed_in_app, until


async def test_section_keys_open_the_sections_first_screen(runtime, monkeypatch):
    monkeypatch.setattr(VisitFormScreen, "autosave_delay", 0.0)
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("enter")  # the first household of the walk list
        await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
        await settle(app, pilot)
        hid = app.screen.household_id
        await pilot.press("v", "space")
        await until(pilot, lambda: isinstance(app.screen, VisitFormScreen))
        await settle(app, pilot)
        await pilot.press("f1")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen) and len(app.screen_stack) == 1
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, CasesScreen))
        await settle(app, pilot)
        await pilot.press("enter")  # the first case
        await until(pilot, lambda: isinstance(app.screen, CaseDetailScreen))
        await pilot.press("f1")
        await settle(app, pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, CasesScreen) and len(app.screen_stack) == 1
    assert load_draft(runtime.conn, f"visit:{hid}") is not None  # left as Esc leaves it

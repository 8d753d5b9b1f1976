"""The visit form driven like a user: keystrokes, autosave, restore, discard, bad input."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from db.drafts import load_draft
from db.visits import list_visits
from screens.households.household import HouseholdScreen
from screens.visits.visit_form import VisitFormScreen
from tests.pages import HouseholdPage
from tests.pilot_helpers import settle, signed_in_app


@pytest.fixture(autouse=True)
def instant_autosave(monkeypatch):
    monkeypatch.setattr(VisitFormScreen, "autosave_delay", 0.0)


def _household(runtime) -> tuple[str, str]:
    row = runtime.conn.execute(
        "SELECT h.id, m.id FROM households h JOIN members m ON m.household_id = h.id"
        " WHERE h.member_count >= 2 ORDER BY h.rid LIMIT 1"
    ).fetchone()
    return row[0], row[1]


async def _open_form(app, pilot, hid: str) -> VisitFormScreen:
    await app.push_screen(HouseholdScreen(hid))
    await settle(app, pilot)
    await pilot.press("v")
    await settle(app, pilot)
    assert isinstance(app.screen, VisitFormScreen)
    return app.screen


async def test_routine_visit_with_one_problem(runtime):
    hid, head = _household(runtime)
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        household = await HouseholdPage.open(app, pilot, hid)
        visit = await household.record_visit()
        await visit.met_the_first_member()
        await visit.add_problem("no parking")
        await visit.save()
        assert isinstance(app.screen, HouseholdScreen)
    visits = list_visits(runtime.conn, hid)
    assert len(visits) == 1
    v = visits[0]
    assert v.visit_type == "door" and not v.nobody_home
    assert [m.member_id for m in v.met] == [head]
    assert [(i.kind, i.category, i.text) for i in v.items] == [("problem", "parking", "no parking")]
    assert v.items[0].case_id  # registered in the case ledger in the same transaction
    assert (
        runtime.conn.execute(
            "SELECT count(*) FROM cases WHERE id = ?", (v.items[0].case_id,)
        ).fetchone()[0]
        == 1
    )
    assert load_draft(runtime.conn, f"visit:{hid}") is None  # the draft went with the save


async def test_draft_autosaves_and_restores_after_leaving(runtime):
    hid, _ = _household(runtime)
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        household = await HouseholdPage.open(app, pilot, hid)
        visit = await household.record_visit()
        await visit.met_the_first_member()
        await visit.add_problem("lamp broken", category_downs=2)
        await visit.add_suggestion("more benches")
        draft = load_draft(runtime.conn, f"visit:{hid}")
        assert draft is not None
        assert draft.payload["problems"] == [{"category": "ebike_charging", "text": "lamp broken"}]
        assert draft.payload["suggestions"] == [{"text": "more benches"}]
        saved = draft.payload
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, HouseholdScreen)
        form = await _open_form(app, pilot, hid)
        assert form.collect() == saved
    assert list_visits(runtime.conn, hid) == []


async def test_discard_asks_first(runtime):
    hid, _ = _household(runtime)
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        await _open_form(app, pilot, hid)
        await pilot.press("space")
        await settle(app, pilot)
        assert load_draft(runtime.conn, f"visit:{hid}") is not None
        await pilot.press("ctrl+d")
        await settle(app, pilot)
        await pilot.press("n")  # changed my mind
        await settle(app, pilot)
        assert isinstance(app.screen, VisitFormScreen)
        assert load_draft(runtime.conn, f"visit:{hid}") is not None
        await pilot.press("ctrl+d")
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, HouseholdScreen)
    assert load_draft(runtime.conn, f"visit:{hid}") is None


async def test_revisit_in_the_past_is_refused_at_the_field(runtime):
    hid, _ = _household(runtime)
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        form = await _open_form(app, pilot, hid)
        form.query_one("#visit-nobody").focus()
        await pilot.press("space")  # nobody home: revisit date suggested as tomorrow
        await settle(app, pilot)
        revisit = form.query_one("#visit-revisit")
        assert revisit.value == (date.today() + timedelta(days=1)).isoformat()
        revisit.value = "2020-01-01"
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is form
        assert "2020-01-01" in str(form.query_one("#visit-error").render())
        assert app.focused is revisit and revisit.has_class("-invalid")
        revisit.value = date.today().isoformat()
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, HouseholdScreen)
    v = list_visits(runtime.conn, hid)[0]
    assert v.nobody_home and v.revisit_on == date.today().isoformat() and v.met == ()


async def test_huge_note_is_refused_and_nothing_saved(runtime):
    hid, _ = _household(runtime)
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        form = await _open_form(app, pilot, hid)
        await pilot.press("space")
        form.query_one("#visit-note").text = "很" * 100_000
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is form
        assert "100000" in str(form.query_one("#visit-error").render())
        assert app.focused is form.query_one("#visit-note")
    assert list_visits(runtime.conn, hid) == []
    assert (
        runtime.conn.execute(
            "SELECT count(*) FROM outbox WHERE entity IN ('visit', 'visit_item')"
        ).fetchone()[0]
        == 0
    )
    draft = load_draft(runtime.conn, f"visit:{hid}")
    assert draft is not None and len(draft.payload["note"]) == 100_000  # kept, not lost
    assert json.loads(json.dumps(draft.payload))["met_members"]


async def test_quitting_flushes_the_draft_at_once(runtime, monkeypatch):
    """Typing then quitting before the debounce fires still leaves the draft on disk."""
    monkeypatch.setattr(VisitFormScreen, "autosave_delay", 3600.0)
    hid, _ = _household(runtime)
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        form = await _open_form(app, pilot, hid)
        form.query_one("#visit-met-other").focus()
        await pilot.press(*"Li Ming")
        await pilot.pause()
        assert load_draft(runtime.conn, f"visit:{hid}") is None  # the debounce has not fired
        await pilot.press("ctrl+q")
        await pilot.pause()
    draft = load_draft(runtime.conn, f"visit:{hid}")
    assert draft is not None and draft.payload["met_other"] == "Li Ming"


async def test_history_newest_first_on_household_screen(runtime):
    from datetime import datetime

    from db.connection import transaction
    from db.visits import ItemInput, VisitInput, save_visit

    hid, _ = _household(runtime)
    with transaction(runtime.conn):
        save_visit(
            runtime.ctx,
            VisitInput(
                household_id=hid,
                visit_type="phone",
                note="OLDER",
                visited_at=datetime(2026, 3, 1, 10).astimezone().isoformat(),
            ),
        )
        save_visit(
            runtime.ctx,
            VisitInput(
                household_id=hid,
                note="NEWER [bold]x[/bold]",
                items=[ItemInput("suggestion", "装扶手")],
                visited_at=datetime(2026, 4, 1, 10).astimezone().isoformat(),
            ),
        )
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        text = str(app.screen.query_one("#household-visits").render())
        assert text.index("NEWER [bold]x[/bold]") < text.index("OLDER")  # newest first, no markup
        assert "装扶手" in text and "电话回访" in text


async def test_palette_records_a_visit_for_the_household_on_screen(runtime):
    from kiosk.app.palette import kiosk_commands

    hid, _ = _household(runtime)
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        commands = {c.title: c for c in kiosk_commands(app)}
        for key in (
            "visits.record",
            "visits.feedback.new",
            "visits.survey.fill",
            "visits.survey.fill_anonymous",
            "visits.walk.title",
        ):
            from kiosk.core.i18n import t

            assert t(key) in commands
        # each says more than its name where the palette shows it
        assert [c.title for c in commands.values() if c.help == c.title] == []
        commands[t("visits.record")].callback()
        await settle(app, pilot)
        assert isinstance(app.screen, VisitFormScreen) and app.screen.household_id == hid


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_f4_and_f5_show_what_they_add(runtime, size):
    """F4 adds a problem below the fold of a household with many members: the form scrolls
    to it and the cursor is in its category; F5 likewise for a suggestion."""
    from textual.widgets import Select

    from screens.visits.visit_form import ProblemRow

    hid = runtime.conn.execute(
        "SELECT id FROM households WHERE member_count >= 4 ORDER BY rid LIMIT 1"
    ).fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=size) as pilot:
        visit = await (await HouseholdPage.open(app, pilot, hid)).record_visit()
        screen = app.screen.region
        for key in ("f4", "f4", "f5"):
            await visit.press(key)
            focused = app.focused
            assert focused is not None and screen.contains_region(focused.region), key
        assert len(app.screen.query(ProblemRow)) == 2
        assert isinstance(app.screen.query(ProblemRow).last().query_one(Select), Select)
        assert "visit-suggestion" in app.focused.classes


async def test_a_visit_with_one_problem_takes_seven_keys_and_any_category_by_its_initials(
    runtime,
):
    """From the household screen to a saved visit with one problem: v, Space (met), F4, Enter
    (the list), Enter (the category found by typing), Tab, Ctrl+S: 7 keys besides what is
    typed (budget 8). Every category is found by its pinyin initials (路灯 by ld) or by its
    first character (路)."""
    from textual.widgets import Select

    from screens.visits.visit_form import ProblemRow, category_options

    hid, _ = _household(runtime)
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        household = await HouseholdPage.open(app, pilot, hid)
        keys: list[str] = []
        real_press = pilot.press

        async def press(*pressed: str) -> None:
            keys.extend(pressed)
            await real_press(*pressed)

        pilot.press = press  # type: ignore[method-assign]
        visit = await household.record_visit()
        await visit.press("space", "f4", "enter", *"ld", "enter", "tab", *"路灯不亮", "ctrl+s")
        assert isinstance(app.screen, HouseholdScreen)
        besides_text = list(keys)
        for ch in "ld" + "路灯不亮":  # what was typed: the category's initials, the problem
            besides_text.remove(ch)
        assert besides_text == ["v", "space", "f4", "enter", "enter", "tab", "ctrl+s"]
        assert len(besides_text) <= 8
    visits = list_visits(runtime.conn, hid)
    assert [(i.category, i.text) for i in visits[0].items] == [("street_lights", "路灯不亮")]

    options = category_options()
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        visit = await (await HouseholdPage.open(app, pilot, hid)).record_visit()
        for prompt, code in options:
            initials = prompt.plain.split()[-1]
            await visit.press("f4", "enter", *initials, "enter")
            row = app.screen.query(ProblemRow).last()
            assert row.query_one(Select).value == code, (code, initials)
        await visit.press("f4", "enter", "路", "enter")
        row = app.screen.query(ProblemRow).last()
        assert row.query_one(Select).value == "street_lights"


async def test_the_note_counts_its_characters_against_its_limit(runtime):
    from textual.widgets import Label, TextArea

    from screens.visits.visit_form import NOTE_LIMIT

    hid, _ = _household(runtime)
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        visit = await (await HouseholdPage.open(app, pilot, hid)).record_visit()
        label = app.screen.query_one("#visit-note-label", Label)
        assert f"0/{NOTE_LIMIT}" in str(label.render())
        app.screen.query_one("#visit-note", TextArea).text = "老人身体状况良好"
        await visit.press("end")
        assert f"8/{NOTE_LIMIT}" in str(label.render()) and not label.has_class("-over")
        app.screen.query_one("#visit-note", TextArea).text = "字" * (NOTE_LIMIT + 1)
        await settle(app, pilot)
        assert label.has_class("-over")

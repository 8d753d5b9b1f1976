"""Every main screen at 80x24 and 100x30, in Chinese and in English, reads in one language: no
Latin words in the Chinese interface but codes and commands (an allowlist), and no Chinese in
the English one but the district's own data (names, addresses, what residents said), which
stay as they were recorded. The footer never cuts a key."""

from __future__ import annotations

import html
import re

import pytest

from db.workers import worker_by_name
from kiosk.core.i18n import set_language
from kiosk.runtime import load, open_runtime
from screens.widgets.footer import KioskFooter
from tests.conftest import SUPERVISOR
from tests.pilot_helpers import settle, signed_in_app

#: Latin the Chinese interface may show: keys, codes, formats and commands
ALLOWED_LATIN = {
    "esc", "tab", "enter", "space", "ctrl", "shift", "PIN", "QR", "YYYY", "kiosk", "enrol",
    "hub", "code", "sync", "export", "import", "USB", "commands", "Delete", "delete", "del",
}  # fmt: skip
CASE_NUMBER = re.compile(r"\d{4}-[0-9A-F]{4}-\d{6}")
CJK = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e]+")
TEXT_TABLES = (
    "workers", "grids", "compounds", "households", "members", "visits", "visit_items",
    "feedback", "cases", "case_events", "case_state", "surveys", "survey_responses",
)  # fmt: skip


def frame_text(app) -> str:
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg.split("</style>")[-1])).replace("\xa0", " ")


def data_corpus(conn) -> str:
    """Every text the district's data holds (what may show in Chinese in any interface)."""
    out = []
    for table in TEXT_TABLES:
        for row in conn.execute(f"SELECT * FROM {table}"):
            out.extend(v for v in row if isinstance(v, str))
    return "\n".join(out)


async def _shots(app, pilot, runtime) -> dict[str, str]:
    from db.areas import grid_by_id
    from db.households import get_household
    from screens.cases.case_detail import CaseDetailScreen
    from screens.cases.case_rules import CaseRulesScreen
    from screens.cases.departments import DepartmentsScreen
    from screens.households.editing import (
        HouseholdFormScreen,
        MemberFormScreen,
        NewHouseholdScreen,
    )
    from screens.households.household import HouseholdScreen
    from screens.office.areas import AreasScreen, CompoundsScreen, NamesForm
    from screens.visits.feedback_form import FeedbackFormScreen
    from screens.visits.visit_form import VisitFormScreen

    conn = runtime.conn
    hid = conn.execute("SELECT id FROM households ORDER BY rid LIMIT 1").fetchone()[0]
    cid = conn.execute("SELECT case_id FROM case_state WHERE status = 'assigned'").fetchone()[0]
    household = get_household(conn, hid)
    assert household is not None and household.members
    shots = {}

    async def shot(name: str) -> None:
        await settle(app, pilot)
        footer = app.screen.query(KioskFooter)
        if footer:
            width = footer.first().size.width
            assert all(end <= width for _, end, _ in footer.first()._spans), name
        shots[name] = frame_text(app)

    await shot("home")
    for mode in ("households", "cases", "figures", "sync"):
        await app.switch_mode(mode)
        await shot(mode)
    await app.switch_mode("home")
    for screen, name in (
        (HouseholdScreen(hid), "household"),
        (VisitFormScreen(hid), "visit"),
        (FeedbackFormScreen(), "feedback"),
        (CaseDetailScreen(cid), "case"),
        (MemberFormScreen(household, household.members[0]), "member"),
        (MemberFormScreen(household), "new member"),
        (HouseholdFormScreen(household), "edit household"),
        (NewHouseholdScreen([("G001", household.grid_name), ("G002", "")], ["春华新苑"]), "new"),
        (DepartmentsScreen(), "departments"),
        (CaseRulesScreen(), "case rules"),
        (AreasScreen(), "areas"),
        (CompoundsScreen(grid_by_id(conn, household.grid_id)), "compounds"),
        (NamesForm("", [("name", "", "")]), "names"),
    ):
        await app.push_screen(screen)
        await shot(name)
        await app.pop_screen()
    app.lock("key")
    await shot("lock")
    return shots


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_every_screen_reads_in_one_language(demo_db, size, lang):
    runtime = open_runtime(load(db=str(demo_db), lang=lang))
    runtime.ctx.verified = True
    try:
        corpus = data_corpus(runtime.conn)
        app = signed_in_app(runtime, worker_by_name(runtime.conn, SUPERVISOR))
        async with app.run_test(size=size) as pilot:
            shots = await _shots(app, pilot, runtime)
        for name, text in shots.items():
            if lang == "zh":
                words = set(re.findall(r"[A-Za-z]{3,}", CASE_NUMBER.sub("", text)))
                assert words <= ALLOWED_LATIN, (name, sorted(words - ALLOWED_LATIN))
            else:
                # a run cut by the edge of a column is still a piece of the data
                foreign = {run for run in CJK.findall(text) if run not in corpus}
                assert not foreign, (name, sorted(foreign))
    finally:
        runtime.close()
        set_language("zh")

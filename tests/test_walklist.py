"""Today's walk list: what is due comes first, the rest in walking order, paged in SQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from db.connection import transaction
from db.visits import VisitInput, save_visit
from db.walklist import CARE_TAGS, walk_counts, walk_list
from tests.conftest import SUPERVISOR, acting_as
from tests.pilot_helpers import settle, signed_in_app


@pytest.fixture
def runtime(runtime):
    """The community's supervisor sets the scene: cases and visits in both demo grids."""
    with acting_as(runtime, SUPERVISOR):
        yield runtime


def _grid(conn):
    return conn.execute(
        "SELECT grid_id FROM households GROUP BY grid_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]


def _visit(ctx, hid, when: datetime, *, nobody=False, revisit=None):
    with transaction(ctx.conn):
        return save_visit(
            ctx,
            VisitInput(
                household_id=hid,
                nobody_home=nobody,
                revisit_on=revisit,
                visited_at=when.astimezone().isoformat(timespec="seconds"),
            ),
        )


def test_order_revisit_case_care_then_walking_order(runtime):
    conn, ctx = runtime.conn, runtime.ctx
    conn.execute("DELETE FROM visit_status")  # the demo's history aside: a clean slate
    gid = _grid(conn)
    today = date.today()
    rows = conn.execute("SELECT id, tags FROM households WHERE grid_id = ?", (gid,)).fetchall()
    plain = [r[0] for r in rows if not set(r[1].split()) & set(CARE_TAGS)]
    care = [r[0] for r in rows if set(r[1].split()) & set(CARE_TAGS)]
    now = datetime.now()
    for hid in plain + care:  # everybody met yesterday...
        conn.execute(
            "INSERT INTO visit_status(household_id, last_visit_at, last_visit_id,"
            " nobody_home, last_met_at) VALUES (?, ?, 'x', 0, ?)",
            (hid, (now - timedelta(days=1)).isoformat(), (now - timedelta(days=1)).isoformat()),
        )
    stale_care = care[0]  # ...except one care household last met 40 days ago
    conn.execute(
        "UPDATE visit_status SET last_met_at = ?, last_visit_at = ? WHERE household_id = ?",
        ((now - timedelta(days=40)).isoformat(),) * 2 + (stale_care,),
    )
    nobody_due = plain[5]
    _visit(ctx, nobody_due, now - timedelta(hours=1), nobody=True, revisit=today.isoformat())
    nobody_later = plain[6]
    _visit(
        ctx,
        nobody_later,
        now - timedelta(hours=1),
        nobody=True,
        revisit=(today + timedelta(days=3)).isoformat(),
    )
    case_hh = plain[7]
    entries = walk_list(
        conn, [gid], today=today, care_days=30, case_households={case_hh}, limit=1000
    )
    assert len(entries) == len(rows)
    assert [e.household_id for e in entries[:3]] == [nobody_due, case_hh, stale_care]
    assert [e.reason for e in entries[:3]] == ["revisit", "case", "care"]
    assert {e.reason for e in entries[3:]} == {"routine"}
    later = next(e for e in entries if e.household_id == nobody_later)
    assert later.reason == "routine" and later.revisit_on == (today + timedelta(days=3)).isoformat()
    rest = [(e.compound, int(e.building), int(e.unit), int(e.room)) for e in entries[3:]]
    assert rest == sorted(rest)  # walking order
    counts = walk_counts(conn, [gid], today=today, care_days=30, case_households={case_hh})
    assert (counts["revisit"], counts["case"], counts["care"]) == (1, 1, 1)
    assert counts["routine"] == len(rows) - 3
    # with a 60-day window the stale care household is no longer due
    assert walk_list(conn, [gid], today=today, care_days=60, limit=3)[1].household_id != stale_care


def test_pages_are_disjoint_and_complete(runtime):
    conn = runtime.conn
    gid = _grid(conn)
    today = date.today()
    whole = [e.household_id for e in walk_list(conn, [gid], today=today, limit=10_000)]
    paged = []
    for offset in range(0, len(whole), 37):
        paged += [
            e.household_id for e in walk_list(conn, [gid], today=today, limit=37, offset=offset)
        ]
    assert paged == whole and len(set(whole)) == len(whole)


def test_out_of_order_sync_keeps_latest_visit(runtime):
    """visit_status follows the latest visit whatever order rows arrive in (sync)."""
    conn, ctx = runtime.conn, runtime.ctx
    hid = conn.execute("SELECT id FROM households ORDER BY rid DESC LIMIT 1").fetchone()[0]
    conn.execute("DELETE FROM visit_status WHERE household_id = ?", (hid,))
    now = datetime.now()
    _visit(ctx, hid, now, nobody=True, revisit=(date.today() + timedelta(days=2)).isoformat())
    _visit(ctx, hid, now - timedelta(days=3))  # an older visit synced in later
    row = conn.execute(
        "SELECT nobody_home, revisit_on, last_met_at FROM visit_status WHERE household_id = ?",
        (hid,),
    ).fetchone()
    assert row[0] == 1 and row[1] is not None and row[2] is not None


async def test_home_screen_shows_walk_list_and_opens_visit(runtime):
    from screens.visits.visit_form import VisitFormScreen

    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#home-table")
        assert table.row_count == runtime.settings.page_size
        first = table.key_at(0)
        await pilot.press("v")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, VisitFormScreen) and app.screen.household_id == first
        await pilot.press("escape")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        for _ in range(table.row_count):  # the cursor nearing the end fetches the next page
            await pilot.press("down")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.row_count > runtime.settings.page_size


def test_case_group_comes_from_the_case_ledger(runtime, monkeypatch):
    """The ledger's query (db.cases) feeds the second group."""
    import db.walklist
    from db.walklist import case_due_households

    conn = runtime.conn
    gid = _grid(conn)
    last = conn.execute(
        "SELECT id FROM households WHERE grid_id = ? ORDER BY rid DESC LIMIT 1", (gid,)
    ).fetchone()[0]
    asked = []

    def awaiting(c, grid_ids):
        asked.append(list(grid_ids))
        return [last]

    monkeypatch.setattr(db.walklist, "households_awaiting_follow_up", awaiting)
    due = case_due_households(conn, [gid])
    assert due == {last} and asked == [[gid]]
    conn.execute("DELETE FROM visit_status")
    conn.execute("UPDATE households SET tags = '' WHERE grid_id = ?", (gid,))
    first = walk_list(conn, [gid], today=date.today(), case_households=due, limit=1)[0]
    assert first.household_id == last and first.reason == "case"


async def test_a_late_revisit_says_how_late(runtime):
    """A household not revisited on its date is marked with how many days late it is."""
    from db.workers import worker_by_name
    from tests.conftest import GRID_WORKER

    worker = worker_by_name(runtime.conn, GRID_WORKER)
    code = worker.grids[0]
    hid = runtime.conn.execute(
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code = ?"
        " ORDER BY h.rid LIMIT 1",
        (code,),
    ).fetchone()[0]
    revisit = (date.today() - timedelta(days=40)).isoformat()
    _visit(runtime.ctx, hid, datetime.now() - timedelta(days=41), nobody=True, revisit=revisit)
    app = signed_in_app(runtime, worker)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("#home-table")
        rows = {table.key_at(i): table.get_row_at(i) for i in range(table.row_count)}
        assert rows[hid][0] == "未遇，回访逾期 40 天"

"""Cases in the database: registration, events, refusals that write nothing, the state cache,
rows arriving by sync, many households per case, repeat detection, the demo."""

from __future__ import annotations

import json
from datetime import date

import pytest

from db.case_fold import CaseRefused
from db.cases import (
    CaseFilter,
    append_event,
    count_cases,
    find_case_id,
    get_case,
    list_cases,
    list_open_cases_for_household,
    refresh_dirty,
    register_case,
    repeat_candidates,
)
from db.connection import transaction
from kiosk.core.errors import UserError
from tests.conftest import SUPERVISOR, acting_as


@pytest.fixture
def runtime(runtime):
    """The community's supervisor sets the scene: cases and visits in both demo grids."""
    with acting_as(runtime, SUPERVISOR):
        yield runtime


def _households(conn, n=3, same_building=True):
    row = conn.execute("SELECT compound_id, building FROM households LIMIT 1").fetchone()
    if same_building:
        return [
            r[0]
            for r in conn.execute(
                "SELECT id FROM households WHERE compound_id = ? AND building = ? LIMIT ?",
                (row[0], row[1], n),
            )
        ]
    return [r[0] for r in conn.execute("SELECT id FROM households LIMIT ?", (n,))]


def _register(rt, households, category="roof_leak", summary="顶楼漏雨", **kw):
    with transaction(rt.conn):
        return register_case(
            rt.ctx, household_ids=households, category=category, summary=summary, **kw
        )


def _act(rt, cid, type_, data=None):
    with transaction(rt.conn):
        return append_event(rt.ctx, cid, type_, data or {})


def _outbox(conn):
    return conn.execute("SELECT count(*) FROM outbox").fetchone()[0]


def test_register_writes_case_links_event_and_outbox(runtime):
    conn = runtime.conn
    hh = _households(conn, 3)
    before = _outbox(conn)
    cid = _register(runtime, hh, visit_id="v-1", raised_by="居民")
    ops = conn.execute("SELECT entity, kind, payload FROM outbox ORDER BY seq").fetchall()[before:]
    assert [o[0] for o in ops] == ["case"] + ["case_household"] * 3 + ["case_event"]
    case_payload = json.loads(ops[0][2])
    assert set(case_payload) == {
        "id",
        "number",
        "category",
        "category_group",
        "summary",
        "grid_id",
        "visit_id",
        "raised_by",
        "registered_at",
    }
    assert case_payload["visit_id"] == "v-1"
    d = get_case(conn, cid)
    assert d.state.status == "registered" and d.category_group == "urban"
    assert [e.type for e in d.events] == ["register"]
    assert sorted(h.id for h in d.households) == sorted(hh)
    # one case, shown on each household it involves
    for h in hh:
        assert cid in [c.id for c in list_open_cases_for_household(conn, h)]
    assert find_case_id(conn, d.number) == cid and find_case_id(conn, cid) == cid


def test_case_numbers_count_up_per_device_and_year(runtime):
    hh = _households(runtime.conn, 1)
    a = get_case(runtime.conn, _register(runtime, hh, at="2027-01-02T10:00:00+08:00")).number
    b = get_case(runtime.conn, _register(runtime, hh, at="2027-03-02T10:00:00+08:00")).number
    year, tag, seq = a.split("-")
    assert year == "2027" and len(tag) == 4 and b == f"2027-{tag}-{int(seq) + 1:06d}"


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"category": "flying_cars"}, "cases.error.unknown_category"),
        ({"summary": "  "}, "cases.error.empty_summary"),
        ({"household_ids": []}, "cases.error.no_household"),
        ({"household_ids": ["nope"]}, "cases.error.unknown_household"),
    ],
)
def test_bad_registration_writes_nothing(runtime, kwargs, key):
    conn = runtime.conn
    args = {"household_ids": _households(conn, 1), "category": "noise", "summary": "噪音"}
    args.update(kwargs)
    before = (_outbox(conn), conn.execute("SELECT count(*) FROM cases").fetchone()[0])
    with pytest.raises(UserError) as err, transaction(conn):
        register_case(runtime.ctx, **args)
    assert err.value.key == key
    assert (_outbox(conn), conn.execute("SELECT count(*) FROM cases").fetchone()[0]) == before


@pytest.mark.parametrize(
    "steps, refused, rule",
    [
        ([], ("rate", {"rating": "satisfied"}), "cases.rule.rate_when_resolved"),
        ([("resolve", {})], ("close", {}), "cases.rule.close_needs_rating"),
        (
            [],
            ("assign", {"department": "d", "due": "2000-01-01"}),
            "cases.rule.due_before_registration",
        ),
        ([("resolve", {})], ("rate", {"rating": "meh"}), "cases.rule.bad_rating"),
        ([("resolve", {})], ("progress", {}), "cases.rule.progress_when_open"),
    ],
)
def test_refused_events_write_nothing(runtime, steps, refused, rule):
    conn = runtime.conn
    cid = _register(runtime, _households(conn, 1))
    for step in steps:
        _act(runtime, cid, *step)
    before = (_outbox(conn), conn.execute("SELECT count(*) FROM case_events").fetchone()[0])
    with pytest.raises(CaseRefused) as err:
        _act(runtime, cid, *refused)
    assert err.value.key == rule and err.value.exit_code != 0
    assert (_outbox(conn), conn.execute("SELECT count(*) FROM case_events").fetchone()[0]) == before


def test_state_cache_follows_events_and_filters_page_in_sql(runtime):
    conn = runtime.conn
    cid = _register(runtime, _households(conn, 1))
    _act(runtime, cid, "assign", {"department": "测试单位", "due": date.today().isoformat()})
    assert [c.id for c in list_cases(conn, CaseFilter(department="测试单位"))] == [cid]
    _act(runtime, cid, "progress", {"note": "n"})
    assert list_cases(conn, CaseFilter(department="测试单位", status="in_progress"))[0].id == cid
    assert count_cases(conn, CaseFilter(department="测试单位", status="assigned")) == 0
    _act(runtime, cid, "resolve", {})
    _act(runtime, cid, "rate", {"rating": "satisfied"})
    _act(runtime, cid, "close", {})
    assert list_cases(conn, CaseFilter(department="测试单位"))[0].status == "closed"
    h = _households(conn, 1)[0]
    assert cid not in [c.id for c in list_open_cases_for_household(conn, h)]
    page1 = list_cases(conn, limit=10, offset=0)
    page2 = list_cases(conn, limit=10, offset=10)
    assert len(page1) == 10 and not {c.id for c in page1} & {c.id for c in page2}


def test_filters_by_level_overdue_category_and_grid(runtime):
    conn = runtime.conn
    today = date.today()
    for level in (1, 2, 3):
        rows = list_cases(conn, CaseFilter(level=level), limit=500)
        assert rows and all(c.escalation_level == level for c in rows)
    overdue = list_cases(conn, CaseFilter(overdue=True), limit=500)
    assert overdue and all(c.overdue and c.due < today.isoformat() for c in overdue)
    urban = list_cases(conn, CaseFilter(category="urban"), limit=500)
    assert urban and all(c.category_group == "urban" for c in urban)
    grid = conn.execute("SELECT id FROM grids ORDER BY code LIMIT 1").fetchone()[0]
    mine = list_cases(conn, CaseFilter(grid_ids=[grid]), limit=500)
    assert mine and all(c.grid_id == grid for c in mine)
    assert list_cases(conn, CaseFilter(grid_ids=[])) == []


def test_events_arriving_by_sync_are_folded_on_the_next_read(runtime):
    """A replica inserts rows as they come (no fold): the trigger marks the case dirty."""
    conn = runtime.conn
    cid = _register(runtime, _households(conn, 1))
    with transaction(conn):
        conn.execute(
            "INSERT INTO case_events(id, case_id, type, at, data, hlc, worker_id, device_id)"
            " VALUES ('remote-1', ?, 'resolve', '2030-01-01T10:00:00+08:00', '{}',"
            " '999999999999999.00000', NULL, 'remote-device')",
            (cid,),
        )
        conn.execute(
            "INSERT INTO case_events(id, case_id, type, at, data, hlc, worker_id, device_id)"
            " VALUES ('remote-2', ?, 'close', '2030-01-01T10:00:00+08:00', '{}',"
            " '999999999999999.00001', NULL, 'remote-device')",
            (cid,),
        )
    assert conn.execute("SELECT dirty FROM case_state WHERE case_id = ?", (cid,)).fetchone()[0] == 1
    assert refresh_dirty(conn) == 1
    row = conn.execute(
        "SELECT status, n_invalid FROM case_state WHERE case_id = ?", (cid,)
    ).fetchone()
    assert tuple(row) == ("resolved", 1)  # the close without a rating is kept and flagged
    d = get_case(conn, cid)
    assert [e.invalid for e in d.events] == [None, None, "cases.rule.close_needs_rating"]


def test_repeat_candidates_by_place_category_and_text(runtime):
    conn = runtime.conn
    a, b = _households(conn, 2)
    first = _register(runtime, [a], category="sewer", summary="下水道堵塞返水")
    found = repeat_candidates(conn, [a], "sewer", "下水道又堵了")
    assert found and found[0].case.id == first and found[0].scope == "household"
    assert repeat_candidates(conn, [b], "sewer", "")[0].scope == "building"
    # another category and unrelated text: not proposed
    assert first not in [c.case.id for c in repeat_candidates(conn, [a], "heating", "暖气不热")]
    # similar text under another category: proposed
    assert first in [
        c.case.id for c in repeat_candidates(conn, [a], "sanitation", "下水道堵塞返水")
    ]
    # once marked as a repeat itself, a case is not proposed again
    second = _register(runtime, [a], category="sewer", summary="下水道堵塞")
    _act(runtime, second, "repeat_of", {"of": first})
    assert second not in [c.case.id for c in repeat_candidates(conn, [a], "sewer", "")]
    assert get_case(conn, second).state.status == "closed"


def test_demo_has_every_status_and_level(runtime):
    conn = runtime.conn
    statuses = {r[0] for r in conn.execute("SELECT DISTINCT status FROM case_state")}
    assert statuses == {"registered", "assigned", "in_progress", "resolved", "closed"}
    for level in (1, 2, 3):
        assert count_cases(conn, CaseFilter(level=level)) > 0
    kinds = {r[0] for r in conn.execute("SELECT DISTINCT close_kind FROM case_state")}
    assert {"rated", "unreachable", "repeat"} <= kinds
    assert conn.execute("SELECT count(*) FROM case_state WHERE reopen_count > 0").fetchone()[0]
    assert conn.execute("SELECT sum(n_invalid) FROM case_state").fetchone()[0] == 0
    big = conn.execute(
        "SELECT max(n) FROM (SELECT count(*) n FROM case_households GROUP BY case_id)"
    ).fetchone()[0]
    assert big > 10  # the roof leak of a whole building

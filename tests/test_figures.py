"""The figures equal a hand computation on a fixture of eight cases (see docs/cases.md for the
definitions), and ``kiosk stats --json`` includes them."""

from __future__ import annotations

import json
from datetime import date

import pytest

from db.case_fold import EscalationRules
from db.cases import append_event, register_case
from db.connection import transaction
from kiosk.cases.figures import Scope, compute
from tests.conftest import SUPERVISOR, acting_as


@pytest.fixture
def runtime(runtime):
    """The community's supervisor sets the scene: cases and visits in both demo grids."""
    with acting_as(runtime, SUPERVISOR):
        yield runtime


TODAY = date(2026, 6, 30)
RULES = EscalationRules(urge_days=7, investigate_days=7)


def clear_cases(conn) -> None:
    with transaction(conn):
        for table in ("case_events", "case_households", "case_state", "cases"):
            conn.execute(f"DELETE FROM {table}")


def build_fixture(rt) -> dict[int, str]:
    """Eight cases with known outcomes in two grids (A and B)."""
    conn, ctx = rt.conn, rt.ctx
    clear_cases(conn)
    grids = [r[0] for r in conn.execute("SELECT id FROM grids ORDER BY code LIMIT 2")]
    hh = {
        g: conn.execute(
            "SELECT id FROM households WHERE grid_id = ? ORDER BY rid LIMIT 1", (g,)
        ).fetchone()[0]
        for g in grids
    }
    A, B = hh[grids[0]], hh[grids[1]]
    cases: dict[int, str] = {}

    def reg(n, household, category, day):
        with transaction(conn):
            cases[n] = register_case(
                ctx,
                household_ids=[household],
                category=category,
                summary=f"事项{n}",
                at=f"2026-06-{day:02d}T09:00:00+08:00",
            )

    def act(n, type_, **data):
        with transaction(conn):
            append_event(ctx, cases[n], type_, data)

    reg(1, A, "noise", 1)
    act(1, "assign", department="派出所", due="2026-06-10")  # 20 days late: level 3
    reg(2, A, "noise", 1)
    act(2, "assign", department="派出所", due="2026-06-25")  # 5 days late: level 1
    act(2, "progress", note="n")
    reg(3, A, "parking", 2)
    act(3, "resolve")
    act(3, "rate", rating="satisfied")
    act(3, "close")
    reg(4, B, "parking", 3)
    act(4, "assign", department="城管", due="2026-06-20")
    act(4, "resolve")
    act(4, "rate", rating="dissatisfied")  # reopened
    act(4, "resolve")
    act(4, "rate", rating="basic")
    act(4, "close")
    reg(5, B, "sewer", 5)
    act(5, "resolve_on_spot")  # resolved, not rated yet
    reg(6, B, "sewer", 6)
    act(6, "repeat_of", of=cases[5])
    reg(7, A, "heating", 10)
    act(7, "assign", department="供热公司", due="2026-06-20")  # 10 days late: level 2
    reg(8, A, "heating", 10)
    act(8, "resolve")
    for _ in range(3):
        act(8, "follow_up", reached=False)
    act(8, "close", attempts_required=3, reason="长期外出")
    return cases


def test_totals_equal_the_hand_computation(runtime):
    build_fixture(runtime)
    f = compute(runtime.conn, today=TODAY, rules=RULES)
    assert f["total"] == {
        "registered": 8,
        "repeats": 1,
        "base": 7,
        "resolved": 4,
        "closed": 3,
        "first_time": 3,
        "rated": 2,
        "satisfied": 2,
        "open": 3,
        "overdue": 3,
        "level_1": 1,
        "level_2": 1,
        "level_3": 1,
        "on_spot": 1,
        "unreachable": 1,
        "resolution_rate": round(4 / 7, 4),
        "completion_rate": round(3 / 7, 4),
        "first_time_rate": 0.75,
        "satisfaction_rate": 1.0,
    }


def test_breakdowns_equal_the_hand_computation(runtime):
    build_fixture(runtime)
    f = compute(runtime.conn, today=TODAY, rules=RULES)
    by_grid = {r["key"]: r for r in f["by_grid"]}
    a, b = (by_grid[k] for k in sorted(by_grid))
    assert (
        a["registered"],
        a["base"],
        a["resolved"],
        a["closed"],
        a["first_time"],
        a["rated"],
        a["open"],
        a["overdue"],
        a["level_1"],
        a["level_2"],
        a["level_3"],
    ) == (5, 5, 2, 2, 2, 1, 3, 3, 1, 1, 1)
    assert (
        b["registered"],
        b["repeats"],
        b["base"],
        b["resolved"],
        b["closed"],
        b["first_time"],
        b["rated"],
        b["satisfied"],
        b["open"],
    ) == (3, 1, 2, 2, 1, 1, 1, 1, 0)
    assert b["first_time_rate"] == 0.5 and a["satisfaction_rate"] == 1.0
    groups = {r["key"]: r["registered"] for r in f["by_category_group"]}
    assert groups == {"petition_safety": 2, "urban": 4, "livelihood": 2}
    cats = {r["key"]: (r["registered"], r["resolved"]) for r in f["by_category"]}
    assert cats == {"noise": (2, 0), "parking": (2, 2), "sewer": (2, 1), "heating": (2, 1)}
    depts = {r["key"]: r["registered"] for r in f["by_department"]}
    assert depts == {"": 4, "派出所": 2, "城管": 1, "供热公司": 1}
    weeks = {r["key"]: r["registered"] for r in f["by_week"]}
    assert weeks == {"2026-06-01": 6, "2026-06-08": 2}  # 2026-06-01 is a Monday


def test_period_and_grid_scope(runtime):
    build_fixture(runtime)
    conn = runtime.conn
    f = compute(conn, Scope(date(2026, 6, 5), date(2026, 6, 6)), today=TODAY, rules=RULES)
    assert (f["total"]["registered"], f["total"]["repeats"], f["total"]["resolved"]) == (2, 1, 1)
    grid_b = conn.execute("SELECT id FROM grids ORDER BY code LIMIT 1 OFFSET 1").fetchone()[0]
    f = compute(conn, Scope(grid_id=grid_b), today=TODAY, rules=RULES)
    assert f["total"]["registered"] == 3


def test_escalation_settings_change_the_levels(runtime):
    build_fixture(runtime)
    f = compute(runtime.conn, today=TODAY, rules=EscalationRules(urge_days=30, investigate_days=30))
    assert (f["total"]["level_1"], f["total"]["level_2"], f["total"]["level_3"]) == (3, 0, 0)


def test_rates_are_none_without_cases(runtime):
    clear_cases(runtime.conn)
    f = compute(runtime.conn, today=TODAY)
    assert f["total"]["registered"] == 0
    assert all(
        f["total"][k] is None
        for k in ("resolution_rate", "completion_rate", "first_time_rate", "satisfaction_rate")
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_stats_json_includes_the_figures(kiosk, demo_db, lang):
    out = kiosk("stats", "--db", str(demo_db), "--json", "--lang", lang)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    for key in (
        "resolution_rate",
        "completion_rate",
        "first_time_rate",
        "satisfaction_rate",
        "cases_overdue",
        "cases_level_1",
        "cases_level_2",
        "cases_level_3",
        "cases_repeats",
    ):
        assert key in doc
    figures = doc["case_figures"]
    assert figures["total"]["registered"] == doc["cases"] > 0
    for dim in ("by_grid", "by_category", "by_category_group", "by_department", "by_week"):
        assert figures[dim]
    assert 0 < doc["resolution_rate"] <= 1


# --- property: the SQL figures equal a reference computed from the fold ---------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from db.case_fold import escalation_level, fold, is_overdue  # noqa: E402
from tests.test_cases_fold import event_logs  # noqa: E402


def reference(states, today, rules) -> dict:
    """The definitions of docs/cases.md, written plainly over folded states."""
    m = dict.fromkeys(
        (
            "registered",
            "repeats",
            "base",
            "resolved",
            "closed",
            "first_time",
            "rated",
            "satisfied",
            "open",
            "overdue",
            "level_1",
            "level_2",
            "level_3",
            "on_spot",
            "unreachable",
        ),
        0,
    )
    for s in states:
        m["registered"] += 1
        repeat = s.close_kind == "repeat"
        m["repeats"] += repeat
        if not repeat:
            m["base"] += 1
            done = s.status in ("resolved", "closed")
            m["resolved"] += done
            m["closed"] += s.status == "closed"
            m["first_time"] += done and s.reopen_count == 0
            m["rated"] += s.last_rating is not None
            m["satisfied"] += s.last_rating in ("satisfied", "basic")
            m["on_spot"] += done and s.on_spot
        m["open"] += s.is_open
        m["overdue"] += is_overdue(s, today)
        level = escalation_level(s, today, rules)
        if level:
            m[f"level_{level}"] += 1
        m["unreachable"] += s.close_kind == "unreachable"
    return m


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(event_logs(), min_size=1, max_size=8), st.integers(0, 400))
def test_figures_equal_the_fold_reference(runtime, logs, day):
    import json as _json
    from datetime import timedelta

    conn = runtime.conn
    clear_cases(conn)
    grid = conn.execute("SELECT id FROM grids LIMIT 1").fetchone()[0]
    today = date(2026, 1, 1) + timedelta(days=day)
    with transaction(conn):  # rows as sync would apply them: inserted, folded on the next read
        for i, events in enumerate(logs):
            cid = f"case-{i}"
            conn.execute(
                "INSERT INTO cases(id, number, category, category_group, summary, grid_id,"
                " registered_at, hlc, device_id) VALUES (?, ?, 'noise', 'petition_safety', 's',"
                " ?, '2026-03-01T09:00:00+08:00', '0', 'dev')",
                (cid, f"N{i}", grid),
            )
            for e in events:
                conn.execute(
                    "INSERT INTO case_events(id, case_id, type, at, data, hlc, worker_id,"
                    " device_id) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                    (f"{cid}-{e.id}", cid, e.type, e.at, _json.dumps(e.data), e.hlc, e.device_id),
                )
    states = [
        fold(
            [
                e.__class__(f"case-{i}-{e.id}", e.type, e.hlc, e.device_id, e.at, e.by, e.data)
                for e in events
            ]
        )
        for i, events in enumerate(logs)
    ]
    f = compute(conn, today=today, rules=RULES)
    expected = reference(states, today, RULES)
    assert {k: f["total"][k] for k in expected} == expected
    assert f["by_grid"][0]["registered"] == len(logs)

"""Visits in the data layer and the CLI: one transaction, outbox payloads, bad input, figures."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from db.connection import transaction
from db.visits import list_visits
from kiosk.domain.visits import VisitInvalid, record_visit, validate
from tests.conftest import DEMO_PINS

WORKER_PIN = DEMO_PINS["演示网格员"]  # every demo grid worker has the demo account's PIN

VISIT_COLUMNS = {
    "id",
    "household_id",
    "grid_id",
    "visit_type",
    "visited_at",
    "visit_date",
    "nobody_home",
    "revisit_on",
    "met",
    "note",
}
ITEM_COLUMNS = {"id", "visit_id", "kind", "category", "text", "position", "case_id"}


def _hh(conn):
    return conn.execute(
        "SELECT h.id, m.id FROM households h JOIN members m ON m.household_id = h.id"
        " ORDER BY h.rid LIMIT 1"
    ).fetchone()


def _form(member, **kw):
    form = {
        "met_members": [member],
        "problems": [
            {"category": "parking", "text": "停车难"},
            {"category": "sewer", "text": "下水堵"},
            {"category": "noise", "text": "夜里噪音"},
        ],
        "suggestions": [{"text": "多装路灯"}],
    }
    form.update(kw)
    return form


def test_visit_with_three_problems_is_one_transaction(runtime):
    conn, ctx = runtime.conn, runtime.ctx
    hid, mid = _hh(conn)
    seq = conn.execute("SELECT COALESCE(max(seq), 0) FROM outbox").fetchone()[0]
    with transaction(conn):
        vid = record_visit(ctx, hid, _form(mid), today=date.today())
    v = list_visits(conn, hid)[0]
    assert v.id == vid and [i.kind for i in v.items] == ["problem"] * 3 + ["suggestion"]
    assert all(i.case_id for i in v.items[:3]) and v.items[3].case_id is None
    ops = conn.execute(
        "SELECT entity, kind, payload FROM outbox WHERE seq > ? ORDER BY seq", (seq,)
    ).fetchall()
    visit_ops = [json.loads(p) for e, k, p in ops if e == "visit"]
    item_ops = [json.loads(p) for e, k, p in ops if e == "visit_item"]
    assert len(visit_ops) == 1 and set(visit_ops[0]) == VISIT_COLUMNS
    assert len(item_ops) == 4 and all(set(p) == ITEM_COLUMNS for p in item_ops)
    assert {e for e, _, _ in ops} >= {"visit", "visit_item"}
    cases = conn.execute("SELECT count(*) FROM cases WHERE visit_id = ?", (vid,)).fetchone()[0]
    assert cases == 3


def test_failure_half_way_leaves_nothing(runtime, monkeypatch):
    import db.visits

    conn, ctx = runtime.conn, runtime.ctx
    hid, mid = _hh(conn)
    real = db.visits.register_case
    calls = []

    def flaky(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*a, **kw)

    monkeypatch.setattr(db.visits, "register_case", flaky)
    before = [
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("visits", "visit_items", "cases", "outbox")
    ]
    with pytest.raises(RuntimeError), transaction(conn):
        record_visit(ctx, hid, _form(mid), today=date.today())
    after = [
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("visits", "visit_items", "cases", "outbox")
    ]
    assert after == before


@pytest.mark.parametrize(
    "change, field",
    [
        ({"nobody_home": True, "revisit_on": ""}, "revisit_on"),
        ({"nobody_home": True, "revisit_on": "2020-01-01"}, "revisit_on"),
        ({"nobody_home": True, "revisit_on": "2026-02-30"}, "revisit_on"),
        ({"nobody_home": True, "revisit_on": "9999-12-31"}, "revisit_on"),
        ({"note": "x" * 100_000}, "note"),
        ({"met_members": []}, "met_members"),
        ({"met_members": ["not-a-member"]}, "met_members"),
        ({"visit_type": "party"}, "visit_type"),
        ({"problems": [{"category": "", "text": "no category"}]}, "problem.0.category"),
        (
            {
                "problems": [
                    {"category": "parking", "text": "ok"},
                    {"category": "nope", "text": "x"},
                ]
            },
            "problem.1.category",
        ),
        ({"problems": [{"category": "parking", "text": ""}]}, "problem.0.text"),
        ({"suggestions": [{"text": "y" * 501}]}, "suggestion.0.text"),
    ],
)
def test_bad_input_names_the_field(runtime, change, field):
    hid, mid = _hh(runtime.conn)
    with pytest.raises(VisitInvalid) as info:
        validate(runtime.conn, hid, _form(mid, **change), today=date.today())
    assert info.value.field == field
    assert info.value.message() and "{" not in info.value.message()


def test_nobody_home_today_or_later_is_fine(runtime):
    hid, mid = _hh(runtime.conn)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    v = validate(
        runtime.conn,
        hid,
        _form(mid, nobody_home=True, revisit_on=tomorrow, problems=[]),
        today=date.today(),
    )
    assert v.nobody_home and v.revisit_on == tomorrow and v.met == []


def test_cli_visit_add_list_and_bad_input(kiosk, demo_db, monkeypatch):
    import sqlite3

    db = str(demo_db)
    conn = sqlite3.connect(db)
    # the last household, and its grid's worker (a visit is recorded in the worker's own grid)
    hid, worker = conn.execute(
        "SELECT h.id, w.name FROM households h JOIN grids g ON g.id = h.grid_id"
        " JOIN workers w ON w.role = 'worker' AND w.grids LIKE '%\"' || g.code || '\"%'"
        " ORDER BY h.rid DESC LIMIT 1"
    ).fetchone()
    conn.close()
    r = kiosk(
        "visits",
        "add",
        hid,
        "--db",
        db,
        "--met",
        "王阿姨",
        "--problem",
        "parking:车位不够",
        "--problem",
        "路灯:楼前路灯坏了",
        "--json",
        as_worker=worker,
        pin=WORKER_PIN,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["cases"] == 2
    past = kiosk(
        "visits",
        "add",
        hid,
        "--db",
        db,
        "--nobody-home",
        "--revisit",
        "2020-01-01",
        as_worker=worker,
        pin=WORKER_PIN,
    )
    assert past.returncode == 2 and "2020-01-01" in past.stderr and "Traceback" not in past.stderr
    long = kiosk(
        "visits",
        "add",
        hid,
        "--db",
        db,
        "--met",
        "王",
        "--note",
        "x" * 100_000,
        as_worker=worker,
        pin=WORKER_PIN,
    )
    assert long.returncode == 2 and "100000" in long.stderr
    fmt = kiosk(
        "visits",
        "add",
        hid,
        "--db",
        db,
        "--met",
        "王",
        "--problem",
        "no colon",
        as_worker=worker,
        pin=WORKER_PIN,
    )
    assert fmt.returncode == 2 and "no colon" in fmt.stderr
    listed = kiosk("visits", "list", hid, "--db", db, "--json")
    visits = json.loads(listed.stdout)["visits"]
    assert len(visits) == 1 and [i["category"] for i in visits[0]["items"]] == [
        "parking",
        "street_lights",
    ]


def test_stats_json_has_visit_figures(kiosk, demo_db):
    r = kiosk("stats", "--db", str(demo_db), "--json")
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout)
    for key in ("visits_today", "visits_this_week", "households_visited", "nobody_home"):
        assert isinstance(figures[key], int)
    assert (
        figures["households_visited"] > 0 and figures["visits_this_week"] >= figures["visits_today"]
    )


def test_visit_figures_count_what_happened(runtime):
    from db.visits import visit_figures

    conn, ctx = runtime.conn, runtime.ctx
    today = date.today()
    before = visit_figures(conn, today)
    hid, mid = _hh(conn)
    with transaction(conn):
        record_visit(ctx, hid, _form(mid, problems=[]), today=today)
        record_visit(
            ctx,
            hid,
            _form(mid, problems=[], nobody_home=True, revisit_on=today.isoformat()),
            today=today,
        )
    after = visit_figures(conn, today)
    assert after["visits_today"] == before["visits_today"] + 2
    assert after["visits_this_week"] == before["visits_this_week"] + 2
    assert after["nobody_home"] == before["nobody_home"] + 1

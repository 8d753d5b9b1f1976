"""A supervisor's day with a grid worker's: a case registered at the door travels to the
office, is assigned (department, person, deadline), reaches the worker's laptop, is pushed
through and resolved, rated 不满意 (which reopens it), resolved again, rated 满意, and closed
(销号); then the three ledgers and the figures agree with those events. Two laptops, one hub,
the real `kiosk` command for every step, each as the person whose step it is."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date, timedelta

from tests.conftest import GRID_WORKER, SUPERVISOR
from tests.journeys.conftest import kiosk_as, sync, the_day_holds


def _q(path, sql, *args):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _status(laptop, case_id) -> str:
    """The case's status as the laptop shows it (`kiosk cases show`: folded from its events,
    those that arrived by sync included)."""
    out = kiosk_as(laptop, SUPERVISOR, "cases", "show", case_id, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["status"]


def _act(laptop, who, case_id, action, *extra) -> None:
    out = kiosk_as(laptop, who, "cases", "act", case_id, action, *extra)
    assert out.returncode == 0, (action, out.stderr)


NOTE = '-物业已上门查看, 说"明天来修"'


def _ledger(laptop, kind, tmp_path) -> list[dict]:
    path = tmp_path / f"{kind}.csv"
    out = kiosk_as(laptop, SUPERVISOR, "ledger", kind, "--out", str(path))
    assert out.returncode == 0, out.stderr
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_a_supervisors_day(hub, demo_db, tmp_path):
    field, office = demo_db, tmp_path / "office.db"
    hub.enrol(field, "演示网格员的笔记本", "--grid", "G001")
    community = _q(field, "SELECT community FROM grids WHERE code = 'G001'")[0][0]
    hub.enrol(office, "社区办公室", "--community", community)
    sync(field)
    sync(office)

    # At the door: the grid worker registers a case on a household of their grid.
    hid = _q(
        field,
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1",
    )[0][0]
    out = kiosk_as(
        field,
        GRID_WORKER,
        "cases",
        "add",
        "--household",
        hid,
        "--category",
        "roof_leak",
        "--summary",
        "顶楼漏雨",
        "--raised-by",
        "王阿姨",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    case = json.loads(out.stdout)
    sync(field)

    # At the office: the case is there; the supervisor assigns it with a deadline.
    sync(office)
    assert _status(office, case["id"]) == "registered"
    due = (date.today() + timedelta(days=7)).isoformat()
    _act(
        office,
        SUPERVISOR,
        case["id"],
        "assign",
        "--department",
        "物业公司",
        "--person",
        "李师傅",
        "--due",
        due,
    )
    sync(office)

    # The worker's laptop receives the assignment, and the worker follows it through.
    sync(field)
    assert _status(field, case["id"]) == "assigned"
    # typed as a person types: a comma, quotes, a leading minus (the ledger quotes and
    # neutralises what it must, row by row)
    _act(field, GRID_WORKER, case["id"], "progress", "--note", NOTE)
    _act(field, GRID_WORKER, case["id"], "resolve", "--note", "屋顶已补漏")
    _act(field, GRID_WORKER, case["id"], "rate", "--rating", "dissatisfied")
    assert _status(field, case["id"]) == "in_progress"  # 不满意 reopens
    _act(field, GRID_WORKER, case["id"], "resolve", "--note", "重新做了防水")
    _act(field, GRID_WORKER, case["id"], "rate", "--rating", "satisfied")
    sync(field)

    # The supervisor closes it (销号).
    sync(office)
    assert _status(office, case["id"]) == "resolved"
    _act(office, SUPERVISOR, case["id"], "close")
    sync(office)
    sync(field)
    assert _status(field, case["id"]) == _status(office, case["id"]) == "closed"

    # The ledgers and the figures say what happened, on both laptops alike.
    events = [
        r[0]
        for r in _q(
            office, "SELECT type FROM case_events WHERE case_id = ? ORDER BY hlc", case["id"]
        )
    ]
    assert events == [
        "register",
        "assign",
        "progress",
        "resolve",
        "rate",
        "resolve",
        "rate",
        "close",
    ]
    original = [r for r in _ledger(office, "original", tmp_path) if case["number"] in r.values()]
    assert len(original) == 1
    progress = [r for r in _ledger(office, "progress", tmp_path) if case["number"] in r.values()]
    assert len(progress) >= 2  # the assignment and the progress note at least
    assert sum("'" + NOTE in r.values() for r in progress) == 1
    resolution = [
        r for r in _ledger(office, "resolution", tmp_path) if case["number"] in r.values()
    ]
    assert len(resolution) >= 1
    text = json.dumps(original + progress + resolution, ensure_ascii=False)
    assert "物业公司" in text and "重新做了防水" in text

    figures = {}
    for laptop in (field, office):
        out = kiosk_as(laptop, SUPERVISOR, "stats", "--json")
        assert out.returncode == 0, out.stderr
        figures[laptop] = json.loads(out.stdout)["case_figures"]["total"]
    closed = {p: f["closed"] for p, f in figures.items()}
    assert closed[field] >= 1 and closed[office] >= 1
    the_day_holds(hub, field, office)

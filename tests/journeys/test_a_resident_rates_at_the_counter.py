"""A resident rates their case at the community office's counter: the grid worker registers
and resolves a broken street light on their laptop and prints the resident's slip; the
administrator creates the counter's identity, the counter PC is enrolled as the community's
counter and syncs; the resident scans the printed slip at the counter (the real screen under
Pilot) and rates 不满意 with a comment; after the syncs the worker's laptop sees the case
reopened by the resident's rating. The counter never held a household; the audit chains
verify and every replica holds what the hub holds."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import ADMINISTRATOR, GRID_WORKER, run_kiosk
from tests.journeys.conftest import kiosk_as, sync, the_day_holds
from tests.journeys.test_two_laptops_and_the_office import _rows

COUNTER, COUNTER_PIN = "安静社区一号柜台", "480216"


def _q(path, sql, *args):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def _resident_rates_dissatisfied(counter_db, payload: str, number: str) -> None:
    """At the counter: the identity's PIN typed when the administrator started it (as
    ``kiosk resident --worker`` does), then the resident's scan and rating."""
    from db.connection import transaction
    from db.workers import worker_by_name
    from kiosk.app.resident import ResidentApp
    from kiosk.runtime import load, open_runtime
    from kiosk.security.session import attempt
    from screens.resident.slip import SlipScreen
    from tests.pilot_helpers import settle, until
    from tests.qr_helpers import wedge

    runtime = open_runtime(load(db=str(counter_db), worker=COUNTER))

    def write(fn):
        with transaction(runtime.conn):
            return fn(runtime.ctx)

    attempt(runtime.conn, write, COUNTER, COUNTER_PIN, remember=False)
    runtime.ctx.verified = True
    counter = worker_by_name(runtime.conn, COUNTER)
    app = ResidentApp(runtime, counter)
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await settle(app, pilot)
            await wedge(app, pilot, payload.lower())  # Caps Lock was left on
            await until(pilot, lambda: isinstance(app.screen, SlipScreen))
            assert app.screen.view.number == number and app.screen.view.can_rate
            await pilot.press("3", *"light still off", "enter")
            await settle(app, pilot)
            await until(
                pilot, lambda: "重新办理" in str(app.screen.query_one("#resident-message").render())
            )
    finally:
        runtime.close()


@pytest.fixture
def office_roster(demo_db):
    """The office's roster as the hub is seeded with it (before ``hub``): the administrator
    has created the counter's identity for the community on the office's set-up PC."""
    community = _q(demo_db, "SELECT community FROM grids WHERE code = 'G001'")[0][0]
    out = run_kiosk(
        "workers", "add", COUNTER, "--role", "kiosk", "--community", community, "--new-pin-stdin",
        "--db", str(demo_db), as_worker=ADMINISTRATOR, input=COUNTER_PIN + "\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return demo_db, community


def _held_by_hub(hub, laptop, entity: str, table: str) -> None:
    """The laptop holds exactly the hub's records of ``entity`` in G001 (by id)."""
    (gid,) = _q(laptop, "SELECT id FROM grids WHERE code = 'G001'")[0]
    column = (
        "grid_id" if table == "cases" else "case_id IN (SELECT id FROM cases WHERE grid_id = ?)"
    )
    where = "grid_id = ?" if table == "cases" else column
    mine = {r[0] for r in _q(laptop, f"SELECT id FROM {table} WHERE {where}", gid)}
    hubs = {
        r[0]
        for r in hub._select(
            f"SELECT entity_id FROM hub_scope WHERE entity = '{entity}' AND grid = '{gid}'"
        )
    }
    assert mine and mine == hubs, (laptop.name, table, sorted(mine ^ hubs)[:3])


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
async def test_a_resident_rates_dissatisfied_at_the_counter(office_roster, hub, tmp_path):
    from tests.test_labels_pdf import decode_pdf

    field, community = office_roster
    counter = tmp_path / "counter.db"
    hub.enrol(field, "演示网格员的笔记本", "--grid", "G001")

    # the grid worker registers a broken light, fixes it on the spot, prints the slip
    hid = _q(
        field,
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1",
    )[0][0]
    out = kiosk_as(
        field, GRID_WORKER,
        "cases", "add", "--household", hid, "--category", "street_lights",
        "--summary", "楼前路灯不亮", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    cid = json.loads(out.stdout)["id"]
    out = kiosk_as(field, GRID_WORKER, "cases", "act", cid, "resolve", "--note", "已换灯泡")
    assert out.returncode == 0, out.stderr
    slip = tmp_path / "slip.pdf"
    out = kiosk_as(field, GRID_WORKER, "slip", cid, "--out", str(slip), "--json")
    assert out.returncode == 0, out.stderr
    number = json.loads(out.stdout)["case"]
    (payload,) = decode_pdf(slip)[0]
    sync(field)

    # the counter PC, enrolled as the community's counter, holds cases and no household
    out = hub.kiosk("devices", "add", "一号柜台电脑", "--counter", community, "--json")
    assert out.returncode == 0, out.stderr
    code = json.loads(out.stdout)["code"]
    out = kiosk_as(counter, None, "enrol", "--hub", hub.url, "--code", code)
    assert out.returncode == 0, out.stderr
    sync(counter)
    for table in ("households", "members", "visits", "compounds"):
        assert _q(counter, f"SELECT count(*) FROM {table}") == [(0,)], table
    await _resident_rates_dissatisfied(counter, payload, number)
    sync(counter)

    # the worker's laptop sees the case reopened by the resident's rating
    sync(field)
    out = kiosk_as(field, GRID_WORKER, "cases", "show", cid, "--json")
    doc = json.loads(out.stdout)
    assert (doc["status"], doc["reopen_count"]) == ("in_progress", 1)
    rated = [e for e in doc["events"] if e["type"] == "rate"]
    assert [(e["data"]["rating"], e["data"]["source"], e["valid"]) for e in rated] == [
        ("dissatisfied", "resident kiosk", True)
    ]
    assert rated[0]["by"] == COUNTER  # the counter's identity, as the hub passed it on

    # both replicas equal the hub, their audit chains verify (the_day_holds)
    lookups = _q(counter, "SELECT detail FROM audit WHERE action = 'lookup'")
    assert [json.loads(d)["via"] for (d,) in lookups] == ["resident"]
    the_day_holds(hub, field, counter)
    for laptop in (field, counter):
        _held_by_hub(hub, laptop, "case", "cases")
        _held_by_hub(hub, laptop, "case_event", "case_events")
    assert _rows(field, "cases", "G001") >= _rows(counter, "cases", "G001")

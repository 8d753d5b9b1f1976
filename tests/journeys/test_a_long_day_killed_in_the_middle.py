"""A long day at the door, and the laptop killed in the middle of it. The grid worker's
visits (thirteen operations each with three problems) cross several batches of the audit
trail, whose entries are written from what the writer knew of its own operations; the power
goes (SIGKILL) between two visits, with operations of the last batch still waiting for their
entries. Afterwards: the worker signs in on the real screen and opens a household (an audited
lookup, which first writes the waiting entries from the outbox), every committed visit is one
entry, none twice, the chain verifies on the laptop and, after the sync, at the hub, and the
day holds."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys

from tests.conftest import DEMO_PINS, GRID_WORKER, ROOT, SUPERVISOR
from tests.journeys.conftest import kiosk_as, sync, the_day_holds
from tests.pages import sign_in
from tests.pilot_helpers import settle, until

#: The worker's loop, as the app writes: one transaction per visit, through the write
#: context (its batches of CATCH_UP_EVERY operations), a line after each commit.
WRITER = r"""
import sys
from datetime import date
from db.connection import transaction
from kiosk.domain.visits import record_visit
from kiosk.runtime import load, open_runtime

from db.hlc import HybridClock

rt = open_runtime(load(db=sys.argv[1]))
conn, ctx = rt.conn, rt.ctx
# a visit takes the worker minutes, not the machine's 2 ms: the clock says so
wall = [int(ctx.clock.last.split(".")[0])]
ctx.clock = HybridClock(ctx.clock.last, now_ms=lambda: wall[0])
ctx.worker_id = conn.execute("SELECT id FROM workers WHERE name = ?", (sys.argv[2],)).fetchone()[0]
ctx.verified = True  # the worker signed in with their PIN (the journey's screens prove it)
rows = conn.execute(
    "SELECT h.id, min(m.id) FROM households h JOIN members m ON m.household_id = h.id"
    " JOIN grids g ON g.id = h.grid_id WHERE g.code = 'G001' GROUP BY h.id ORDER BY h.id"
).fetchall()
print("ready", flush=True)
for n in range(10**6):
    hid, mid = rows[n % len(rows)]
    wall[0] += 60_000
    with transaction(conn):
        record_visit(ctx, hid, {
            "met_members": [mid],
            "note": "入户走访",
            "problems": [
                {"category": "parking", "text": "停车位不够"},
                {"category": "roof_leak", "text": "顶楼漏雨"},
                {"category": "noise", "text": "夜间噪音"},
            ],
        }, today=date.today())
    print("visit", n, flush=True)
"""


def _one(path, sql, *args):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


async def test_a_long_day_killed_in_the_middle(hub, demo_db):
    from db.audit import CATCH_UP_EVERY
    from kiosk.cli.run import start_app
    from kiosk.runtime import load, open_runtime
    from screens.households.home import HomeScreen
    from screens.households.household import HouseholdScreen

    laptop = demo_db
    hub.enrol(laptop, "王芳的笔记本", "--grid", "G001")
    sync(laptop)
    visits_before = _one(laptop, "SELECT count(*) FROM visits")
    entries_before = _one(laptop, "SELECT count(*) FROM audit WHERE entity = 'visit'")

    # the day: visits until the trail has taken several batches, then the power goes
    wanted = 3 * CATCH_UP_EVERY // 13 + 5
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(laptop), GRID_WORKER],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
        for line in writer.stdout:
            if line.startswith("visit") and int(line.split()[1]) + 1 >= wanted:
                break
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(30)
    committed = _one(laptop, "SELECT count(*) FROM visits") - visits_before
    assert committed >= wanted
    # some visits' entries were written in batches; the last batch's still wait, in the outbox
    waiting = _one(laptop, "SELECT count(*) FROM audit WHERE entity = 'visit'") - entries_before
    assert 0 < waiting < committed

    # the next morning: the worker signs in on the real screen and opens a household
    runtime = open_runtime(load(db=str(laptop)))
    app = start_app(runtime)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await sign_in(app, pilot, GRID_WORKER, DEMO_PINS[GRID_WORKER])
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await settle(app, pilot)
            hid = runtime.conn.execute(
                "SELECT household_id FROM visits ORDER BY visited_at DESC LIMIT 1"
            ).fetchone()[0]
            await app.push_screen(HouseholdScreen(hid))
            await settle(app, pilot)
            await until(pilot, lambda: isinstance(app.screen, HouseholdScreen))
    finally:
        runtime.close()

    # every committed visit is one entry (its items and cases named in it), none twice
    rows = sqlite3.connect(laptop).execute(
        "SELECT entity_id, count(*) FROM audit WHERE entity = 'visit' AND action = 'create'"
        " GROUP BY entity_id"
    )
    counts = dict(rows.fetchall())
    new_visits = {
        r[0]
        for r in sqlite3.connect(laptop).execute(
            "SELECT id FROM visits ORDER BY visited_at DESC LIMIT ?", (committed,)
        )
    }
    assert all(counts.get(v) == 1 for v in new_visits), "a visit without its entry, or twice"
    out = kiosk_as(laptop, SUPERVISOR, "audit", "verify", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["intact"] is True

    # the sync carries the operations and the trail; the hub checks the chain on arrival
    sync(laptop)
    out = hub.kiosk("audit", "verify")
    assert out.returncode == 0, out.stdout + out.stderr
    the_day_holds(hub, laptop)

"""The office replica of a street (issue: supervisors over a street-wide replica).

- figures for the whole street, as its overseer's figures screen computes them (their reach,
  every breakdown, the roll-ups by street and community): a street of the demo district's
  communities, 30,000 households and 20,000 cases (budget 300 ms, median of 7, on a quiet
  machine and with one core busy); baseline: a plain SELECT of the same cases' rows.
- the replica's catch-up: a new street office PC enrolled and synced from scratch (the whole
  street), then the catch-up after a day of 50 field laptops (200 operations each: household
  edits and visits) pushed to the hub; operations, seconds and operations per second
  printed. The hub is the SQLite hub served on 127.0.0.1 in this process, the replica a
  laptop database applying what it pulls.

``KIOSK_BENCH_OFFICE_HOUSEHOLDS`` / ``_CASES`` shrink the street while developing.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import CACHE, idle_and_busy, million_db, report, up_to_date

HOUSEHOLDS = int(os.environ.get("KIOSK_BENCH_OFFICE_HOUSEHOLDS", "30000"))
CASES = int(os.environ.get("KIOSK_BENCH_OFFICE_CASES", "20000"))
STREET = "新阳路街道"
LAPTOPS, DAY = 50, 200


def street_db() -> Path:
    """The demo district of ``HOUSEHOLDS`` made one street, with ``CASES`` cases (cached)."""
    path = CACHE / f"street-{HOUSEHOLDS}-{CASES}.db"
    if path.exists():
        return up_to_date(path)
    from bench.bench_cases import add_cases
    from kiosk.runtime import load, open_runtime

    tmp = path.with_suffix(".building")
    shutil.copy(million_db(HOUSEHOLDS), tmp)
    runtime = open_runtime(load(db=str(tmp)))
    try:
        conn = runtime.conn
        # One street office's whole area: the demo's communities, under one street.
        conn.execute("UPDATE grids SET street = ?", (STREET,))
        add_cases(runtime, CASES, seed=23)
    finally:
        runtime.close()
    shutil.move(tmp, path)
    return path


def bench_figures(path: Path) -> bool:
    from bench.bench_cases import read_case_rows
    from db.connection import open_database, transaction
    from db.context import WriteContext
    from db.workers import create_worker
    from kiosk.cases.figures import Scope, compute
    from kiosk.security.roles import listing_grids

    db = open_database(path)
    conn = db.conn
    try:
        ctx = WriteContext.open(conn)
        with transaction(conn):
            overseer = create_worker(ctx, "街道督办甲", "street", street=STREET)
        reach = listing_grids(conn, overseer)
        assert reach is not None
        communities = conn.execute("SELECT count(DISTINCT community) FROM grids").fetchone()[0]
        n = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        households = conn.execute("SELECT count(*) FROM households").fetchone()[0]
        print(
            f"  street of {communities} communities, {len(reach)} grids,"
            f" {households:,} households, {n:,} cases"
        )
        scope = Scope(grid_ids=tuple(reach))
        compute(conn, scope)  # warm the page cache

        def measure() -> bool:
            ours, base = [], []
            for _ in range(7):  # taking turns: both see the same machine
                t0 = time.perf_counter()
                f = compute(conn, scope)
                ours.append(time.perf_counter() - t0)
                base.append(read_case_rows(conn))
            assert f["total"]["registered"] == n
            assert sum(r["registered"] for r in f["by_community"]) == n
            return report(
                f"figures of a whole street ({n:,} cases, rolled up by community)",
                statistics.median(ours) * 1000,
                "ms",
                budget=300,
                baseline=statistics.median(base) * 1000,
            )

        return idle_and_busy(measure)
    finally:
        db.close()


def _a_day(laptop, grid: str, name: str) -> None:
    """``DAY`` offline operations on ``grid``: half household notes, half visits."""
    from db.connection import transaction
    from db.households import update_household
    from db.visits import VisitInput, save_visit

    conn = laptop.ctx.conn
    hids = [r[0] for r in conn.execute("SELECT id FROM households WHERE grid_id = ?", (grid,))]
    with transaction(conn):
        for i in range(DAY):
            hid = hids[i % len(hids)]
            if i % 2:
                assert update_household(laptop.ctx, hid, note=f"{name} 第{i}次走访")
            else:
                save_visit(laptop.ctx, VisitInput(household_id=hid, note="入户走访"))


def bench_catch_up(path: Path, tmp: Path) -> None:
    from bench.bench_sync import Laptop, _seed
    from kiosk.hub.store.sqlite import SqliteHubStore
    from kiosk.sync.client import enrol
    from tests.pg import hub_thread

    store = SqliteHubStore(tmp / "hub.db")
    started = time.perf_counter()
    _seed(store, path)
    print(f"  hub seeded from the street's database in {time.perf_counter() - started:.1f} s")
    from db.connection import connect

    src = connect(path, readonly=True)
    grids = [r[0] for r in src.execute("SELECT id FROM grids ORDER BY code")]
    src.close()
    with hub_thread(store) as url:
        office = Laptop(tmp / "office.db")
        enrol(office.ctx, url, store.add_device("街道办", None, role="office", street=STREET))
        started = time.perf_counter()
        first = office.sync()
        took = time.perf_counter() - started
        report(f"a new street office PC's first sync ({first.pulled:,} operations)", took, "s")
        # A day of 50 laptops: each enrolled for a grid, synced, then its day's work (half
        # household edits, half visits) written offline and pushed, as a laptop does.
        for i in range(LAPTOPS):
            grid = grids[i % len(grids)]
            laptop = Laptop(tmp / f"laptop-{i}.db")
            enrol(laptop.ctx, url, store.add_device(f"laptop-{i}", [grid]))
            laptop.sync()
            _a_day(laptop, grid, f"laptop-{i}")
            up = laptop.sync()
            assert up.pushed >= DAY, up
            laptop.db.close()
            (tmp / f"laptop-{i}.db").unlink()
        started = time.perf_counter()
        later = office.sync()
        took = time.perf_counter() - started
        assert later.pulled >= LAPTOPS * DAY, later
        report(
            f"the street office's catch-up after a day of {LAPTOPS} laptops"
            f" ({later.pulled:,} operations)",
            took,
            "s",
        )
        report("  that catch-up's throughput", later.pulled / took, "ops/s")
        office.db.close()
    store.close()


def main() -> bool:
    path = street_db()
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        copy = Path(tmp) / "street.db"
        shutil.copy(path, copy)
        ok = bench_figures(copy)
        bench_catch_up(path, Path(tmp))
    return ok

"""Visits: saving a visit with 3 problems, the walk list of a 500-household grid inside the
1M-household database, and the keystrokes of a routine visit (a Pilot script).

The shared cached database is never changed: every write runs in a transaction that is
rolled back (so the figures exclude the COMMIT itself, the same for ours and the baseline).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.common import MILLION, million_db, percentile, report

SAVES = 300
WALKS = 50


def _grids_for(conn, at_least: int) -> list[str]:
    """Adjacent grids of the middle of the district adding up to ``at_least`` households."""
    rows = [
        tuple(r)
        for r in conn.execute(
            "SELECT grid_id, count(*) FROM households GROUP BY grid_id ORDER BY grid_id"
        )
    ]
    mid = len(rows) // 2
    out, total = [], 0
    for gid, n in rows[mid:]:
        out.append(gid)
        total += n
        if total >= at_least:
            break
    return out


def bench_save(runtime) -> bool:
    from db.households import update_household
    from kiosk.domain.categories import load_categories
    from kiosk.domain.visits import record_visit

    conn, ctx = runtime.conn, runtime.ctx
    cats = load_categories()
    rng = random.Random(3)
    # the signed-in worker's own households (the write guard refuses other grids' visits),
    # drawn at random, each with one of its members
    grids = list(runtime.worker.grids)
    mine = conn.execute(
        "SELECT h.id, min(m.id) FROM households h JOIN grids g ON g.id = h.grid_id"
        " JOIN members m ON m.household_id = h.id"
        f" WHERE g.code IN ({','.join('?' * len(grids))}) GROUP BY h.id",
        grids,
    ).fetchall()
    picks = [tuple(rng.choice(mine)) for _ in range(SAVES)]
    today = date.today()
    ours, base = [], []
    for i, (hid, mid) in enumerate(picks):
        form = {
            "met_members": [mid],
            "note": "老人身体状况良好",
            "problems": [
                {"category": "parking", "text": "小区停车位不够"},
                {"category": "roof_leak", "text": "顶楼漏雨"},
                {"category": "noise", "text": "楼下商铺夜间噪音"},
            ],
        }
        conn.execute("BEGIN IMMEDIATE")
        try:
            t0 = time.perf_counter()
            record_visit(ctx, hid, form, today=today, categories=cats)
            ours.append(time.perf_counter() - t0)
        finally:
            conn.execute("ROLLBACK")
        conn.execute("BEGIN IMMEDIATE")
        try:
            t0 = time.perf_counter()
            update_household(ctx, hid, note=f"bench {i}")
            base.append(time.perf_counter() - t0)
        finally:
            conn.execute("ROLLBACK")
    print(
        f"  {SAVES} visits, each with 3 problems registered as cases (baseline: one"
        " household edit through the same stamping/outbox path)",
        flush=True,
    )
    p95, b95 = percentile(ours, 95) * 1000, percentile(base, 95) * 1000
    report(
        "save visit + 3 problems, median",
        percentile(ours, 50) * 1000,
        "ms",
        baseline=percentile(base, 50) * 1000,
    )
    return report("save visit + 3 problems, p95", p95, "ms", budget=10.0, baseline=b95)


def bench_walk(runtime) -> bool:
    from db.walklist import walk_counts, walk_list

    conn = runtime.conn
    grid_ids = _grids_for(conn, 500)
    marks = ",".join("?" * len(grid_ids))
    hids = [
        r[0]
        for r in conn.execute(f"SELECT id FROM households WHERE grid_id IN ({marks})", grid_ids)
    ]
    today = date.today()
    rng = random.Random(5)
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Give the grid a realistic history (rolled back afterwards): 40% visited in the last
        # 60 days, one in ten of those nobody home.
        now = datetime.now().astimezone()
        rows = []
        for hid in rng.sample(hids, int(len(hids) * 0.4)):
            at = now - timedelta(days=rng.randrange(60), hours=rng.randrange(8))
            nobody = rng.random() < 0.1
            rows.append(
                (
                    f"bench-{hid}",
                    hid,
                    grid_ids[0],
                    "door",
                    at.isoformat(timespec="seconds"),
                    at.date().isoformat(),
                    int(nobody),
                    (today + timedelta(days=rng.randint(-3, 3))).isoformat() if nobody else None,
                    "[]",
                    "",
                    "0",
                    None,
                    runtime.ctx.device_id,
                )
            )
        conn.executemany(
            "INSERT INTO visits(id, household_id, grid_id, visit_type, visited_at,"
            " visit_date, nobody_home, revisit_on, met, note, hlc, worker_id,"
            " device_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        cases = set(rng.sample(hids, 12))
        ours, base = [], []
        for _ in range(WALKS):
            t0 = time.perf_counter()
            walk_counts(conn, grid_ids, today=today, care_days=30, case_households=cases)
            page = walk_list(
                conn, grid_ids, today=today, care_days=30, case_households=cases, limit=50
            )
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            conn.execute(
                f"SELECT h.id, c.name, h.building, h.unit, h.room, h.head_name FROM households h"
                f" JOIN compounds c ON c.id = h.compound_id WHERE h.grid_id IN ({marks})"
                " ORDER BY c.name, CAST(h.building AS INTEGER), CAST(h.unit AS INTEGER),"
                " CAST(h.room AS INTEGER) LIMIT 50",
                grid_ids,
            ).fetchall()
            base.append(time.perf_counter() - t0)
        assert len(page) == 50
    finally:
        conn.execute("ROLLBACK")
    print(
        f"  walk list of {len(hids)} households ({len(grid_ids)} grids), {len(rows)} visited,"
        f" first page + group counts (baseline: the same households in plain walking order)",
        flush=True,
    )
    return report(
        "walk list, p95",
        percentile(ours, 95) * 1000,
        "ms",
        budget=50.0,
        baseline=percentile(base, 95) * 1000,
    )


async def count_keystrokes() -> int:
    """Household detail -> saved routine visit with one problem; returns keys pressed."""
    from kiosk.app.shell import KioskApp
    from kiosk.cli.demo import build_demo
    from kiosk.runtime import load, open_runtime
    from screens.households.household import HouseholdScreen

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("KIOSK_DATA_DIR", str(Path(tmp) / "data"))
        rt = open_runtime(load(db=str(Path(tmp) / "k.db")))
        build_demo(rt, 300, 1)
        hid = rt.conn.execute(
            "SELECT id FROM households WHERE member_count >= 2 LIMIT 1"
        ).fetchone()[0]
        app = KioskApp(rt, signed_in=rt.worker)
        keys = 0
        async with app.run_test(size=(80, 24)) as pilot:

            async def press(*k: str, text: bool = False) -> None:
                nonlocal keys
                await pilot.press(*k)
                if not text:
                    keys += len(k)
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause()

            await app.push_screen(HouseholdScreen(hid))
            await pilot.pause()
            await app.workers.wait_for_complete()
            await press("v")  # record a visit (type: 入户走访 by default)
            await press("space")  # met: the head of household
            await press("f4")  # add a problem
            await press("enter", "down", "enter")  # category: 停车
            await press("tab")  # to the problem's text
            await press(*"no parking at night", text=True)  # free text: not counted
            await press("ctrl+s")  # save
            assert isinstance(app.screen, HouseholdScreen), "the visit was not saved"
        row = rt.conn.execute(
            "SELECT count(*) FROM visits v JOIN visit_items i ON i.visit_id = v.id"
            " WHERE v.household_id = ? AND i.category = 'parking'",
            (hid,),
        ).fetchone()
        rt.close()
        assert row[0] == 1
    return keys


def main() -> bool:
    from kiosk.runtime import load, open_runtime

    keys = asyncio.run(count_keystrokes())
    print(
        f"  keystrokes from household detail to a saved routine visit with one problem: {keys}"
        " (besides the free text)",
        flush=True,
    )
    ok = report("keystrokes", float(keys), "keys", budget=12.0)
    db = million_db(MILLION)
    runtime = open_runtime(load(db=str(db)))
    try:
        n = runtime.conn.execute("SELECT count(*) FROM households").fetchone()[0]
        print(f"  database: {n} households", flush=True)
        ok &= bench_save(runtime)
        ok &= bench_walk(runtime)
    finally:
        runtime.close()
    print(json.dumps({"ok": bool(ok)}), flush=True)
    return ok


if __name__ == "__main__":
    main()

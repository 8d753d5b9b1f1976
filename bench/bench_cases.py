"""Case ledger benchmarks, each with a baseline measured in the same run.

- fold of a case with 200 events (budget 1 ms); baseline: sorting the same events by
  (HLC, device, id), the floor under any fold.
- figures over 100,000 cases (budget 300 ms); baseline: a plain SELECT of the same rows.
- ledger export of 100,000 cases to .xlsx (budget 20 s) and .csv (budget 2 s); baselines:
  openpyxl write-only of the raw case rows (the library's fastest way to write a sheet), and a
  plain csv.writer of the same rows.

The 100,000-case database is a demo district of ``KIOSK_BENCH_HOUSEHOLDS`` households (at most
20,000: the figures and ledgers do not depend on the number of households) with 100,000
generated cases, cached in bench/.cache.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import CACHE, idle_and_busy, report, up_to_date, warm_os_cache

CASES = int(os.environ.get("KIOSK_BENCH_CASES", "100000"))
HOUSEHOLDS = min(20000, int(os.environ.get("KIOSK_BENCH_HOUSEHOLDS", "20000")))


def _events(n: int):
    from db.case_fold import Event

    rng = random.Random(5)
    evs = [Event("e0000", "register", "001767571200000.00000", "dev-a", "2026-01-05T09:00:00")]
    evs.append(
        Event(
            "e0001",
            "assign",
            "001767571200001.00000",
            "dev-a",
            "2026-01-05T10:00:00",
            "w",
            {"department": "房管所", "due": "2026-02-01"},
        )
    )
    for i in range(2, n - 4):
        evs.append(
            Event(
                f"e{i:04d}",
                rng.choice(["progress", "progress", "escalate"]),
                f"{1767571200000 + i:015d}.{rng.randint(0, 3):05d}",
                rng.choice(["dev-a", "dev-b"]),
                "2026-01-06T10:00:00",
                "w",
                {"note": "推进"},
            )
        )
    tail = [
        ("resolve", {}),
        ("follow_up", {"reached": True}),
        ("rate", {"rating": "satisfied"}),
        ("close", {}),
    ]
    for j, (type_, data) in enumerate(tail):
        evs.append(
            Event(
                f"z{j}",
                type_,
                f"{1767571300000 + j:015d}.00000",
                "dev-a",
                "2026-01-09T10:00:00",
                "w",
                data,
            )
        )
    rng.shuffle(evs)
    return evs


def bench_fold() -> bool:
    from db.case_fold import fold

    events = _events(200)
    assert fold(events).status == "closed"
    runs = 2000
    samples, base = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        fold(events)
        samples.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sorted(events, key=lambda e: e.order)
        base.append(time.perf_counter() - t0)
    return report(
        "fold of a case with 200 events (median)",
        statistics.median(samples) * 1000,
        "ms",
        budget=1.0,
        baseline=statistics.median(base) * 1000,
    )


def add_cases(runtime, total: int, seed: int) -> None:
    """Generated cases (``kiosk.demo.cases``) until the database holds ``total``, then the
    file made ready to be copied (statistics, the log folded in)."""
    from kiosk.demo.cases import generate, write_rows

    conn = runtime.conn
    rng = random.Random(seed)
    remaining = total - conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    while remaining > 0:
        n = min(20_000, remaining)
        gen = generate(conn, rng, date.today(), runtime.ctx.device_id, n - 1)
        write_rows(conn, gen.rows, gen.seq, gen.tag)
        remaining -= len(gen.rows.cases)
    conn.execute("PRAGMA optimize")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def cases_db() -> Path:
    """A demo district with ``CASES`` generated cases (built once, then cached)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"cases-{HOUSEHOLDS}-{CASES}.db"
    if path.exists():
        return up_to_date(path)
    os.environ.setdefault("KIOSK_DATA_DIR", str(CACHE / "data"))
    from kiosk.cli.demo import build_demo
    from kiosk.runtime import load, open_runtime

    tmp = path.with_suffix(".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    started = time.perf_counter()
    runtime = open_runtime(load(db=str(tmp)))
    try:
        build_demo(runtime, HOUSEHOLDS, 1)
        add_cases(runtime, CASES, seed=11)
    finally:
        runtime.close()
    shutil.move(tmp, path)
    print(f"  (built {path.name} in {time.perf_counter() - started:.0f} s)", flush=True)
    return path


def read_case_rows(conn) -> float:
    """The figures' baseline: seconds to read the columns they count, every case's row."""
    t0 = time.perf_counter()
    conn.execute(
        "SELECT status, grid_id, category, category_group, department, due,"
        " registered_at, reopen_count, last_rating, close_kind, manual_level,"
        " on_spot FROM case_state"
    ).fetchall()
    return time.perf_counter() - t0


def bench_figures(conn) -> bool:
    from kiosk.cases.figures import compute

    n = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    compute(conn)  # warm the page cache
    samples, base = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        f = compute(conn)
        samples.append(time.perf_counter() - t0)
        base.append(read_case_rows(conn))
    assert f["total"]["registered"] == n
    return report(
        f"figures over {n:,} cases (median of 5)",
        statistics.median(samples) * 1000,
        "ms",
        budget=300,
        baseline=statistics.median(base) * 1000,
    )


def _raw_rows(conn):
    return conn.execute(
        "SELECT number, registered_at, grid_id, category_group, category, summary,"
        " raised_by, worker_id, visit_id, id FROM cases"
    )


def bench_ledgers(conn) -> bool:
    from openpyxl import Workbook

    from kiosk.cases.ledger import LedgerQuery, export

    ok = True
    n = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        with (out / "raw.csv").open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            for row in _raw_rows(conn):
                w.writerow(row)
        csv_base = time.perf_counter() - t0
        t0 = time.perf_counter()
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("raw")
        for row in _raw_rows(conn):
            ws.append(list(row))
        wb.save(out / "raw.xlsx")
        xlsx_base = time.perf_counter() - t0
        for kind in ("original", "resolution"):
            t0 = time.perf_counter()
            rows = export(conn, LedgerQuery(kind), out / f"{kind}.csv")
            took = time.perf_counter() - t0
            assert rows == n
            ok &= report(
                f"{kind} ledger, {n:,} cases -> .csv", took, "s", budget=2.0, baseline=csv_base
            )
            t0 = time.perf_counter()
            export(conn, LedgerQuery(kind), out / f"{kind}.xlsx")
            took = time.perf_counter() - t0
            ok &= report(
                f"{kind} ledger, {n:,} cases -> .xlsx", took, "s", budget=20.0, baseline=xlsx_base
            )
        events = conn.execute("SELECT count(*) FROM case_events").fetchone()[0]
        t0 = time.perf_counter()
        export(conn, LedgerQuery("progress"), out / "progress.csv")
        report(
            f"progress ledger, {events:,} events -> .csv (no budget)",
            time.perf_counter() - t0,
            "s",
            baseline=csv_base,
        )
    return ok


def main() -> bool:
    ok = bench_fold()
    path = cases_db()
    # In a full run the benchmarks before this one evict the file: the first ledger then
    # read its households' pages from disk (18–37 MB, +0.25–0.4 s) while its baseline, which
    # reads only the cases, did not.
    warm_os_cache(path)
    from db.connection import connect

    conn = connect(path)
    try:
        ok &= bench_figures(conn)
        ok &= idle_and_busy(lambda: bench_ledgers(conn))
    finally:
        conn.close()
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)

"""Sync figures (loopback, one run, ratios against baselines measured in the same run).

1. End-to-end: 10,000 operations (5,000 household edits, 5,000 visits) made offline on one
   laptop; its ``run_sync`` (read the outbox, push over HTTP, the hub validates, tags and
   stores them, the laptop drops the acknowledged rows, then pulls until empty) has the budget
   >= 10,000 ops/s, the median of three days synced in turn. Also printed: a second laptop pulling and merging the same 10,000, and the
   full propagation (both syncs) against CommCare's guidance of about 25 cases per second.
2. Hub ingest of 10,000 operations (``store.ingest`` in batches of 500 as pushes send them,
   from a device enrolled for the grids they touch: dedupe by op id, grid tagging, scope
   checks and the push's transaction included; decoding and validating the request is the
   HTTP app's and counted in 1.) against a plain ``executemany`` of the same rows into a
   table of the same definition as the log (same indexes: the unique op id is what makes any
   log idempotent), in the same 500-row transactions, same backend: budget >= 50 %, for
   SQLite and for PostgreSQL (a throwaway server, as in the tests). The two sides take turns
   push by push; the figure is the median over ``KIOSK_BENCH_INGEST_REPS`` (7) rounds, after
   a warm-up round, of each round's ratio. Then the cost of the hub's scope checks (every
   record a payload names looked up, the device's reach, owners, moves): the same ingest
   against a hub that trusts the payload's grid, two stores seeded alike taking turns push by
   push: budget <= 1.3x. ``python -m bench.bench_sync ingest`` runs only this part.
3. 100 laptops syncing at once against one hub (a `kiosk hub serve` subprocess): each pushes
   200 operations and pulls at least 2,000; no errors; p95 sync time printed.

``KIOSK_BENCH_SYNC_OPS`` and ``KIOSK_BENCH_SYNC_DEVICES`` shrink the run while developing.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import median, percentile, report

ROOT = Path(__file__).resolve().parent.parent
OPS = int(os.environ.get("KIOSK_BENCH_SYNC_OPS", "10000"))
#: days of work the laptop syncs in turn (the figure is the median day)
ROUNDS = 3
DEVICES = int(os.environ.get("KIOSK_BENCH_SYNC_DEVICES", "100"))


def _roster(path: Path, grids: int, households: int) -> None:
    """A small district: ``grids`` grids of ``households`` households (one member each)."""
    from db.connection import open_database, transaction
    from db.context import WriteContext
    from db.households import MemberInput, create_household

    db = open_database(path)
    conn = db.conn
    ctx = WriteContext.open(conn)
    stamp = "000000000000001.00000"
    with transaction(conn):
        for g in range(grids):
            gid = f"grid-{g:03d}"
            conn.execute(
                "INSERT INTO grids(id, code, name, community, street, district, hlc,"
                " worker_id, device_id) VALUES (?,?,?,?,?,?,?,NULL,?)",
                (gid, f"G{g:03d}", f"第{g}网格", "社区", "街道", "区", stamp, ctx.device_id),
            )
            conn.execute(
                "INSERT INTO compounds(id, grid_id, name, pinyin, initials, hlc,"
                " worker_id, device_id) VALUES (?,?,?,?,?,?,NULL,?)",
                (f"c-{gid}", gid, f"小区{g}", "xiaoqu", "xq", stamp, ctx.device_id),
            )
            for h in range(households):
                create_household(
                    ctx,
                    grid_id=gid,
                    compound_id=f"c-{gid}",
                    building=str(h // 20 + 1),
                    unit="1",
                    room=str(101 + h % 20),
                    members=[MemberInput("张三", phone=f"1380000{h:04d}")],
                )
    db.close()


def _seed(store, roster: Path) -> None:
    from db.connection import connect
    from kiosk.sync.seed import seed_ops

    src = connect(roster, readonly=True)
    for batch in seed_ops(src):
        store.ingest(None, batch)
    src.close()


class Laptop:
    def __init__(self, path: Path) -> None:
        from db.connection import open_database
        from db.context import WriteContext

        self.db = open_database(path)
        self.ctx = WriteContext.open(self.db.conn)

    def enrol(self, store, url: str, name: str, grids) -> None:
        from kiosk.sync.client import enrol

        enrol(
            self.ctx,
            url,
            store.add_device(name, grids, role="field" if grids else "office") if store else grids,
        )

    def work(self, n: int, grid: str | None = None, day: int = 0) -> None:
        """``n`` offline operations: half household edits, half visits (``day``: a later day's
        round of the same walk, so an edit is not the value the household already has)."""
        from db.connection import transaction
        from db.households import update_household
        from db.visits import VisitInput, save_visit

        conn = self.ctx.conn
        where = "WHERE grid_id = ?" if grid else ""
        hids = [
            r[0]
            for r in conn.execute(
                f"SELECT id FROM households {where} ORDER BY id", (grid,) if grid else ()
            )
        ]
        with transaction(conn):
            for i in range(n):
                hid = hids[i % len(hids)]
                if i % 2:
                    update_household(self.ctx, hid, note=f"第{day}天第{i}次走访后更新")
                else:
                    save_visit(self.ctx, VisitInput(household_id=hid, note="入户走访"))

    def sync(self, batch: int = 1000):
        from kiosk.sync.client import run_sync

        return run_sync(self.ctx, batch_size=batch)


def end_to_end(tmp: Path) -> bool:
    from kiosk.hub.store.sqlite import SqliteHubStore
    from tests.pg import hub_thread

    print(f"end-to-end sync of {OPS} operations (one laptop up, one laptop down):")
    roster = tmp / "roster.db"
    _roster(roster, 4, 250)
    store = SqliteHubStore(tmp / "hub.db")
    _seed(store, roster)
    with hub_thread(store) as url:
        a, b = Laptop(tmp / "a.db"), Laptop(tmp / "b.db")
        a.enrol(store, url, "a", None)
        b.enrol(store, url, "b", None)
        a.sync()
        b.sync()
        # A day's work synced, three days in turn: one sync of 0.8 s moved 9,100-13,100 ops/s
        # between identical runs, so the figure is the median day, every day printed.
        rounds = []
        for day in range(ROUNDS):
            a.work(OPS, day=day)
            start = time.perf_counter()
            up = a.sync()
            rounds.append(time.perf_counter() - start)
            assert up.pushed == OPS, up
        t_up = median(rounds)
        print("  the laptop's sync, each day: " + ", ".join(f"{OPS / t:,.0f}" for t in rounds))
        start = time.perf_counter()
        down = b.sync()
        t_down = (time.perf_counter() - start) / ROUNDS
        assert down.pulled == OPS * ROUNDS, down
        ok = report(
            f"the laptop's sync (outbox -> HTTP -> hub stores -> ack -> pull empty), median of"
            f" {ROUNDS} days",
            OPS / t_up,
            "ops/s",
            budget=10_000,
            higher_is_better=True,
        )
        report("pull + merge on the second laptop", OPS / t_down, "ops/s")
        report(
            "full propagation (first laptop's sync + second laptop's sync)",
            OPS / (t_up + t_down),
            "ops/s",
            baseline=25.0,
        )
        ops = a.ctx.conn.execute("SELECT count(*) FROM oplog WHERE origin = 'local'").fetchone()[0]
        assert ops == OPS * ROUNDS
        a.db.close()
        b.db.close()
    store.close()
    return ok


INGEST_REPS = int(os.environ.get("KIOSK_BENCH_INGEST_REPS", "7"))
#: The hub_ops columns both sides write, in the order of the store's insert.
LOG_COLS = (
    "op_id, hlc, entity, entity_id, kind, payload, base_version, field_bases,"
    " schema_version, worker_id, device_id, grid, case_id, received_at"
)


def _ops_round(r: int, households: list, device_id: str) -> tuple[list, list[tuple]]:
    """Round ``r``'s OPS operations from ``device_id`` (half household edits, half visits on
    ``households``: [(id, grid)]) and the log rows the hub stores for them."""
    import msgspec

    from kiosk.hub.store.base import utcnow
    from kiosk.sync.protocol import Op

    ops, rows, now = [], [], utcnow()
    for i in range(OPS):
        hid, grid = households[i % len(households)]
        op_id, hlc = f"b{r}-{i:08d}", f"00179{r:03d}{i:07d}.00000"
        if i % 2:
            op = Op(
                op_id=op_id,
                hlc=hlc,
                entity="household",
                entity_id=hid,
                kind="update",
                payload={"note": f"第{i}次"},
                base_version="000000000000001.00000",
                field_bases={"note": "000000000000001.00000 seed"},
                schema_version=5,
                device_id=device_id,
            )
        else:
            vid = f"v{r}-{i:08d}"
            op = Op(
                op_id=op_id,
                hlc=hlc,
                entity="visit",
                entity_id=vid,
                kind="insert",
                payload={
                    "id": vid,
                    "household_id": hid,
                    "grid_id": grid,
                    "visit_type": "door",
                    "note": "入户走访",
                },
                schema_version=5,
                device_id=device_id,
            )
        ops.append(op)
        rows.append(
            (
                op.op_id,
                op.hlc,
                op.entity,
                op.entity_id,
                op.kind,
                msgspec.json.encode(op.payload).decode(),
                op.base_version,
                msgspec.json.encode(op.field_bases).decode() if op.field_bases else None,
                op.schema_version,
                op.worker_id,
                op.device_id,
                grid,
                None,
                now,
            )
        )
    return ops, rows


def _ingest_ratio(name: str, make_store, plain_exec, same_rows) -> bool:
    """Time store.ingest of OPS operations vs a plain executemany of the same rows.

    Both sides write the rows the hub stores for those operations (same values, same
    columns, a table of the same definition), one transaction per 500 rows (a push). The two
    sides take turns batch by batch, first one then the other, so that both see the same load
    on a shared machine and neither always follows the other's checkpoints. One warm-up
    round, then INGEST_REPS rounds, each writing new operation ids. The figure is the median
    of the rounds' ratios (each round's two sides ran under the same conditions); the
    throughputs printed are the medians of each side's round totals.
    """
    from kiosk.sync.protocol import Op

    store, households = make_store()  # [(household id, grid)]
    device_id = "bench-device"
    code = store.add_device("bench", sorted({grid for _, grid in households}))
    device, _ = store.enrol(code, device_id)

    def round_of(r: int) -> tuple[list[Op], list[tuple]]:
        return _ops_round(r, households, device_id)

    times: dict[str, list[float]] = {"ingest": [], "plain": []}
    for r in range(INGEST_REPS + 1):
        ops, rows = round_of(r)
        gc.collect()  # start each round with a clean heap (not inside either side's time)
        total = {"ingest": 0.0, "plain": 0.0}
        for n, i in enumerate(range(0, OPS, 500)):
            batch, batch_rows = ops[i : i + 500], rows[i : i + 500]
            for side in ("ingest", "plain") if (n + r) % 2 else ("plain", "ingest"):
                start = time.perf_counter()
                if side == "ingest":
                    store.ingest(device, batch)
                else:
                    plain_exec(store, batch_rows)
                total[side] += time.perf_counter() - start
        if r:  # round 0 warms up
            for side, t in total.items():
                times[side].append(t)
    assert same_rows(store) == OPS * (INGEST_REPS + 1), "the baseline wrote other rows"
    store.close()
    t_ingest, t_plain = median(times["ingest"]), median(times["plain"])
    ratios = sorted(p / i * 100 for i, p in zip(times["ingest"], times["plain"], strict=True))
    report(f"{name}: hub ingest", OPS / t_ingest, "ops/s")
    report(f"{name}: plain executemany", OPS / t_plain, "ops/s")
    print(f"  {name}: ingest vs plain, rounds sorted: " + ", ".join(f"{x:.0f} %" for x in ratios))
    return report(
        f"{name}: ingest vs plain executemany (median round)",
        median(ratios),
        "%",
        budget=50,
        higher_is_better=True,
    )


class _TrustingChecker:
    """The baseline of the scope figure: a hub that believes the payload (the grid an insert
    names, the grid it holds for an updated record), checks no reach and names no owner."""

    def __init__(self, reach, scope) -> None:
        self.reach, self.scope = reach, scope

    def check(self, op):
        from kiosk.hub.scope import Verdict

        key = (op.entity, op.entity_id)
        if op.kind == "insert":
            grid = op.payload.get("grid_id")
            self.scope[key] = grid
            return Verdict(grid, new=(op.entity, op.entity_id, grid, None, None))
        return Verdict(self.scope.get(key))


def _trusting_keys(ops) -> set:
    return {(op.entity, op.entity_id) for op in ops}


def scope_cost(name: str, make_store) -> bool:
    """store.ingest with the hub's scope checks (every record a payload names looked up,
    reach, owners, moves) vs the same ingest trusting the payload's grid: two stores seeded
    alike, the same operations, taking turns push by push; median of the rounds' ratios."""
    import kiosk.hub.store.base as hub_store

    real = (hub_store.Checker, hub_store.keys_of)
    stores, households = {}, None
    for side in ("checked", "trusting"):
        stores[side], households = make_store()
    device_id = "bench-device"
    devices = {}
    for side, store in stores.items():
        code = store.add_device("bench", sorted({grid for _, grid in households}))
        devices[side], _ = store.enrol(code, device_id)
    times: dict[str, list[float]] = {"checked": [], "trusting": []}
    try:
        for r in range(INGEST_REPS + 1):
            ops, _ = _ops_round(r, households, device_id)
            gc.collect()
            total = {"checked": 0.0, "trusting": 0.0}
            for n, i in enumerate(range(0, OPS, 500)):
                batch = ops[i : i + 500]
                for side in ("checked", "trusting") if (n + r) % 2 else ("trusting", "checked"):
                    if side == "trusting":
                        hub_store.Checker, hub_store.keys_of = _TrustingChecker, _trusting_keys
                    start = time.perf_counter()
                    result = stores[side].ingest(devices[side], batch)
                    total[side] += time.perf_counter() - start
                    hub_store.Checker, hub_store.keys_of = real
                    assert not result.refused, result.refused[:1]
            if r:
                for side, t in total.items():
                    times[side].append(t)
    finally:
        hub_store.Checker, hub_store.keys_of = real
        for store in stores.values():
            store.close()
    ratios = sorted(c / t for c, t in zip(times["checked"], times["trusting"], strict=True))
    report(f"{name}: hub ingest with scope checks", OPS / median(times["checked"]), "ops/s")
    report(f"{name}: hub ingest trusting the payload", OPS / median(times["trusting"]), "ops/s")
    print(f"  {name}: checked / trusting, rounds sorted: " + ", ".join(f"{x:.2f}x" for x in ratios))
    return report(
        f"{name}: cost of the scope checks (median round)", median(ratios), "x", budget=1.3
    )


#: Rows of ``plain`` equal to the hub's, column for column (but the log position and the
#: time of receipt, a timestamp of the same form).
SAME_ROWS = (
    "SELECT count(*) FROM plain p JOIN hub_ops h ON h.op_id = p.op_id WHERE "
    + " AND ".join(
        f"p.{c} IS NOT DISTINCT FROM h.{c}" for c in LOG_COLS.replace(" ", "").split(",")[1:-1]
    )
)


def ingest_sqlite(tmp: Path, roster: Path) -> bool:
    from db.migrations import execute_script
    from kiosk.hub.store.sqlite import SCHEMA, SqliteHubStore

    made = iter(range(1000))

    def make():
        store = SqliteHubStore(tmp / f"ingest-{next(made)}.db")
        _seed(store, roster)
        hids = store.conn.execute(
            "SELECT entity_id, grid FROM hub_scope WHERE entity = 'household'"
        ).fetchall()
        # the same table definition as the log (indexes included), under another name
        ddl = SCHEMA[
            SCHEMA.index("CREATE TABLE IF NOT EXISTS hub_ops") : SCHEMA.index(
                "CREATE TABLE IF NOT EXISTS hub_scope"
            )
        ]
        execute_script(store.conn, ddl.replace("hub_ops", "plain"))
        return store, hids

    def plain(store, rows) -> None:
        conn = store.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO plain({LOG_COLS}) VALUES ({','.join('?' * 14)})", rows)
        conn.execute("COMMIT")

    def same(store) -> int:
        return int(
            store.conn.execute(SAME_ROWS.replace("IS NOT DISTINCT FROM", "IS")).fetchone()[0]
        )

    ok = _ingest_ratio("SQLite", make, plain, same)
    return scope_cost("SQLite", make) and ok


def ingest_postgres(roster: Path) -> bool:
    from tests.pg import PgServer, pg_bin

    if pg_bin() is None:
        print("  PostgreSQL: SKIPPED (initdb/pg_ctl not installed)")
        return True
    from kiosk.hub.store.postgres import PostgresHubStore

    server = PgServer()
    try:

        def make():
            store = PostgresHubStore(server.new_database())
            _seed(store, roster)
            with store._tx() as cur:
                cur.execute("SELECT entity_id, grid FROM hub_scope WHERE entity = 'household'")
                hids = cur.fetchall()
                cur.execute("CREATE TABLE plain (LIKE hub_ops INCLUDING ALL)")
            return store, hids

        def plain(store, rows) -> None:
            with store._tx() as cur:
                cur.executemany(
                    f"INSERT INTO plain({LOG_COLS}) VALUES ({','.join(['%s'] * 14)})", rows
                )

        def same(store) -> int:
            with store._tx(write=False) as cur:
                cur.execute(SAME_ROWS)
                return int(cur.fetchone()[0])

        ok = _ingest_ratio("PostgreSQL", make, plain, same)
        return scope_cost("PostgreSQL", make) and ok
    finally:
        server.stop()


def many_devices(tmp: Path) -> bool:
    """DEVICES laptops in 10 grids; each pushes 200 and pulls >= 2,000, all at once."""
    from kiosk.hub.store.sqlite import SqliteHubStore
    from tests.pg import free_port, wait_listening

    print(f"{DEVICES} laptops syncing at once (200 ops up, >= 2,000 down each):")
    grids = 10
    roster = tmp / "many-roster.db"
    _roster(roster, grids, 5)
    hub_db = tmp / "many-hub.db"
    store = SqliteHubStore(hub_db)
    _seed(store, roster)
    codes = {f"s{g}": store.add_device(f"s{g}", [f"G{g:03d}"]) for g in range(grids)}
    codes.update(
        {f"d{i}": store.add_device(f"d{i}", [f"G{i % grids:03d}"]) for i in range(DEVICES)}
    )
    store.close()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli.main",
            "hub",
            "serve",
            "--db",
            str(hub_db),
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_listening(proc)
        # Every laptop enrols and fetches its grid's roster at the office...
        laptops = []
        for i in range(DEVICES):
            d = Laptop(tmp / f"d{i}.db")
            d.enrol(None, url, f"d{i}", codes[f"d{i}"])
            d.sync()
            laptops.append(d)
        # ...then each grid's supervisor sends 2,000 operations, and every laptop works
        # offline (200 operations).
        for g in range(grids):
            s = Laptop(tmp / f"s{g}.db")
            s.enrol(None, url, f"s{g}", codes[f"s{g}"])
            s.sync()
            s.work(2000, f"grid-{g:03d}")
            s.sync()
            s.db.close()
        for i, d in enumerate(laptops):
            d.work(200, f"grid-{i % grids:03d}")
        times: list[float] = []
        errors: list[BaseException] = []
        pulled: list[int] = []
        lock = threading.Lock()

        def one(d: Laptop) -> None:
            start = time.perf_counter()
            try:
                r = d.sync(batch=1000)
            except BaseException as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(exc)
                return
            with lock:
                times.append(time.perf_counter() - start)
                pulled.append(r.pulled)

        threads = [threading.Thread(target=one, args=(d,)) for d in laptops]
        start = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - start
        for d in laptops:
            d.db.close()
    finally:
        proc.terminate()
        proc.wait(10)
    print(
        f"  errors: {len(errors)}"
        + (f" (first: {type(errors[0]).__name__}: {errors[0]})" if errors else "")
    )
    if times:
        print(f"  pulled per laptop: min {min(pulled)}, max {max(pulled)}")
        report("sync time p50", percentile(times, 50), "s")
        report("sync time p95", percentile(times, 95), "s")
        report("all laptops, wall clock", wall, "s")
    return not errors and bool(pulled) and min(pulled) >= 2000


PARTS = ("end-to-end", "ingest", "many")


def main(parts: list[str] | None = None) -> bool:
    """Every part, or those named (``python -m bench.bench_sync ingest``)."""
    wanted = parts or list(PARTS)
    unknown = set(wanted) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown part(s) {sorted(unknown)}; parts: {', '.join(PARTS)}")
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-bench-sync-"))
    os.environ.setdefault("KIOSK_DATA_DIR", str(tmp / "data"))
    ok = True
    try:
        if "end-to-end" in wanted:
            ok = end_to_end(tmp) and ok
        if "ingest" in wanted:
            roster = tmp / "ingest-roster.db"
            _roster(roster, 4, 250)
            print(f"hub ingest of {OPS} operations vs plain executemany:")
            ok = ingest_sqlite(tmp, roster) and ok
            ok = ingest_postgres(roster) and ok
        if "many" in wanted:
            ok = many_devices(tmp) and ok
        return ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1:]) else 1)

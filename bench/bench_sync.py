"""Sync figures (loopback, one run, ratios against baselines measured in the same run).

1. End-to-end: 10,000 operations (5,000 household edits, 5,000 visits) made offline on one
   laptop; its ``run_sync`` (read the outbox, push over HTTP, the hub validates, tags and
   stores them, the laptop drops the acknowledged rows, then pulls until empty) has the budget
   >= 10,000 ops/s. Also printed: a second laptop pulling and merging the same 10,000, and the
   full propagation (both syncs) against CommCare's guidance of about 25 cases per second.
2. Hub ingest of 10,000 operations (batches of 500 as pushes send them: validation, dedupe
   by op id, grid tagging and scope checks included) against a plain ``executemany`` of the
   same rows into a table of the same definition as the log (same indexes: the unique op id
   is what makes any log idempotent), in the same 500-row transactions, same backend:
   budget >= 50 %, for SQLite and for PostgreSQL (a throwaway server, as in the tests).
3. 100 laptops syncing at once against one hub (a `kiosk hub serve` subprocess): each pushes
   200 operations and pulls at least 2,000; no errors; p95 sync time printed.

``KIOSK_BENCH_SYNC_OPS`` and ``KIOSK_BENCH_SYNC_DEVICES`` shrink the run while developing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import percentile, report

ROOT = Path(__file__).resolve().parent.parent
OPS = int(os.environ.get("KIOSK_BENCH_SYNC_OPS", "10000"))
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
            conn.execute("INSERT INTO grids(id, code, name, community, street, district, hlc,"
                         " worker_id, device_id) VALUES (?,?,?,?,?,?,?,NULL,?)",
                         (gid, f"G{g:03d}", f"第{g}网格", "社区", "街道", "区", stamp, ctx.device_id))
            conn.execute("INSERT INTO compounds(id, grid_id, name, pinyin, initials, hlc,"
                         " worker_id, device_id) VALUES (?,?,?,?,?,?,NULL,?)",
                         (f"c-{gid}", gid, f"小区{g}", "xiaoqu", "xq", stamp, ctx.device_id))
            for h in range(households):
                create_household(ctx, grid_id=gid, compound_id=f"c-{gid}", building=str(h // 20 + 1),
                                 unit="1", room=str(101 + h % 20),
                                 members=[MemberInput("张三", phone=f"1380000{h:04d}")])
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

        enrol(self.ctx, url, store.add_device(name, grids) if store else grids)

    def work(self, n: int, grid: str | None = None) -> None:
        """``n`` offline operations: half household edits, half visits."""
        from db.connection import transaction
        from db.households import update_household
        from db.visits import VisitInput, save_visit

        conn = self.ctx.conn
        where = "WHERE grid_id = ?" if grid else ""
        hids = [r[0] for r in conn.execute(f"SELECT id FROM households {where} ORDER BY id",
                                           (grid,) if grid else ())]
        with transaction(conn):
            for i in range(n):
                hid = hids[i % len(hids)]
                if i % 2:
                    update_household(self.ctx, hid, note=f"第{i}次走访后更新")
                else:
                    save_visit(self.ctx, VisitInput(household_id=hid, note="入户走访"))

    def sync(self, batch: int = 1000):
        from kiosk.sync.client import run_sync

        return run_sync(self.ctx, batch_size=batch)


def end_to_end(tmp: Path) -> bool:
    from kiosk.hub.store_sqlite import SqliteHubStore
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
        a.work(OPS)
        start = time.perf_counter()
        up = a.sync()
        t_up = time.perf_counter() - start
        start = time.perf_counter()
        down = b.sync()
        t_down = time.perf_counter() - start
        assert up.pushed == OPS and down.pulled == OPS, (up, down)
        ok = report("the laptop's sync (outbox -> HTTP -> hub stores -> ack -> pull empty)",
                    OPS / t_up, "ops/s", budget=10_000, higher_is_better=True)
        report("pull + merge on the second laptop", OPS / t_down, "ops/s")
        report("full propagation (first laptop's sync + second laptop's sync)",
               OPS / (t_up + t_down), "ops/s", baseline=25.0)
        ops = a.ctx.conn.execute("SELECT count(*) FROM oplog WHERE origin = 'local'").fetchone()[0]
        assert ops == OPS
        a.db.close()
        b.db.close()
    store.close()
    return ok


def _ingest_ratio(name: str, make_store, plain_exec) -> bool:
    """Time store.ingest of OPS operations vs a plain executemany of the same rows."""
    import msgspec

    from kiosk.sync.protocol import Op

    store, roster_ops = make_store()
    device_id = "bench-device"
    code = store.add_device("bench", None)
    device, _ = store.enrol(code, device_id)
    households = roster_ops
    ops = []
    for i in range(OPS):
        hid = households[i % len(households)]
        if i % 2:
            ops.append(Op(op_id=f"b-{i:08d}", hlc=f"00179500{i:07d}.00000", entity="household",
                          entity_id=hid, kind="update", payload={"note": f"第{i}次"},
                          base_version="000000000000001.00000", field_bases={},
                          schema_version=5, device_id=device_id))
        else:
            ops.append(Op(op_id=f"b-{i:08d}", hlc=f"00179500{i:07d}.00000", entity="visit",
                          entity_id=f"v-{i:08d}", kind="insert",
                          payload={"id": f"v-{i:08d}", "household_id": hid, "grid_id": "grid-000",
                                   "visit_type": "door", "note": "入户走访"},
                          schema_version=5, device_id=device_id))
    start = time.perf_counter()
    for i in range(0, len(ops), 500):
        store.ingest(device, ops[i:i + 500])
    t_ingest = time.perf_counter() - start
    rows = [(f"p-{op.op_id}", op.hlc, op.entity, op.entity_id, op.kind,
             msgspec.json.encode(op.payload).decode(), op.base_version, None, op.schema_version,
             None, op.device_id, "grid-000", "now") for op in ops]
    t_plain = plain_exec(store, rows)
    store.close()
    report(f"{name}: hub ingest", OPS / t_ingest, "ops/s")
    return report(f"{name}: ingest vs plain executemany", (OPS / t_ingest) / (OPS / t_plain) * 100,
                  "%", budget=50, higher_is_better=True)


def ingest_sqlite(tmp: Path, roster: Path) -> bool:
    from kiosk.hub.store_sqlite import SqliteHubStore

    def make():
        store = SqliteHubStore(tmp / "ingest.db")
        _seed(store, roster)
        hids = [r[0] for r in store.conn.execute(
            "SELECT entity_id FROM hub_scope WHERE entity = 'household'")]
        return store, hids

    def plain(store, rows) -> float:
        from kiosk.hub.store_sqlite import SCHEMA

        conn = store.conn
        ddl = SCHEMA[SCHEMA.index("CREATE TABLE IF NOT EXISTS hub_ops"):
                     SCHEMA.index("CREATE TABLE IF NOT EXISTS hub_scope")]
        from db.migrations import execute_script

        execute_script(conn, ddl.replace("hub_ops", "plain"))
        start = time.perf_counter()
        for i in range(0, len(rows), 500):
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO plain(op_id, hlc, entity, entity_id, kind, payload, base_version,"
                " field_bases, schema_version, worker_id, device_id, grid, received_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows[i:i + 500])
            conn.execute("COMMIT")
        return time.perf_counter() - start

    return _ingest_ratio("SQLite", make, plain)


def ingest_postgres(roster: Path) -> bool:
    from tests.pg import PgServer, pg_bin

    if pg_bin() is None:
        print("  PostgreSQL: SKIPPED (initdb/pg_ctl not installed)")
        return True
    from kiosk.hub.store_postgres import PostgresHubStore

    server = PgServer()
    try:
        def make():
            store = PostgresHubStore(server.new_database())
            _seed(store, roster)
            with store._tx(write=False) as cur:
                cur.execute("SELECT entity_id FROM hub_scope WHERE entity = 'household'")
                hids = [r[0] for r in cur.fetchall()]
            return store, hids

        def plain(store, rows) -> float:
            with store._tx() as cur:
                cur.execute("CREATE TABLE plain (LIKE hub_ops INCLUDING ALL)")
            start = time.perf_counter()
            for i in range(0, len(rows), 500):
                with store._tx() as cur:
                    cur.executemany(
                        "INSERT INTO plain(op_id, hlc, entity, entity_id, kind, payload,"
                        " base_version, field_bases, schema_version, worker_id, device_id, grid,"
                        " received_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                        rows[i:i + 500])
            return time.perf_counter() - start

        return _ingest_ratio("PostgreSQL", make, plain)
    finally:
        server.stop()


def many_devices(tmp: Path) -> bool:
    """DEVICES laptops in 10 grids; each pushes 200 and pulls >= 2,000, all at once."""
    from kiosk.hub.store_sqlite import SqliteHubStore
    from tests.pg import free_port, wait_listening

    print(f"{DEVICES} laptops syncing at once (200 ops up, >= 2,000 down each):")
    grids = 10
    roster = tmp / "many-roster.db"
    _roster(roster, grids, 5)
    hub_db = tmp / "many-hub.db"
    store = SqliteHubStore(hub_db)
    _seed(store, roster)
    codes = {f"s{g}": store.add_device(f"s{g}", [f"G{g:03d}"]) for g in range(grids)}
    codes.update({f"d{i}": store.add_device(f"d{i}", [f"G{i % grids:03d}"]) for i in range(DEVICES)})
    store.close()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "hub", "serve", "--db", str(hub_db),
                             "--port", str(port)], cwd=ROOT, env=env, stderr=subprocess.PIPE)
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
    print(f"  errors: {len(errors)}" + (f" (first: {type(errors[0]).__name__}: {errors[0]})"
                                         if errors else ""))
    if times:
        print(f"  pulled per laptop: min {min(pulled)}, max {max(pulled)}")
        report("sync time p50", percentile(times, 50), "s")
        report("sync time p95", percentile(times, 95), "s")
        report("all laptops, wall clock", wall, "s")
    return not errors and bool(pulled) and min(pulled) >= 2000


def main() -> bool:
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-bench-sync-"))
    os.environ.setdefault("KIOSK_DATA_DIR", str(tmp / "data"))
    try:
        ok = end_to_end(tmp)
        roster = tmp / "ingest-roster.db"
        _roster(roster, 4, 250)
        print(f"hub ingest of {OPS} operations vs plain executemany:")
        ok = ingest_sqlite(tmp, roster) and ok
        ok = ingest_postgres(roster) and ok
        ok = many_devices(tmp) and ok
        return ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

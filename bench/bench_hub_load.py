"""The hub under a district's end of day: 200 simulated devices syncing at once.

200 field devices in 10 grids (20 per grid), each enrolled with the hub for its grid; each
pushes 200 operations (half household edits, half new visits, on its grid's households) and
then pulls everything of its grid it has not got: the roster (about 200 operations) and what
its 19 grid-mates pushed (3,800), so about 4,000 down each. The pushes all start together,
then the pulls all start together, each device on its own thread with its own HTTP client,
through the real protocol (``kiosk.sync.client.HubClient``) against a real ``kiosk hub
serve`` process.

The devices are simulated at the protocol level: they do not apply what they pull to a
laptop database (the end-to-end figure of bench_sync measures a laptop's merge). So the
figure is the hub's: requests decoded, checked (token, scope, limits), stored and served.

Printed, for the SQLite hub (one process) and the PostgreSQL hub (``--workers 2`` when the
hub supports it, on a throwaway server): errors (budget 0), operations per device, the
aggregate throughput (operations pushed and pulled over the wall clock of both phases;
budget >= 10,000 ops/s), and p50/p95 of a device's sync time (its push and its pulls).

``KIOSK_BENCH_HUB_DEVICES`` shrinks the run while developing.
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
DEVICES = int(os.environ.get("KIOSK_BENCH_HUB_DEVICES", "200"))
GRIDS = 10
UP = 200
HOUSEHOLDS_PER_GRID = 100  # a roster of about 200 operations per grid (household, member)


def _stamp(ms: int, counter: int) -> str:
    return f"{ms:015d}.{counter:05d}"


def _ops(device_id: str, households: list[str], grid: str, n: int) -> list:
    import msgspec

    from db.ids import uuid7
    from kiosk.sync.protocol import OutOp

    encode = msgspec.json.encode
    now = int(time.time() * 1000)
    out = []
    for i in range(n):
        hid = households[i % len(households)]
        if i % 2:
            out.append(
                OutOp(
                    op_id=uuid7(),
                    hlc=_stamp(now, i),
                    entity="household",
                    entity_id=hid,
                    kind="update",
                    payload=msgspec.Raw(encode({"note": f"{device_id[-4:]} 第{i}次"})),
                    schema_version=5,
                    device_id=device_id,
                    base_version="000000000000001.00000",
                    field_bases=msgspec.Raw(encode({"note": "000000000000001.00000 seed"})),
                )
            )
        else:
            vid = uuid7()
            out.append(
                OutOp(
                    op_id=uuid7(),
                    hlc=_stamp(now, i),
                    entity="visit",
                    entity_id=vid,
                    kind="insert",
                    payload=msgspec.Raw(
                        encode(
                            {
                                "id": vid,
                                "household_id": hid,
                                "grid_id": grid,
                                "visit_type": "door",
                                "note": "入户走访",
                            }
                        )
                    ),
                    schema_version=5,
                    device_id=device_id,
                )
            )
    return out


def _serve(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    from tests.pg import free_port, wait_listening

    port = free_port()
    args = [
        sys.executable,
        "-m",
        "kiosk.cli.main",
        "hub",
        "serve",
        "--db",
        url,
        "--port",
        str(port),
    ]
    if workers > 1:
        args += ["--workers", str(workers)]
    proc = subprocess.Popen(
        args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE
    )
    wait_listening(proc)
    return proc, f"http://127.0.0.1:{port}"


def _supports_workers() -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "kiosk.cli.main", "hub", "serve", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return "--workers" in out.stdout


def load(name: str, store_url: str, roster: Path, workers: int) -> bool:
    from bench.bench_sync import _seed
    from db.connection import connect
    from db.ids import uuid7
    from kiosk.hub.store.open import open_store
    from kiosk.sync.client import HubClient

    store = open_store(store_url)
    _seed(store, roster)
    src = connect(roster, readonly=True)
    by_grid: dict[str, list[str]] = {}
    codes: dict[str, str] = {}
    for gid, code in src.execute("SELECT id, code FROM grids ORDER BY code"):
        codes[gid] = code
        by_grid[gid] = [
            r[0]
            for r in src.execute("SELECT id FROM households WHERE grid_id = ? ORDER BY id", (gid,))
        ]
    src.close()
    grids = sorted(by_grid)
    plan = []  # (enrolment code, grid id)
    for i in range(DEVICES):
        gid = grids[i % len(grids)]
        plan.append((store.add_device(f"d{i:03d}", [codes[gid]], role="field"), gid))
    store.close()

    proc, url = _serve(store_url, workers)
    devices = []
    try:
        for code, gid in plan:
            device_id = uuid7()
            with HubClient(url) as c:
                token = c.enrol(code, device_id).token
            devices.append((device_id, token, gid, _ops(device_id, by_grid[gid], gid, UP)))
        errors: list[BaseException] = []
        pushed, pulled, spent = [0] * DEVICES, [0] * DEVICES, [0.0] * DEVICES
        lock = threading.Lock()
        barrier = threading.Barrier(DEVICES + 1)

        def one(i: int) -> None:
            device_id, token, _gid, ops = devices[i]
            client = HubClient(url, token, timeout=300)
            try:
                barrier.wait()  # the pushes start together
                start = time.perf_counter()
                resp = client.push(device_id, ops, None)
                pushed[i] = len(resp.acked)
                spent[i] += time.perf_counter() - start
                barrier.wait()  # every push is in
                barrier.wait()  # the pulls start together
                start = time.perf_counter()
                cursor, more = None, True
                while more:
                    page = client.pull(cursor, 1000, None)
                    pulled[i] += len(page.ops)
                    cursor, more = page.cursor, page.more
                spent[i] += time.perf_counter() - start
            except BaseException as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(exc)
                barrier.abort()  # the others' waits end: the run is reported as failed
            finally:
                client.close()

        threads = [threading.Thread(target=one, args=(i,)) for i in range(DEVICES)]
        for th in threads:
            th.start()
        walls: list[float] = []
        try:
            barrier.wait()
            start = time.perf_counter()
            barrier.wait()
            walls.append(time.perf_counter() - start)
            barrier.wait()
            start = time.perf_counter()
            for th in threads:
                th.join()
            walls.append(time.perf_counter() - start)
        except threading.BrokenBarrierError:
            pass
        for th in threads:
            th.join()
    finally:
        proc.terminate()
        proc.wait(30)
    print(
        f"  {name}: errors: {len(errors)}"
        + (f" (first: {type(errors[0]).__name__}: {errors[0]})" if errors else "")
    )
    if errors or len(walls) < 2:
        return False
    total = sum(pushed) + sum(pulled)
    print(
        f"  {name}: per device {min(pushed)}-{max(pushed)} up, {min(pulled)}-{max(pulled)}"
        f" down; push phase {walls[0]:.1f} s, pull phase {walls[1]:.1f} s"
    )
    # every device gets its grid's roster (a household and a member each) and its mates' work
    expected = (DEVICES // GRIDS - 1) * UP + 2 * HOUSEHOLDS_PER_GRID
    complete = min(pulled) >= expected
    if not complete:
        print(
            f"  {name}: LOST: a device pulled {min(pulled)} operations, at least {expected}"
            " expected"
        )
    report(f"{name}: sync time per device p50", percentile(spent, 50), "s")
    report(f"{name}: sync time per device p95", percentile(spent, 95), "s")
    return (
        report(
            f"{name}: aggregate ({DEVICES} devices, {total} operations)",
            total / sum(walls),
            "ops/s",
            budget=10_000,
            higher_is_better=True,
        )
        and complete
    )


def main() -> bool:
    from bench.bench_sync import _roster
    from tests.pg import PgServer, pg_bin

    tmp = Path(tempfile.mkdtemp(prefix="kiosk-bench-hub-"))
    os.environ.setdefault("KIOSK_DATA_DIR", str(tmp / "data"))
    try:
        roster = tmp / "roster.db"
        _roster(roster, GRIDS, HOUSEHOLDS_PER_GRID)
        print(f"{DEVICES} simulated devices, {UP} operations up and about 4,000 down each:")
        ok = load("SQLite hub", str(tmp / "hub.db"), roster, 1)
        if pg_bin() is None:
            print("  PostgreSQL hub: SKIPPED (initdb/pg_ctl not installed)")
            return ok
        workers = 2 if _supports_workers() else 1
        server = PgServer()
        try:
            ok = (
                load(
                    f"PostgreSQL hub, {workers} worker process(es)",
                    server.new_database(),
                    roster,
                    workers,
                )
                and ok
            )
        finally:
            server.stop()
        return ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)

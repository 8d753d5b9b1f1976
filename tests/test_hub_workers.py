"""Several hub processes over one PostgreSQL: a real `kiosk hub serve --workers 2`, laptops
pushing and pulling at the same time, then every replica holds what the hub holds and
nothing is lost. A SQLite hub refuses --workers with a message."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from db.connection import open_database, transaction
from db.context import WriteContext
from db.households import update_household
from kiosk.hub.store.postgres import PostgresHubStore
from kiosk.sync.client import enrol, run_sync
from kiosk.sync.seed import seed_ops
from tests.conftest import ROOT, run_kiosk
from tests.pg import build_roster, free_port, wait_listening


def test_two_hub_processes_over_one_postgresql(tmp_path, pg_server):
    url = pg_server.new_database()
    store = PostgresHubStore(url)
    roster = tmp_path / "roster.db"
    build_roster(roster)
    src = open_database(roster).conn
    for batch in seed_ops(src):
        store.ingest(None, batch)
    src.close()
    codes = [store.add_device(f"d{i}", None, role="office") for i in range(4)]
    store.close()
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli.main",
            "hub",
            "serve",
            "--db",
            url,
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    laptops = []
    try:
        wait_listening(proc)
        hub = f"http://127.0.0.1:{port}"
        for i, code in enumerate(codes):
            database = open_database(tmp_path / f"d{i}.db")
            ctx = WriteContext.open(database.conn)
            enrol(ctx, hub, code)
            run_sync(ctx)
            laptops.append((database, ctx))
        hids = [r[0] for r in laptops[0][1].conn.execute("SELECT id FROM households ORDER BY id")]
        for i, (_db, ctx) in enumerate(laptops):
            with transaction(ctx.conn):
                for n in range(60):
                    update_household(ctx, hids[(i + n) % len(hids)], note=f"d{i} 第{n}次")
        errors: list[BaseException] = []

        def sync(ctx) -> None:  # type: ignore[no-untyped-def]
            try:
                for _ in range(3):
                    run_sync(ctx, batch_size=20)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=sync, args=(ctx,)) for _db, ctx in laptops]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        for _db, ctx in laptops:  # everyone once more, now that all have pushed
            run_sync(ctx)
        store = PostgresHubStore(url)
        try:
            assert store.op_count() >= 4 * 60
        finally:
            store.close()
        notes = [
            dict(ctx.conn.execute("SELECT id, note FROM households").fetchall())
            for _db, ctx in laptops
        ]
        assert all(n == notes[0] for n in notes[1:])
        for _db, ctx in laptops:
            assert ctx.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    finally:
        for database, _ctx in laptops:
            database.close()
        proc.terminate()
        proc.wait(15)
    said = proc.stderr.read().decode() if proc.stderr else ""
    assert "Traceback" not in said, said


def test_a_sqlite_hub_is_served_by_one_process(tmp_path):
    out = run_kiosk("hub", "serve", "--db", str(tmp_path / "hub.db"), "--workers", "2")
    assert out.returncode == 2 and "PostgreSQL" in out.stderr and "Traceback" not in out.stderr


def test_a_request_made_as_soon_as_the_hub_says_it_listens_is_answered(tmp_path, pg_server):
    """The ready line comes before the workers have started: a laptop that connects then
    waits in the socket's queue instead of being refused."""
    import httpx

    url = pg_server.new_database()
    PostgresHubStore(url).close()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "hub", "serve", "--db", url, "--port", str(port)]
        + ["--workers", "2"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_listening(proc)
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/enrol",
            json={"code": "AAAA-BBBB-CCCC", "device_id": "d-1", "schema": 15},
            timeout=60,
        )
        assert r.status_code == 403  # answered: an unknown code, not a refused connection
    finally:
        proc.terminate()
        proc.wait(15)

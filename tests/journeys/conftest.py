"""The day as tests: what a journey stands on, each in one place.

A journey runs the real `kiosk` command as subprocesses and the real screens under Pilot,
against a real hub (`kiosk hub serve`) on 127.0.0.1 seeded from the demo laptop, as the
README's walkthrough does. Every journey ends with :func:`the_day_holds`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DEMO_PINS, ROOT, SUPERVISOR, run_kiosk
from tests.pg import free_port, wait_listening

BAD_WORDS = ("意外错误", "unexpected error", "Traceback")


@dataclass
class Hub:
    url: str
    db: str  # the store: a SQLite file or a postgresql:// URL
    proc: subprocess.Popen

    def kiosk(self, *args: str) -> subprocess.CompletedProcess:
        out = run_kiosk("hub", *args, "--db", self.db)
        assert not any(w in out.stdout + out.stderr for w in BAD_WORDS), out.stderr
        return out

    def enrol(self, laptop: Path, name: str, *scope: str) -> None:
        """A device record for ``laptop`` (``--grid G``, ``--community C``...), and the
        laptop enrolled with its one-time code."""
        out = self.kiosk("devices", "add", name, *scope, "--json")
        assert out.returncode == 0, out.stderr
        code = json.loads(out.stdout)["code"]
        out = run_kiosk("enrol", "--db", str(laptop), "--hub", self.url, "--code", code)
        assert out.returncode == 0, out.stderr

    def _select(self, sql: str) -> list[tuple]:
        from kiosk.hub.store.open import open_store

        store = open_store(self.db)
        try:
            with store._tx(write=False) as cur:
                cur.execute(sql)
                return [tuple(r) for r in cur.fetchall()]
        finally:
            store.close()

    def op_ids(self) -> set[str]:
        return {r[0] for r in self._select("SELECT op_id FROM hub_ops")}

    def records(self) -> set[tuple[str, str]]:
        """Every record the hub holds, as (entity, id)."""
        return {(r[0], r[1]) for r in self._select("SELECT entity, entity_id FROM hub_scope")}


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request, tmp_path, demo_db):
    """A hub seeded from the demo laptop (the office's roster), served on 127.0.0.1: on a
    SQLite file, and on PostgreSQL with transaction ids about to gain a digit (positions once
    compared as text there)."""
    if request.param == "sqlite":
        store = str(tmp_path / "hub.db")
    else:
        from kiosk.hub.store.postgres import PostgresHubStore
        from tests.test_hub_store import _burn_to_before_boundary

        # a cluster of its own: its ids start low, so crossing 1000 burns a few hundred
        store = request.getfixturevalue("fresh_pg_server").new_database()
        pg = PostgresHubStore(store)
        _burn_to_before_boundary(pg, left=60)
        pg.close()
    out = run_kiosk("hub", "seed", "--db", store, "--from", str(demo_db))
    assert out.returncode == 0, out.stderr
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli.main",
            "hub",
            "serve",
            "--db",
            store,
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_listening(proc)
        yield Hub(f"http://127.0.0.1:{port}", store, proc)
    finally:
        proc.terminate()
        proc.wait(10)
        said = proc.stderr.read().decode() if proc.stderr else ""
        assert "Traceback" not in said, said


def kiosk_as(laptop: Path, who: str | None, *args: str) -> subprocess.CompletedProcess:
    """The real command on ``laptop``, as ``who`` with their PIN typed (None: as the device)."""
    out = run_kiosk(*args, "--db", str(laptop), as_worker=who)
    assert not any(w in out.stdout + out.stderr for w in BAD_WORDS), (args, out.stderr)
    return out


def sync(laptop: Path) -> dict:
    out = kiosk_as(laptop, None, "sync", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    assert doc["held"] == []
    return doc


def the_day_holds(hub: Hub, *laptops: Path) -> None:
    """What must hold after any day: each laptop's file is whole, its audit chain verifies,
    sign-in still works, nothing waits to be sent, the hub holds everything the laptop wrote,
    and the log never says "unexpected"."""
    from db.connection import open_database, transaction
    from db.context import WriteContext
    from kiosk.security.session import attempt
    from tests.conftest import GRID_WORKER

    for laptop in laptops:
        sync(laptop)
        database = open_database(laptop)
        try:
            conn = database.conn
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            ctx = WriteContext.open(conn)

            def write(fn, conn=conn, ctx=ctx):  # type: ignore[no-untyped-def]
                with transaction(conn):
                    return fn(ctx)

            for name in (GRID_WORKER, SUPERVISOR):
                assert attempt(conn, write, name, DEMO_PINS[name]).name == name
            assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
            mine = {
                r[0]: (r[1], r[2], r[3])
                for r in conn.execute(
                    "SELECT op_id, entity, entity_id, kind FROM oplog WHERE origin = 'local'"
                    " AND status != 'discarded'"
                )
            }
        finally:
            database.close()
        held, records = hub.op_ids(), hub.records()
        # every operation the laptop wrote is on the hub, or is the insert of a record the
        # hub held already (the seed's copy: acknowledged, not stored twice)
        missing = [
            (op, what)
            for op, what in mine.items()
            if op not in held and not (what[2] == "insert" and what[:2] in records)
        ]
        assert not missing, f"not on the hub: {missing[:5]}"
        out = kiosk_as(laptop, SUPERVISOR, "audit", "verify")
        assert out.returncode == 0, out.stdout + out.stderr
    log_dir = Path(os.environ["KIOSK_DATA_DIR"])
    for log in log_dir.rglob("*.log"):
        text = log.read_text(errors="replace")
        assert "Traceback" not in text and "unexpected" not in text.lower(), log

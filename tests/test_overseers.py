"""Street and district overseers (街道督办, 区级督办): added with their street, reaching its
grids only, reading figures and cases and writing nothing; the figures rolled up by street
and community add up to the grids'; an older laptop's workers table takes the new roles."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from db.connection import open_database, transaction
from db.workers import create_worker, worker_by_name
from kiosk.cases.figures import Scope, compute
from kiosk.core.errors import UserError
from kiosk.security.roles import allowed, guard_write, reach_grids, require
from tests.conftest import ADMINISTRATOR

STREET = "新阳路街道"


def _add(kiosk, db, *args):
    return kiosk(
        "workers",
        "add",
        *args,
        "--new-pin-stdin",
        "--db",
        str(db),
        input="864209\n",
        as_worker=ADMINISTRATOR,
    )


def test_an_overseer_is_added_with_a_street_the_laptop_knows(kiosk, demo_db):
    out = _add(kiosk, demo_db, "王街道", "--role", "street")
    assert out.returncode == 2 and "--street" in out.stderr
    out = _add(kiosk, demo_db, "王街道", "--role", "street", "--street", "没有的街道")
    assert out.returncode == 2 and "没有的街道" in out.stderr
    out = _add(kiosk, demo_db, "王街道", "--role", "worker", "--grid", "G001", "--street", STREET)
    assert out.returncode == 2 and "--street" in out.stderr
    out = _add(kiosk, demo_db, "王街道", "--role", "street", "--street", STREET)
    assert out.returncode == 0, out.stderr
    out = _add(kiosk, demo_db, "赵区", "--role", "district", "--district", "道里区")
    assert out.returncode == 0, out.stderr
    for text in (out.stdout, out.stderr):
        assert "Traceback" not in text
    db = open_database(demo_db)
    try:
        w = worker_by_name(db.conn, "王街道")
        assert (w.role, w.street, w.district) == ("street", STREET, None)
        assert worker_by_name(db.conn, "赵区").district == "道里区"
    finally:
        db.close()


def test_an_overseer_reads_their_street_and_writes_nothing(demo_db):
    db = open_database(demo_db)
    conn = db.conn
    try:
        from db.context import WriteContext

        ctx = WriteContext.open(conn)
        with transaction(conn):
            mine = create_worker(ctx, "王街道", "street", street=STREET)
            theirs = create_worker(ctx, "李街道", "street", street="东风街道")
        grids = {r[0] for r in conn.execute("SELECT id FROM grids")}
        assert set(reach_grids(conn, mine) or []) == grids
        assert reach_grids(conn, theirs) == []
        for action in ("figures.view", "cases.view", "export.masked", "sync.run"):
            assert allowed(mine, action), action
        for action in (
            "household.view",
            "household.edit",
            "case.assign",
            "case.rate",
            "visit.record",
            "export.full",
            "workers.manage",
        ):
            assert not allowed(mine, action), action
        require(mine, "figures.view", grid="G001", community="安静社区", street=STREET)
        with pytest.raises(UserError) as err:
            require(theirs, "figures.view", grid="G001", community="安静社区", street=STREET)
        assert err.value.key == "error.role_out_of_scope"
        # Hostile: an overseer's session tries to write; the one guard of every write refuses.
        ctx.worker_id, ctx.verified = mine.id, True
        case = conn.execute("SELECT id FROM cases LIMIT 1").fetchone()[0]
        for entity, payload in (
            ("case_event", {"case_id": case, "type": "close"}),
            ("case_event", {"case_id": case, "type": "rate"}),
            ("household", {"note": "x"}),
            ("feedback", {"text": "x"}),
        ):
            with pytest.raises(UserError) as err:
                guard_write(ctx, entity, "x", "insert", payload)
            assert err.value.key == "error.role_forbidden", entity
    finally:
        db.close()


def test_the_figures_roll_up_by_street_and_community_and_keep_to_a_reach(demo_db):
    db = open_database(demo_db)
    conn = db.conn
    try:
        f = compute(conn, today=date(2026, 12, 4))
        total = f["total"]["registered"]
        assert total > 0
        for dim in ("street", "community", "grid"):
            assert sum(r["registered"] for r in f[f"by_{dim}"]) == total, dim
        assert [r["key"] for r in f["by_street"]] == [STREET]
        g1 = conn.execute("SELECT id FROM grids WHERE code = 'G001'").fetchone()[0]
        only = compute(conn, Scope(grid_ids=(g1,)), today=date(2026, 12, 4))
        in_g1 = conn.execute("SELECT count(*) FROM cases WHERE grid_id = ?", (g1,)).fetchone()[0]
        assert only["total"]["registered"] == in_g1 < total
        assert [r["key"] for r in only["by_grid"]] == ["G001"]
        assert (
            compute(conn, Scope(grid_ids=()), today=date(2026, 12, 4))["total"]["registered"] == 0
        )
    finally:
        db.close()


def test_a_laptop_of_the_last_version_takes_the_new_roles(tmp_path):
    """A workers table as migration 20 left it (role held to three values by a CHECK) is
    rebuilt with its rows, and takes a street overseer."""
    from db.migrations import migrate

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "CREATE TABLE workers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " role TEXT NOT NULL CHECK (role IN ('worker', 'supervisor', 'admin')),"
        " grids TEXT NOT NULL DEFAULT '[]', community TEXT, disabled INTEGER NOT NULL DEFAULT 0,"
        " hlc TEXT NOT NULL, worker_id TEXT, device_id TEXT NOT NULL, pin_hash TEXT)"
    )
    conn.execute(
        "INSERT INTO workers(id, name, role, hlc, device_id, pin_hash)"
        " VALUES ('w1', '老张', 'admin', 'h', 'd', '$argon2id$x')"
    )
    conn.execute("PRAGMA user_version = 20")
    assert migrate(conn) >= 21
    assert conn.execute("SELECT name, role, pin_hash FROM workers").fetchall() == [
        ("老张", "admin", "$argon2id$x")
    ]
    conn.execute(
        "INSERT INTO workers(id, name, role, hlc, device_id, street)"
        " VALUES ('w2', '王街道', 'street', 'h', 'd', '新阳路街道')"
    )
    with pytest.raises(sqlite3.IntegrityError):  # the name stays unique
        conn.execute(
            "INSERT INTO workers(id, name, role, hlc, device_id) VALUES ('w3', '老张', 'worker', 'h', 'd')"
        )
    conn.close()


def test_an_overseer_exports_their_streets_ledger_masked(kiosk, demo_db, tmp_path):
    assert _add(kiosk, demo_db, "王街道", "--role", "street", "--street", STREET).returncode == 0
    out_file = tmp_path / "台账.csv"
    out = kiosk(
        "ledger",
        "original",
        "--out",
        str(out_file),
        "--json",
        "--db",
        str(demo_db),
        input="864209\n",
        as_worker="王街道",
        pin="864209",
    )
    assert out.returncode == 0, out.stderr
    conn = sqlite3.connect(demo_db)
    cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    audit = conn.execute(
        "SELECT detail FROM audit WHERE action = 'export' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    conn.close()
    assert json_rows(out.stdout) == cases
    assert '"masked":true' in audit[0] and "G001" in audit[0] and "G002" in audit[0]
    full = kiosk(
        "households",
        "export",
        "--full",
        "--out",
        str(tmp_path / "户.csv"),
        "--db",
        str(demo_db),
        as_worker="王街道",
        pin="864209",
    )
    assert full.returncode == 3, full.stderr


def json_rows(stdout: str) -> int:
    import json

    return json.loads(stdout)["rows"]


def test_the_office_replica_says_when_the_hub_cannot_be_reached(kiosk, demo_db):
    """A round that fails is said in the command's language, not as a key, and --once ends
    with status 6; a database that is not an office's is refused first."""
    from tests.pg import free_port

    out = kiosk("office", "serve", "--once", "--lang", "en", "--db", str(demo_db))
    assert out.returncode == 2 and "is not an office replica" in out.stderr, out.stderr
    conn = sqlite3.connect(demo_db)
    conn.executemany(
        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
        [
            ("sync.role", "office"),
            ("sync.hub_url", f"http://127.0.0.1:{free_port()}"),  # nobody listens there
            ("sync.token", "dev.secret"),
        ],
    )
    conn.commit()
    conn.close()
    out = kiosk("office", "serve", "--once", "--lang", "en", "--db", str(demo_db))
    assert out.returncode == 6, out.stderr
    assert "Sync failed: Cannot reach the hub" in out.stderr, out.stderr
    assert "sync.error" not in out.stderr and "Traceback" not in out.stderr

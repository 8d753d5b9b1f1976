"""A change the hub refuses is held on the laptop with the hub's reason, never a wall: the
rest of the laptop's changes go, `kiosk sync` and the sync screen name what was refused
(which record, which household by its address, why, what to do), and it is sent again once
its cause is fixed or given up by a supervisor, never dropped silently.

Everything through the real `kiosk` command and a real `kiosk hub serve` on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from db.connection import open_database, transaction
from db.context import WriteContext
from db.households import update_household
from tests.conftest import ROOT
from tests.pg import free_port, wait_listening


def _q(path, sql, *args):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@pytest.fixture
def hub(tmp_path, kiosk, demo_db):
    """A hub seeded from the demo laptop itself, as the README's walkthrough does."""
    store = tmp_path / "hub.db"
    out = kiosk("hub", "seed", "--db", str(store), "--from", str(demo_db), "--json")
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
            str(store),
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
        yield {"url": f"http://127.0.0.1:{port}", "db": str(store)}
    finally:
        proc.terminate()
        proc.wait(10)


def _enrol(kiosk, hub, laptop, name, *scope):
    out = kiosk("hub", "devices", "add", name, *scope, "--db", hub["db"], "--json")
    assert out.returncode == 0, out.stderr
    code = json.loads(out.stdout)["code"]
    out = kiosk("enrol", "--db", str(laptop), "--hub", hub["url"], "--code", code)
    assert out.returncode == 0, out.stderr


def test_the_first_sync_after_hub_seed_goes_through(kiosk, hub, demo_db):
    """Demo laptop → hub seed from it → a G001 laptop → sync: the laptop's own records the
    seed already gave the hub (the built-in questionnaire, the demo accounts) are acknowledged,
    not refused as out of scope."""
    pending = _q(demo_db, "SELECT count(*) FROM outbox")[0][0]
    assert pending > 0
    _enrol(kiosk, hub, demo_db, "演示网格员的笔记本", "--grid", "G001")
    out = kiosk("sync", "--db", str(demo_db), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["pushed"], report["refused"], report["held"]) == (pending, 0, [])
    assert _q(demo_db, "SELECT count(*) FROM outbox")[0][0] == 0


def _households(path, grid_code):
    return [
        r[0]
        for r in _q(
            path,
            "SELECT h.id FROM households h JOIN grids g"
            " ON g.id = h.grid_id WHERE g.code = ? ORDER BY h.id",
            grid_code,
        )
    ]


def _edit_unchecked(path, household_id, **changes):
    """A change made without the laptop's own scope check (an older version, or a laptop
    whose grids were changed at the office): only the hub stands in its way."""
    db = open_database(path)
    try:
        with transaction(db.conn):
            update_household(WriteContext.open(db.conn), household_id, **changes)
    finally:
        db.close()


def test_a_refused_change_is_held_named_and_never_a_wall(kiosk, hub, demo_db):
    _enrol(kiosk, hub, demo_db, "演示网格员的笔记本", "--grid", "G001")
    assert kiosk("sync", "--db", str(demo_db)).returncode == 0
    mine, theirs = _households(demo_db, "G001")[0], _households(demo_db, "G002")[0]
    _edit_unchecked(demo_db, mine, note="门口有狗")
    _edit_unchecked(demo_db, theirs, note="不是本网格的")
    _edit_unchecked(demo_db, mine, note="门口有狗，先敲门")

    out = kiosk("sync", "--db", str(demo_db), "--json")
    assert out.returncode == 5, out.stderr  # done, with changes held
    report = json.loads(out.stdout)
    assert (report["pushed"], report["refused"]) == (2, 1)
    [held] = report["held"]
    assert held["entity"] == "household" and held["household_id"] == theirs
    assert held["code"] == "out_of_scope" and held["why"] and held["todo"]
    address = _q(
        demo_db,
        "SELECT c.name FROM households h JOIN compounds c ON c.id = h.compound_id WHERE h.id = ?",
        theirs,
    )[0][0]
    assert address in held["household"]
    # The hub holds the other two and remembers what it refused and why.
    assert (
        _q(hub["db"], "SELECT count(*) FROM hub_ops WHERE entity_id = ? AND kind = 'update'", mine)[
            0
        ][0]
        == 2
    )
    assert _q(hub["db"], "SELECT code FROM hub_refused")[0][0] == "out_of_scope"
    out = kiosk("hub", "refused", "--db", hub["db"], "--json")
    assert [r["code"] for r in json.loads(out.stdout)["refused"]] == ["out_of_scope"]

    # In words, in either language: which record, which household, why, what to do.
    out = kiosk("sync", "--db", str(demo_db))
    assert out.returncode == 5
    assert address in out.stdout and "kiosk sync resend" in out.stderr
    assert "Traceback" not in out.stderr and "意外" not in out.stderr
    out = kiosk("sync", "refused", "--db", str(demo_db), "--lang", "en")
    assert "outside the grids" in out.stdout and "household" in out.stdout

    # Later changes are not stuck behind it.
    _edit_unchecked(demo_db, mine, note="已入户")
    out = kiosk("sync", "--db", str(demo_db), "--json")
    assert json.loads(out.stdout)["pushed"] == 1 and out.returncode == 5

    # Sent again without fixing the cause: refused again, still held, nothing lost.
    assert (
        kiosk("sync", "resend", "--all", "--db", str(demo_db), as_worker="演示网格员").returncode
        == 0
    )
    out = kiosk("sync", "--db", str(demo_db), "--json")
    assert out.returncode == 5 and json.loads(out.stdout)["refused"] == 1

    # A grid worker may not give it up; the supervisor may: it moves to the operation log.
    out = kiosk("sync", "discard", held["op_id"], "--db", str(demo_db), as_worker="演示网格员")
    assert out.returncode == 3 and "主管" in out.stderr
    out = kiosk(
        "sync",
        "discard",
        held["op_id"],
        "--note",
        "不是本网格",
        "--db",
        str(demo_db),
        as_worker="演示主管",
    )
    assert out.returncode == 0, out.stderr
    assert _q(demo_db, "SELECT status FROM oplog WHERE op_id = ?", held["op_id"]) == [
        ("discarded",)
    ]
    out = kiosk("sync", "--db", str(demo_db), "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["held"] == []
    assert kiosk("audit", "verify", "--db", str(demo_db), as_worker="演示主管").returncode == 0


def test_resent_once_the_office_fixes_the_laptops_grids(kiosk, hub, demo_db, tmp_path):
    """The cause fixed at the office (the laptop given the second grid), the held change is
    sent again and taken."""
    _enrol(kiosk, hub, demo_db, "旧登记", "--grid", "G001")
    theirs = _households(demo_db, "G002")[0]
    _edit_unchecked(demo_db, theirs, note="楼道堆物")
    assert kiosk("sync", "--db", str(demo_db)).returncode == 5
    out = kiosk(
        "hub", "devices", "scope", "旧登记", "--grid", "G001", "--grid", "G002", "--db", hub["db"]
    )
    assert out.returncode == 0, out.stderr
    assert (
        kiosk("sync", "resend", "--all", "--db", str(demo_db), as_worker="演示网格员").returncode
        == 0
    )
    out = kiosk("sync", "--db", str(demo_db), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["pushed"] == 1
    assert (
        _q(
            hub["db"],
            "SELECT count(*) FROM hub_ops WHERE entity_id = ? AND kind = 'update'",
            theirs,
        )[0][0]
        == 1
    )

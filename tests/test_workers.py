"""Workers, PINs and roles: ``kiosk workers`` as a subprocess, sign-in
rules with a controlled clock, and the role map."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.connection import open_database, transaction
from db.workers import set_disabled, worker_by_name
from kiosk.core.errors import UserError
from kiosk.security.auth import check_pin_rules, delay_after, seconds_to_wait, sign_in, verify_pin
from kiosk.security.roles import PERMISSIONS, allowed, require

ADMIN = "演示管理员"


def _workers(kiosk, db, *args, pin=None, who=None, who_pin=None):
    """``kiosk workers ...``: ``who`` acts (their PIN typed first), ``pin`` is the new PIN."""
    return kiosk("workers", *args, "--db", str(db), input=pin or "", as_worker=who, pin=who_pin)


def test_an_administrator_adds_lists_and_disables_a_worker(kiosk, demo_db):
    out = _workers(
        kiosk,
        demo_db,
        "add",
        "李新",
        "--role",
        "worker",
        "--grid",
        "G002",
        "--new-pin-stdin",
        who=ADMIN,
        pin="357913\n",
    )
    assert out.returncode == 0, out.stderr
    assert "已添加网格员 李新" in out.stderr
    doc = json.loads(_workers(kiosk, demo_db, "list", "--json", who=ADMIN).stdout)
    li = next(w for w in doc if w["name"] == "李新")
    assert li == {
        "name": "李新",
        "role": "worker",
        "grids": ["G002"],
        "community": "安静社区",
        "street": None,
        "district": None,
        "disabled": False,
        "pin_set": True,
    }
    conn = sqlite3.connect(demo_db)
    stored = conn.execute("SELECT pin_hash FROM workers WHERE name = '李新'").fetchone()[0]
    assert stored.startswith("$argon2id$")
    # the PIN itself is nowhere in the file: not in the row, not in the outbox
    dump = "\n".join(conn.iterdump())
    assert "357913" not in dump
    conn.close()
    assert _workers(kiosk, demo_db, "disable", "李新", who=ADMIN).returncode == 0
    doc = json.loads(_workers(kiosk, demo_db, "list", "--json", who=ADMIN).stdout)
    assert next(w for w in doc if w["name"] == "李新")["disabled"] is True
    table = _workers(kiosk, demo_db, "list", who=ADMIN).stdout
    assert "李新" in table and "已停用" in table


@pytest.mark.parametrize(
    "pin, needle",
    [
        ("12345\n", "6 到 12 位"),
        ("123456\n", "太容易被猜到"),
        ("888888\n", "太容易被猜到"),
        ("98765a\n", "只能由数字"),
    ],
)
def test_a_bad_pin_is_refused_and_nothing_is_written(kiosk, demo_db, pin, needle):
    before = sqlite3.connect(demo_db).execute("SELECT count(*) FROM workers").fetchone()[0]
    out = _workers(
        kiosk,
        demo_db,
        "add",
        "李新",
        "--role",
        "worker",
        "--grid",
        "G001",
        "--new-pin-stdin",
        who=ADMIN,
        pin=pin,
    )
    assert out.returncode == 2 and needle in out.stderr and "Traceback" not in out.stderr
    after = sqlite3.connect(demo_db).execute("SELECT count(*) FROM workers").fetchone()[0]
    assert after == before


def test_the_pin_is_never_an_argument_and_needs_a_terminal(kiosk, demo_db):
    out = _workers(
        kiosk,
        demo_db,
        "add",
        "李新",
        "--role",
        "worker",
        "--grid",
        "G001",
        "--pin",
        "357913",
        who=ADMIN,
    )
    assert out.returncode == 2  # argparse: no such option
    out = _workers(kiosk, demo_db, "add", "李新", "--role", "worker", "--grid", "G001", who=ADMIN)
    assert out.returncode == 2 and "--new-pin-stdin" in out.stderr


def test_only_an_administrator_manages_workers(kiosk, demo_db):
    for who in ("演示网格员", "演示主管"):
        out = _workers(
            kiosk,
            demo_db,
            "add",
            "李新",
            "--role",
            "worker",
            "--grid",
            "G001",
            "--new-pin-stdin",
            who=who,
            pin="357913\n",
        )
        assert out.returncode == 3 and "只有管理员可以" in out.stderr
    out = _workers(kiosk, demo_db, "list")  # no --worker: never the laptop's default worker
    assert out.returncode == 3 and "--worker" in out.stderr


def test_the_first_administrator_bootstraps_and_the_last_cannot_be_disabled(kiosk, tmp_path):
    db = tmp_path / "new.db"
    out = _workers(kiosk, db, "add", "赵管理", "--role", "admin", "--new-pin-stdin", pin="975311\n")
    assert out.returncode == 0, out.stderr
    assert "首位管理员" in out.stderr
    # from now on an administrator is needed
    out = _workers(kiosk, db, "add", "钱管理", "--role", "admin", "--new-pin-stdin", pin="975311\n")
    assert out.returncode == 3
    out = _workers(kiosk, db, "disable", "赵管理", who="赵管理", who_pin="975311")
    assert out.returncode == 2 and "最后一位" in out.stderr
    out = _workers(
        kiosk,
        db,
        "add",
        "孙主管",
        "--role",
        "supervisor",
        "--new-pin-stdin",
        who="赵管理",
        who_pin="975311",
        pin="975311\n",
    )
    assert out.returncode == 2 and "--community" in out.stderr


# --- sign-in rules ----------------------------------------------------------------------------
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_sign_in_counts_failures_and_makes_the_next_attempt_wait(demo_db):
    db = open_database(demo_db)
    conn = db.conn
    assert sign_in(conn, "演示网格员", "246810", now=T0).name == "演示网格员"
    for _ in range(2):  # two typos are free
        with pytest.raises(UserError) as err:
            sign_in(conn, "演示网格员", "000000", now=T0)
        assert err.value.key == "error.signin_wrong"
    with pytest.raises(UserError) as err:
        sign_in(conn, "演示网格员", "000000", now=T0)
    assert err.value.key == "error.signin_wrong_wait" and err.value.params["seconds"] == 5
    # while waiting, even the right PIN is not checked
    with pytest.raises(UserError) as err:
        sign_in(conn, "演示网格员", "246810", now=T0 + timedelta(seconds=2))
    assert err.value.key == "error.signin_wait" and err.value.params["seconds"] == 3
    later = T0 + timedelta(seconds=6)
    with pytest.raises(UserError) as err:
        sign_in(conn, "演示网格员", "000000", now=later)
    assert err.value.params["seconds"] == 10  # the wait doubles
    later += timedelta(seconds=11)
    assert sign_in(conn, "演示网格员", "246810", now=later).role == "worker"
    assert seconds_to_wait(conn, worker_by_name(conn, "演示网格员").id, now=later) == 0
    db.close()


def test_unknown_name_and_wrong_pin_read_the_same_and_a_disabled_worker_is_refused(demo_db):
    db = open_database(demo_db)
    conn = db.conn
    with pytest.raises(UserError) as unknown:
        sign_in(conn, "没有这个人", "246810", now=T0)
    with pytest.raises(UserError) as wrong:
        sign_in(conn, "演示主管", "246810", now=T0)
    assert unknown.value.key == wrong.value.key == "error.signin_wrong"
    from db.context import WriteContext

    ctx = WriteContext.open(conn)
    with transaction(conn):
        set_disabled(ctx, worker_by_name(conn, "演示主管").id, True)
    with pytest.raises(UserError) as err:
        sign_in(conn, "演示主管", "135790", now=T0)
    assert err.value.key == "error.worker_disabled"
    db.close()


@given(st.integers(min_value=0, max_value=60))
def test_the_delay_never_shrinks_and_is_bounded(n):
    assert 0 <= delay_after(n) <= delay_after(n + 1) <= 15 * 60


@given(st.text(alphabet="0123456789", min_size=6, max_size=12))
def test_pin_rules_accept_exactly_the_non_trivial_digit_strings(pin):
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:], strict=False)}
    trivial = steps in ({0}, {1}, {9})
    try:
        check_pin_rules(pin)
        assert not trivial
    except UserError:
        assert trivial


def test_a_malformed_hash_matches_nothing():
    assert not verify_pin("not-a-hash", "246810")
    assert not verify_pin(None, "246810")


# --- the role map -----------------------------------------------------------------------------
def test_the_role_map(demo_db):
    db = open_database(demo_db)
    w = {n: worker_by_name(db.conn, n) for n in ("演示网格员", "演示主管", "演示管理员")}
    db.close()
    assert allowed(w["演示主管"], "case.assign") and not allowed(w["演示网格员"], "case.assign")
    assert not allowed(w["演示管理员"], "case.assign")  # administrators do no case work
    assert allowed(w["演示管理员"], "workers.manage")
    assert not allowed(w["演示主管"], "workers.manage")
    assert not allowed(w["演示网格员"], "no.such.action")
    require(w["演示网格员"], "visit.record", grid="G001", community="安静社区")
    with pytest.raises(UserError) as err:
        require(w["演示网格员"], "visit.record", grid="G002", community="安静社区")
    assert err.value.key == "error.role_out_of_scope"
    require(w["演示主管"], "case.close", grid="G002", community="安静社区")
    with pytest.raises(UserError):
        require(w["演示主管"], "case.close", grid="G099", community="新阳社区")
    every = {"worker", "supervisor", "admin", "street", "district"}
    assert all(roles <= every for roles in PERMISSIONS.values())

"""``kiosk resident`` and the counter's identity on the command line: what is refused before
the counter's screen ever opens, and the slip commands the counter's refusals rest on."""

from __future__ import annotations

import json
import sqlite3

from tests.conftest import ADMINISTRATOR, SUPERVISOR, run_kiosk

COUNTER, COUNTER_PIN = "一号柜台", "482916"


def _add_counter(db, *scope: str):
    return run_kiosk(
        "workers", "add", COUNTER, "--role", "kiosk", *scope, "--new-pin-stdin", "--db", str(db),
        as_worker=ADMINISTRATOR, input=COUNTER_PIN + "\n",
    )  # fmt: skip


def test_kiosk_resident_refuses_before_opening(demo_db):
    db = ("--db", str(demo_db))
    out = run_kiosk("resident", *db)
    assert out.returncode == 2 and "--worker" in out.stderr, out.stderr
    out = run_kiosk("resident", "--worker", SUPERVISOR, "--pin-stdin", *db, input="135790\n")
    assert out.returncode == 3 and "不是居民自助终端身份" in out.stderr, out.stderr
    out = run_kiosk("resident", "--idle", "0", "--lang", "en", *db)
    assert out.returncode == 2 and "is not a number of seconds" in out.stderr, out.stderr
    out = _add_counter(demo_db, "--community", "安静社区")
    assert out.returncode == 0, out.stderr
    conn = sqlite3.connect(demo_db)
    row = conn.execute("SELECT role, community FROM workers WHERE name = ?", (COUNTER,)).fetchone()
    conn.close()
    assert row == ("kiosk", "安静社区")
    out = run_kiosk("resident", "--worker", COUNTER, "--pin-stdin", *db, input="999999\n")
    assert out.returncode == 3 and "PIN" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    # Not on a worker's laptop or an office PC: their databases hold households.
    conn = sqlite3.connect(demo_db)
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('sync.role', 'field')")
    conn.commit()
    conn.close()
    out = run_kiosk("resident", "--worker", COUNTER, "--pin-stdin", *db, input=COUNTER_PIN + "\n")
    assert out.returncode == 3 and "网格笔记本" in out.stderr, out.stderr


def test_kiosk_resident_refuses_a_database_nobody_can_administer(tmp_path):
    """Nobody could end the counter (F10 asks an administrator's PIN), and no PIN would be
    asked: refused before the screen opens."""
    from db.connection import open_database, transaction
    from db.context import WriteContext
    from db.workers import create_worker
    from kiosk.security.auth import hash_pin

    path = tmp_path / "new.db"
    database = open_database(path)
    ctx = WriteContext.open(database.conn)
    with transaction(database.conn):
        create_worker(ctx, COUNTER, "kiosk", community="安静社区", pin_hash=hash_pin(COUNTER_PIN))
    database.close()
    out = run_kiosk("resident", "--worker", COUNTER, "--db", str(path))
    assert out.returncode == 3 and "管理员" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def _slip_command(monkeypatch, capsys, *args: str) -> dict:
    """``kiosk slip`` in this process, as the supervisor with their PIN on standard input."""
    import io

    from kiosk.cli.main import main

    monkeypatch.setattr("sys.stdin", io.StringIO("135790\n"))
    assert main(["--as", SUPERVISOR, "--pin-stdin", "slip", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_slip_reprinted_then_revoked_on_the_command_line(demo_db, tmp_path, monkeypatch, capsys):
    db = ("--db", str(demo_db))
    conn = sqlite3.connect(demo_db)
    number = conn.execute(
        "SELECT c.number FROM cases c JOIN case_state s ON s.case_id = c.id"
        " WHERE s.status = 'resolved' LIMIT 1"
    ).fetchone()[0]
    conn.close()
    first = _slip_command(monkeypatch, capsys, number, "--out", str(tmp_path / "a.pdf"), *db)
    again = _slip_command(
        monkeypatch, capsys, number, "--out", str(tmp_path / "b.pdf"), "--reprint", *db
    )
    assert again["code"] != first["code"]
    assert _slip_command(monkeypatch, capsys, number, "--revoke", *db)["revoked"] == 1


def test_a_counter_identity_serves_one_community(runtime):
    import pytest

    from kiosk.core.errors import UserError
    from kiosk.security.staff import check_worker

    with pytest.raises(UserError) as err:
        check_worker(runtime.conn, COUNTER, "kiosk")
    assert "--community" in err.value.message()
    assert check_worker(runtime.conn, COUNTER, "kiosk", community="安静社区")[2] == "安静社区"

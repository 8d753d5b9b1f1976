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
    out = run_kiosk("resident", "--worker", "没有这个人", *db)
    assert out.returncode != 0 and "没有这个人" in out.stderr, out.stderr
    out = run_kiosk("resident", "--worker", SUPERVISOR, "--pin-stdin", *db, input="135790\n")
    assert out.returncode == 3 and "不是居民自助终端身份" in out.stderr, out.stderr
    out = run_kiosk("resident", "--idle", "0", *db)
    assert out.returncode == 2 and "不是有效的秒数" in out.stderr, out.stderr
    out = run_kiosk("resident", "--idle", "soon", "--lang", "en", *db)
    assert out.returncode == 2 and "is not a number of seconds" in out.stderr, out.stderr
    out = _add_counter(demo_db)  # the counter's identity serves one community
    assert out.returncode == 2 and "--community" in out.stderr, out.stderr
    out = _add_counter(demo_db, "--community", "安静社区")
    assert out.returncode == 0, out.stderr
    conn = sqlite3.connect(demo_db)
    row = conn.execute("SELECT role, community FROM workers WHERE name = ?", (COUNTER,)).fetchone()
    conn.close()
    assert row == ("kiosk", "安静社区")
    out = run_kiosk("resident", "--worker", COUNTER, "--pin-stdin", *db, input="999999\n")
    assert out.returncode == 3 and "PIN" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_a_slip_reprinted_then_revoked_on_the_command_line(demo_db, tmp_path):
    db = ("--db", str(demo_db))
    conn = sqlite3.connect(demo_db)
    number = conn.execute(
        "SELECT c.number FROM cases c JOIN case_state s ON s.case_id = c.id"
        " WHERE s.status = 'resolved' LIMIT 1"
    ).fetchone()[0]
    conn.close()
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    out = run_kiosk("slip", number, "--out", str(first), "--json", *db, as_worker=SUPERVISOR)
    code = json.loads(out.stdout)["code"]
    out = run_kiosk(
        "slip", number, "--out", str(second), "--reprint", "--json", *db, as_worker=SUPERVISOR
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["code"] != code
    out = run_kiosk("slip", number, "--revoke", "--json", *db, as_worker=SUPERVISOR)
    assert out.returncode == 0 and json.loads(out.stdout)["revoked"] == 1, out.stderr
    out = run_kiosk("slip", number, *db, as_worker=SUPERVISOR)
    assert out.returncode == 2  # --out or --revoke

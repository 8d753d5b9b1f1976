"""The kiosk command as a subprocess: database selection, JSON output, messages, exit codes."""

import json
import os
import signal
import sqlite3
import subprocess
import sys

from conftest import ROOT


def test_demo_find_stats_round_trip(tmp_path, kiosk):
    db = tmp_path / "k.db"
    out = kiosk("demo", "--db", str(db), "--households", "400", "--seed", "3", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["households"] == 400 and summary["members"] > 400
    stats = json.loads(kiosk("stats", "--json", "--db", str(db)).stdout)
    assert {"households", "members", "visits", "feedback", "cases"} <= set(stats)
    assert stats["households"] == 400
    conn = sqlite3.connect(db)
    name = conn.execute("SELECT name FROM members LIMIT 1").fetchone()[0]
    found = kiosk("households", "find", name, "--db", str(db), "--json")
    assert found.returncode == 0, found.stderr
    doc = json.loads(found.stdout)
    assert doc["results"] and doc["results"][0]["rank"] == 0
    # A member who is not the head: the result names them.
    spouse = conn.execute("SELECT name FROM members WHERE relation = '配偶' LIMIT 1").fetchone()[0]
    doc = json.loads(kiosk("households", "find", spouse, "--db", str(db), "--json").stdout)
    assert spouse in [r["matched_member"] for r in doc["results"]]


def test_db_from_environment(tmp_path, kiosk):
    db = tmp_path / "env.db"
    assert kiosk("demo", "--households", "50", env={"KIOSK_DB": str(db)}).returncode == 0
    stats = kiosk("stats", "--json", env={"KIOSK_DB": str(db)})
    assert json.loads(stats.stdout)["households"] == 50
    # --db wins over KIOSK_DB
    other = tmp_path / "other.db"
    kiosk("demo", "--households", "20", "--db", str(other), env={"KIOSK_DB": str(db)})
    assert json.loads(kiosk("stats", "--json", "--db", str(other)).stdout)["households"] == 20


def test_demo_is_deterministic_for_a_seed(tmp_path, kiosk):
    rows = []
    for name in ("a.db", "b.db"):
        db = tmp_path / name
        assert kiosk("demo", "--db", str(db), "--households", "300", "--seed", "9").returncode == 0
        conn = sqlite3.connect(db)
        rows.append(
            conn.execute(
                "SELECT h.id, h.address_key, m.name, m.phone, m.id_number FROM households h"
                " JOIN members m ON m.household_id = h.id ORDER BY m.id"
            ).fetchall()
        )
    assert rows[0] == rows[1]


def test_demo_refuses_a_database_with_households(tmp_path, kiosk):
    db = tmp_path / "k.db"
    kiosk("demo", "--db", str(db), "--households", "30")
    again = kiosk("demo", "--db", str(db), "--households", "30")
    assert again.returncode == 1
    assert "演示数据只能写入空数据库" in again.stderr and "Traceback" not in again.stderr


def test_json_output_is_one_document_and_messages_go_to_stderr(tmp_path, kiosk):
    db = tmp_path / "k.db"
    kiosk("demo", "--db", str(db), "--households", "30")
    out = kiosk("households", "find", "zzzzzzzz", "--db", str(db), "--json")
    assert json.loads(out.stdout) == {"query": "zzzzzzzz", "results": []}
    plain = kiosk("households", "find", "zzzzzzzz", "--db", str(db))
    assert plain.stdout == "" and "没有找到" in plain.stderr


def test_bad_queries_and_files_get_messages_not_tracebacks(tmp_path, kiosk):
    db = tmp_path / "k.db"
    kiosk("demo", "--db", str(db), "--households", "30")
    for query in ["", "x" * 10_000, '"*NEAR', "😀"]:
        out = kiosk("households", "find", query, "--db", str(db))
        assert "Traceback" not in out.stderr
        assert out.returncode in (0, 2)
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    out = kiosk("stats", "--db", str(bad))
    assert out.returncode == 1 and "无法读取数据库" in out.stderr and "Traceback" not in out.stderr
    missing = kiosk("stats", "--db", str(tmp_path / "nope.db"))
    assert missing.returncode == 1 and "找不到数据库" in missing.stderr


def test_english_on_request(tmp_path, kiosk):
    db = tmp_path / "k.db"
    out = kiosk("demo", "--db", str(db), "--households", "10", "--lang", "en")
    assert "Demo data written" in out.stderr
    assert "households" in kiosk("--lang", "en", "--help").stdout
    assert "住户" in kiosk("--help").stdout


def test_show_masks_phone_and_id_numbers(tmp_path, kiosk):
    db = tmp_path / "k.db"
    kiosk("demo", "--db", str(db), "--households", "10")
    conn = sqlite3.connect(db)
    hid, phone, idn = conn.execute(
        "SELECT household_id, phone, id_number FROM members WHERE phone != '' LIMIT 1"
    ).fetchone()
    out = kiosk("households", "show", hid, "--db", str(db), "--json")
    doc = json.loads(out.stdout)
    shown = {m["phone"] for m in doc["members_list"]} | {
        m["id_number"] for m in doc["members_list"]
    }
    assert phone not in out.stdout and idn not in out.stdout
    assert any("****" in s for s in shown)


def test_demo_killed_midway_leaves_whole_transactions(tmp_path):
    """SIGKILL during `kiosk demo`: the file is intact and holds whole batches only."""
    db = tmp_path / "killed.db"
    env = {**os.environ}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "demo", "--db", str(db), "--households", "200000"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The demo reports progress after each committed batch: its first line means at
        # least one whole transaction is on disk and more are being written.
        assert proc.stderr is not None
        assert proc.stderr.readline(), "the demo ended before its first batch"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    households = conn.execute("SELECT count(*) FROM households").fetchone()[0]
    assert 0 < households < 200000
    conn.close()
    # Reopening folds the search keys the interrupted load had staged.
    from db.connection import open_database

    conn = open_database(db).conn
    assert conn.execute("SELECT count(*) FROM search_terms_staged").fetchone()[0] == 0
    # Whole batches: every household has its members and search keys, every grid is complete.
    assert (
        conn.execute(
            "SELECT count(*) FROM households h WHERE member_count !="
            " (SELECT count(*) FROM members m WHERE m.household_id = h.id)"
        ).fetchone()[0]
        == 0
    )
    assert (
        conn.execute(
            "SELECT count(*) FROM households h WHERE NOT EXISTS"
            " (SELECT 1 FROM search_terms s WHERE s.term = 'a:' || h.address_key AND s.hh = h.rid)"
        ).fetchone()[0]
        == 0
    )
    grids = conn.execute("SELECT count(*) FROM grids").fetchone()[0]
    assert grids % 10 == 0  # the demo commits ten grids per transaction


def test_argparse_speaks_the_interfaces_language(kiosk):
    zh_help = kiosk("--help")
    assert zh_help.returncode == 0
    assert "显示本帮助并退出" in zh_help.stdout and "用法：" in zh_help.stdout
    assert "show this help" not in zh_help.stdout and "usage:" not in zh_help.stdout
    zh_error = kiosk("cases", "add")
    assert zh_error.returncode == 2 and "缺少必需的参数：--household" in zh_error.stderr
    assert "required" not in zh_error.stderr
    en_error = kiosk("--lang", "en", "cases", "add")
    assert "the following arguments are required: --household" in en_error.stderr
    bad_choice = kiosk("visits", "add", "x", "--type", "walk")
    assert "无效的选项 'walk'" in bad_choice.stderr


def test_stats_as_a_table_reads_in_one_language_with_rates_as_percentages(kiosk, demo_db):
    import re

    zh = kiosk("stats", "--db", str(demo_db), as_worker="演示主管")
    assert zh.returncode == 0, zh.stderr
    assert "满意率" in zh.stdout and "satisfaction_rate" not in zh.stdout
    assert re.search(r"满意率\s+\d+(\.\d)?%", zh.stdout)
    assert not re.search(r"[A-Za-z]{3,}", zh.stdout)
    en = kiosk("--lang", "en", "stats", "--db", str(demo_db), as_worker="演示主管")
    assert re.search(r"Satisfaction\s+\d+(\.\d)?%", en.stdout)
    assert not re.search(r"[\u4e00-\u9fff]", en.stdout)


def test_households_show_gives_the_door_labels_code(kiosk, demo_db, tmp_path):
    """The label code (no personal data in it) is one command away: what `cases add
    --household` and a scan take."""
    import sqlite3

    hid = sqlite3.connect(demo_db).execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    before = kiosk("households", "show", hid, "--db", str(demo_db), as_worker="演示网格员")
    assert "门牌标签：尚未打印" in before.stdout
    out = tmp_path / "labels.pdf"
    printed = kiosk(
        "labels", "--household", hid, "--out", str(out), "--db", str(demo_db),
        as_worker="演示网格员",
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    shown = kiosk("households", "show", hid, "--db", str(demo_db), "--json", as_worker="演示网格员")
    code = json.loads(shown.stdout)["label"]
    assert code.startswith("HH1:")
    case = kiosk(
        "cases", "add", "--household", code, "--category", "parking", "--summary", "楼下停车难",
        "--db", str(demo_db), as_worker="演示网格员",
    )  # fmt: skip
    assert case.returncode == 0, case.stderr

"""Encryption at rest (docs/security.md): the CLI turns it on and off, crash-safely; an
encrypted database opens with its key file and only with it; the interface works on it."""

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest
from conftest import DEMO_PINS, ROOT

from db.connection import SQLITE_HEADER, SQLiteErrors, connect, conversion_path, file_state
from tests.pilot_helpers import signed_in_app

ADMIN = "演示管理员"  # the demo's administrator (kiosk/demo/district.py DEMO_ACCOUNTS)


@pytest.fixture(autouse=True)
def no_encryption_settings(monkeypatch):
    for var in ("KIOSK_ENCRYPTION", "KIOSK_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)


def counts(db) -> dict[str, int]:
    """Rows per table but the audit trail (each command's PIN adds a sign-in entry), read with
    the standard library (so only from a plain file)."""
    conn = sqlite3.connect(db)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND name != 'audit'"
            )
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def first_name(db) -> str:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT name FROM members LIMIT 1").fetchone()[0]


def status(kiosk, db, **env) -> dict:
    out = kiosk("encryption", "status", "--db", str(db), "--json", env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def assert_clean(out) -> None:
    """A message for a person: no traceback, no SQLCipher log lines."""
    assert "Traceback" not in out.stderr and "ERROR CORE" not in out.stderr, out.stderr


def test_on_find_off_round_trip(tmp_path, kiosk):
    db = tmp_path / "k.db"
    assert kiosk("demo", "--db", str(db), "--households", "50").returncode == 0
    before = counts(db)
    name = first_name(db)
    assert status(kiosk, db)["encrypted"] is False

    on = kiosk("encryption", "on", "--db", str(db), "--json", as_worker=ADMIN)
    assert on.returncode == 0, on.stderr
    doc = json.loads(on.stdout)
    trail = 3 + 1  # the audit trail: the demo and its two questionnaires, the administrator's PIN
    assert doc["changed"] and doc["rows"] == sum(before.values()) + trail
    assert db.read_bytes()[:16] != SQLITE_HEADER and file_state(db) == "encrypted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.db"]  # no -wal, -shm, temp file
    st = status(kiosk, db)
    assert st["encrypted"] and st["key_file_exists"] and st["key_file"] == doc["key_file"]
    key_file = doc["key_file"]
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    key_hex = [line for line in open(key_file).read().splitlines() if not line.startswith("#")]
    assert len(key_hex) == 1 and len(key_hex[0]) == 64
    assert key_hex[0] not in on.stdout + on.stderr + json.dumps(st)  # never shown

    found = kiosk("households", "find", name, "--db", str(db), "--json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"]
    with contextlib.closing(sqlite3.connect(db)) as raw, pytest.raises(sqlite3.DatabaseError):
        raw.execute("SELECT count(*) FROM households").fetchone()
    # A second `on` changes nothing.
    again = kiosk("encryption", "on", "--db", str(db), "--json", as_worker=ADMIN)
    assert again.returncode == 0 and json.loads(again.stdout)["changed"] is False

    off = kiosk("encryption", "off", "--db", str(db), as_worker=ADMIN)
    assert off.returncode == 0, off.stderr
    assert db.read_bytes()[:16] == SQLITE_HEADER
    assert counts(db) == before
    with contextlib.closing(sqlite3.connect(db)) as plain:
        assert plain.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert os.path.exists(key_file)  # kept: backups made while encrypted still need it


def test_only_an_administrator_turns_it_on(tmp_path, kiosk):
    db = tmp_path / "k.db"
    kiosk("demo", "--db", str(db), "--households", "30")
    refused = kiosk("encryption", "on", "--db", str(db))  # as the first grid worker
    assert refused.returncode == 3 and "管理员" in refused.stderr
    assert_clean(refused)
    assert file_state(db) == "plain"


def test_wrong_missing_or_damaged_key_gets_a_message(tmp_path, kiosk):
    db = tmp_path / "k.db"
    kiosk("demo", "--db", str(db), "--households", "30")
    on = kiosk("encryption", "on", "--db", str(db), "--json", as_worker=ADMIN)
    key_file = json.loads(on.stdout)["key_file"]

    other = tmp_path / "other.key"
    other.write_text(os.urandom(32).hex() + "\n")
    wrong = kiosk("stats", "--db", str(db), env={"KIOSK_KEY_FILE": str(other)})
    assert wrong.returncode == 1 and "不是它的密钥" in wrong.stderr and str(other) in wrong.stderr
    assert_clean(wrong)

    missing = kiosk(
        "--lang",
        "en",
        "stats",
        "--db",
        str(db),
        env={"KIOSK_KEY_FILE": str(tmp_path / "usb" / "gone.key")},
    )
    assert missing.returncode == 1 and "is encrypted, but its key file" in missing.stderr
    assert_clean(missing)

    damaged = tmp_path / "damaged.key"
    damaged.write_text("not a key\n")
    bad = kiosk("stats", "--db", str(db), env={"KIOSK_KEY_FILE": str(damaged)})
    assert bad.returncode == 1 and "64 位十六进制" in bad.stderr
    assert_clean(bad)

    # The key file moved to a USB key: key_file points at it.
    moved = tmp_path / "usb.key"
    os.rename(key_file, moved)
    assert kiosk("stats", "--db", str(db)).returncode == 1
    ok = kiosk("stats", "--db", str(db), "--json", env={"KIOSK_KEY_FILE": str(moved)})
    assert ok.returncode == 0 and json.loads(ok.stdout)["households"] == 30


def test_a_key_file_on_an_absent_usb_key_is_not_created_on_the_laptop(tmp_path, kiosk):
    db = tmp_path / "k.db"
    kiosk("demo", "--db", str(db), "--households", "30")
    usb = tmp_path / "media" / "KIOSK-KEY"
    env = {"KIOSK_KEY_FILE": str(usb / "kiosk.key")}
    out = kiosk("encryption", "on", "--db", str(db), env=env, as_worker=ADMIN)
    assert out.returncode == 1 and "请先插上 U 盘" in out.stderr
    assert_clean(out)
    assert not usb.exists() and file_state(db) == "plain"
    usb.mkdir(parents=True)  # plugged in
    assert kiosk("encryption", "on", "--db", str(db), env=env, as_worker=ADMIN).returncode == 0
    assert (usb / "kiosk.key").exists() and file_state(db) == "encrypted"


def test_a_copied_file_needs_its_key(tmp_path, kiosk):
    """Another laptop (another config folder, so no key) cannot open a copied database."""
    db = tmp_path / "k.db"
    kiosk("demo", "--db", str(db), "--households", "30")
    name = first_name(db).encode("utf-8")  # two or three characters: 6 or 9 bytes
    assert name in db.read_bytes()  # in clear while plain
    kiosk("encryption", "on", "--db", str(db), as_worker=ADMIN)
    copy = tmp_path / "copy" / "kiosk.db"
    copy.parent.mkdir()
    copy.write_bytes(db.read_bytes())
    elsewhere = kiosk(
        "stats",
        "--db",
        str(copy),
        env={"KIOSK_CONFIG": str(tmp_path / "elsewhere" / "config.toml")},
    )
    assert elsewhere.returncode == 1 and "找不到它的密钥文件" in elsewhere.stderr
    assert_clean(elsewhere)
    assert name not in copy.read_bytes()


def test_the_setting_encrypts_new_and_existing_databases(tmp_path, kiosk):
    on = {"KIOSK_ENCRYPTION": "true"}
    new = tmp_path / "new.db"
    assert kiosk("demo", "--db", str(new), "--households", "30", env=on).returncode == 0
    assert file_state(new) == "encrypted"

    plain = tmp_path / "plain.db"
    kiosk("demo", "--db", str(plain), "--households", "30")
    before = counts(plain)
    stats = kiosk("stats", "--db", str(plain), "--json", env=on)
    assert stats.returncode == 0, stats.stderr
    assert file_state(plain) == "encrypted" and json.loads(stats.stdout)["households"] == 30
    # Turning it off while the setting would turn it on again is refused.
    refused = kiosk("encryption", "off", "--db", str(plain), env=on, as_worker=ADMIN)
    assert refused.returncode == 2 and "KIOSK_ENCRYPTION" in refused.stderr
    assert kiosk("encryption", "off", "--db", str(plain), as_worker=ADMIN).returncode == 0
    assert counts(plain) == before


def test_refused_while_the_database_is_open_elsewhere(demo_db, kiosk):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
            " c.execute('SELECT count(*) FROM households').fetchone(); print('open', flush=True);"
            " sys.stdin.read()",
            str(demo_db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        busy = kiosk("encryption", "on", "--db", str(demo_db), as_worker=ADMIN)
        assert busy.returncode == 1 and "正被另一个程序" in busy.stderr
        assert_clean(busy)
        assert file_state(demo_db) == "plain"
    finally:
        holder.communicate("", timeout=30)
    assert kiosk("encryption", "on", "--db", str(demo_db), as_worker=ADMIN).returncode == 0


def test_a_conversion_killed_midway_leaves_one_whole_database(demo_db, kiosk):
    """SIGKILL while `encryption on` runs: the database is the old plain file or the new
    encrypted one, whole; what the conversion left behind goes at the next open."""
    before = counts(demo_db)
    tmp = conversion_path(demo_db)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli.main",
            "encryption",
            "on",
            "--db",
            str(demo_db),
            "--worker",
            ADMIN,
            "--pin-stdin",
        ],
        cwd=ROOT,
        env={**os.environ},
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None and proc.stdin is not None
        proc.stdin.write(DEMO_PINS[ADMIN] + "\n")
        proc.stdin.close()
        assert "正在加密" in proc.stderr.readline()  # said just before the conversion starts
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    state = file_state(demo_db)
    assert state in ("plain", "encrypted")
    if state == "plain":
        assert counts(demo_db) == before
    if tmp.exists():
        assert status(kiosk, demo_db)["interrupted_conversion"] is True
    out = kiosk("stats", "--db", str(demo_db), "--json")
    assert out.returncode == 0, out.stderr
    assert not tmp.exists() and not os.path.exists(f"{tmp}-journal")
    # Either way, the conversion can be finished (or undone) cleanly.
    assert kiosk("encryption", "on", "--db", str(demo_db), as_worker=ADMIN).returncode == 0
    assert kiosk("encryption", "off", "--db", str(demo_db), as_worker=ADMIN).returncode == 0
    assert counts(demo_db) == before


def test_a_leftover_conversion_file_is_ignored_and_removed(demo_db, kiosk):
    tmp = conversion_path(demo_db)
    tmp.write_bytes(demo_db.read_bytes()[:8192])  # a plain copy cut short
    (tmp.parent / f"{tmp.name}-journal").write_bytes(b"\0" * 512)
    assert status(kiosk, demo_db)["interrupted_conversion"] is True
    out = kiosk("stats", "--db", str(demo_db), "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["households"] == 600
    assert not tmp.exists() and not (tmp.parent / f"{tmp.name}-journal").exists()


def encrypt_in_process(path):
    """Encrypt ``path`` under its default key file, as `kiosk encryption on` does."""
    from db.connection import convert_database
    from kiosk.core.config import key_path
    from kiosk.runtime import ensure_key, load

    key = ensure_key(key_path(load(db=str(path)), path))
    convert_database(path, key=None, new_key=key)
    return key


def test_rows_and_errors_on_an_encrypted_connection(demo_db):
    key = encrypt_in_process(demo_db)
    conn = connect(demo_db, key=key)
    row = conn.execute("SELECT id, name FROM workers LIMIT 1").fetchone()
    assert row["name"] == row[1] and dict(row) == {"id": row[0], "name": row[1]}
    assert list(row.keys()) == ["id", "name"]
    with pytest.raises(SQLiteErrors.integrity):
        conn.execute("INSERT INTO workers(id) VALUES (?)", (row["id"],))
    with pytest.raises(SQLiteErrors.operational):
        conn.execute("SELECT * FROM no_such_table")
    conn.close()


async def test_the_app_opens_an_encrypted_database(demo_db):
    from textual.widgets import Input

    from kiosk.runtime import load, open_runtime
    from screens.widgets.result_list import ResultList

    encrypt_in_process(demo_db)
    runtime = open_runtime(load(db=str(demo_db)))
    try:
        assert runtime.db.key is not None
        name = runtime.conn.execute(
            "SELECT name FROM members WHERE relation = '户主' LIMIT 1"
        ).fetchone()[0]
        app = signed_in_app(runtime)
        async with app.run_test(size=(100, 40)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.press("f2")
            await pilot.pause()
            assert app.screen.query_one(Input).has_focus
            await pilot.press(*name)
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.screen.query_one("#search-table", ResultList).row_count >= 1
    finally:
        runtime.close()
    assert file_state(demo_db) == "encrypted"

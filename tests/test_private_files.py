"""Files are private: whatever the shell's umask, every file the real `kiosk` commands make
(the database and its -wal/-shm, the log, exports, ledgers, label sheets, bundles, the hub's
file) is the owner's alone, and the data folder too; files left world-readable by an older
version are tightened when opened."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.conftest import GRID_WORKER, SUPERVISOR, run_kiosk


def _open_to_others(root: Path) -> list[str]:
    loose = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.relative_to(root)} {oct(mode)}")
    return loose


def test_every_file_the_commands_make_is_private(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("KIOSK_DATA_DIR", str(data))
    out_dir = tmp_path / "out"
    out_dir.mkdir(mode=0o700)
    old = os.umask(0o022)  # a usual shell's umask: the commands must not rely on it
    try:
        db = str(data / "kiosk.db")
        assert run_kiosk("demo", "--db", db, "--households", "40").returncode == 0
        steps = [
            (GRID_WORKER, ("households", "export", "--out", str(out_dir / "e.csv"))),
            (SUPERVISOR, ("ledger", "original", "--out", str(out_dir / "l.xlsx"))),
            (GRID_WORKER, ("labels", "--out", str(out_dir / "labels.pdf"))),
            (None, ("hub", "seed", "--db", str(out_dir / "hub.db"), "--from", db)),
        ]
        for who, args in steps:
            extra = () if args[0] == "hub" else ("--db", db)
            out = run_kiosk(*args, *extra, as_worker=who)
            assert out.returncode == 0, (args, out.stderr)
    finally:
        os.umask(old)
    assert _open_to_others(data) == []
    assert _open_to_others(out_dir) == []


def test_an_older_world_readable_database_and_log_are_tightened(tmp_path, monkeypatch, demo_db):
    data = Path(os.environ["KIOSK_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    os.chmod(data, 0o755)
    os.chmod(demo_db, 0o644)
    log = data / "kiosk.log"
    log.write_text("")
    os.chmod(log, 0o644)
    assert run_kiosk("stats", "--db", str(demo_db)).returncode == 0
    assert stat.S_IMODE(demo_db.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700

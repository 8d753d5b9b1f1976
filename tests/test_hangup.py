"""The app leaves when its terminal goes away instead of spinning a core (kiosk/core/hangup.py)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys

from tests.conftest import ROOT


def test_the_app_exits_when_its_terminal_hangs_up(demo_db):
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "--db", str(demo_db)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    # wait until the app has drawn something: it is running its event loop
    seen = b""
    while b"\x1b[" not in seen:
        ready, _, _ = select.select([master], [], [], 30)
        assert ready, "the app drew nothing in 30 s"
        seen += os.read(master, 65536)
    os.close(master)  # the window closes
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the app kept running after its terminal went away") from None
    assert code is not None

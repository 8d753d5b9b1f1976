"""The resident counter as a person meets it, in a real terminal: `kiosk resident` in tmux at
80x24, the counter's PIN typed at its prompt, a slip scanned as a scanner types it (lower
case: Caps Lock), the case on screen without anyone's name, Ctrl+Q doing nothing, 3 and Enter
(不满意) reopening the case, and F10 with an administrator's PIN ending it. The screen is
read with `tmux capture-pane`; each step waits for its text to appear."""

from __future__ import annotations

import os
import select
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from db.connection import transaction
from db.labels import ensure_case_slip
from db.workers import create_worker
from kiosk.qr.payload import make
from tests.conftest import ADMINISTRATOR, DEMO_PINS, ROOT, SUPERVISOR, acting_as

COUNTER_PIN = "112233"

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None and not os.environ.get("CI"),
    reason="tmux is not installed (CI installs it: .ci/run)",
)


class Tmux:
    """One tmux server of the test's own (its socket), one window. What the program writes
    is piped into a FIFO, so a wait for text wakes when the terminal changes (never on a
    timer); the program's end signals a tmux channel."""

    def __init__(self, command: str, folder: Path, size=(80, 24)) -> None:
        self.socket = f"kiosk-{uuid.uuid4().hex[:8]}"
        fifo = folder / "terminal-output"
        os.mkfifo(fifo)
        # held open for writing too, so the FIFO never reads as ended between writers
        self.fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
        tmux = f"tmux -L {self.socket}"
        self._tmux(
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            str(size[0]),
            "-y",
            str(size[1]),
            f"{command}; {tmux} wait-for -S ended",
        )
        self._tmux("pipe-pane", "-t", "t", "-o", f"cat > {shlex.quote(str(fifo))}")

    def _tmux(self, *args: str, timeout: float = 30) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=timeout
        )
        return out.stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self._tmux("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-t", "t", "-p")

    def until(self, *texts: str, timeout: float = 30) -> str:
        """The screen once every one of ``texts`` is on it together, looked at again each time
        the program writes. A frame can reach the terminal in several writes, so one text
        being there says nothing of the others."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if all(text in shown for text in texts):
                return shown
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{texts!r} never appeared together; the screen:\n{shown}")
            if select.select([self.fd], [], [], left)[0]:
                os.read(self.fd, 1 << 16)

    def cursor_row(self) -> int:
        return int(self._tmux("display-message", "-p", "-t", "t", "#{cursor_y}").strip() or -1)

    def until_cursor_leaves(self, row: int, timeout: float = 30) -> None:
        """Wait (on the program's output) until the terminal's cursor is off ``row``: the
        focus has moved to the next field, so the keys typed next land there."""
        deadline = time.monotonic() + timeout
        while self.cursor_row() == row:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the cursor stayed on row {row}:\n{self.screen()}")
            if select.select([self.fd], [], [], left)[0]:
                os.read(self.fd, 1 << 16)

    def ended(self, timeout: float = 30) -> bool:
        """Did the program end (within ``timeout``)?"""
        try:
            self._tmux("wait-for", "ended", timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self) -> None:
        self._tmux("kill-server")
        os.close(self.fd)


def test_a_resident_rates_at_the_counter_in_a_real_terminal(runtime, demo_db, tmp_path):
    conn = runtime.conn
    community = conn.execute("SELECT community FROM grids WHERE code = 'G001'").fetchone()[0]
    case_id, number = conn.execute(
        "SELECT s.case_id, c.number FROM case_state s JOIN cases c ON c.id = s.case_id"
        " JOIN grids g ON g.id = c.grid_id WHERE s.status = 'resolved' AND g.community = ?"
        " ORDER BY c.number LIMIT 1",
        (community,),
    ).fetchone()
    with acting_as(runtime, ADMINISTRATOR), transaction(conn):
        from kiosk.security.auth import hash_pin

        create_worker(
            runtime.ctx, "一号柜台", "kiosk", community=community, pin_hash=hash_pin(COUNTER_PIN)
        )
    with acting_as(runtime, SUPERVISOR), transaction(conn):
        slip = make("CS", ensure_case_slip(runtime.ctx, case_id).code).text
    names = [r[0] for r in conn.execute("SELECT name FROM members WHERE name != '' LIMIT 50")]
    runtime.close()

    env = " ".join(
        f"{k}={shlex.quote(os.environ[k])}"
        for k in ("KIOSK_DATA_DIR", "KIOSK_CONFIG", "KIOSK_CACHE_DIR")
        if k in os.environ
    )
    command = (
        f"cd {shlex.quote(str(ROOT))} && {env} {shlex.quote(sys.executable)} -m kiosk.cli.main"
        f" resident --db {shlex.quote(str(demo_db))} --worker 一号柜台"
    )
    term = Tmux(command, tmp_path)
    try:
        term.until("PIN")
        term.keys(COUNTER_PIN, literal=True)
        term.keys("Enter")
        term.until("请扫描您的事项回执")
        term.keys(slip.lower(), literal=True)  # Caps Lock on: the scanner types lower case
        term.keys("Enter")
        shown = term.until(number, "请您评价")
        assert not [n for n in names if n in shown]  # nobody's name on the counter
        term.keys("C-q")  # does nothing: the counter stays
        term.keys("3")
        term.keys("Enter")  # in one burst, as a hurried resident types them
        term.until("此事项已评价")  # still there after Ctrl+Q
        term.keys("F10")
        term.until("管理员退出")
        term.keys(ADMINISTRATOR, literal=True)
        term.until(ADMINISTRATOR)
        name_row = term.cursor_row()
        term.keys("Enter")
        # Keys sent in one burst with the Enter can still reach the name field (Textual moves
        # the focus when it handles the Enter): the PIN is typed once the cursor has moved.
        term.until_cursor_leaves(name_row)
        term.keys(DEMO_PINS[ADMINISTRATOR], literal=True)
        term.keys("Enter")
        assert term.ended(), term.screen()
    finally:
        term.close()
    db = sqlite3.connect(demo_db)
    try:
        status = db.execute("SELECT status FROM case_state WHERE case_id = ?", (case_id,))
        assert status.fetchone()[0] == "in_progress"  # 不满意 reopened it
        actions = {r[0] for r in db.execute("SELECT action FROM audit")}
        assert "resident_exit" in actions
    finally:
        db.close()

"""Leave cleanly when the terminal goes away (a closed window, a dropped SSH session).

Textual's input thread treats a hung-up terminal as "no input yet" and polls it forever at
full speed, so the app would outlive its terminal spinning a core. A hang-up signal, or a
terminal that stops answering, makes the app exit the normal way (drafts are already saved
as they are typed; committed data is never at risk).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

CHECK_SECONDS = 1.0
FORCE_AFTER_SECONDS = 5.0


def terminal_alive(fd: int) -> bool:
    try:
        os.tcgetpgrp(fd)
    except OSError:
        return False
    return True


def exit_on_hangup(app: Any) -> None:
    """Arrange for ``app`` (a Textual App about to run) to exit when its terminal hangs up."""
    stream = sys.__stdin__
    if stream is None or not stream.isatty():
        return
    fd = stream.fileno()
    done = threading.Event()

    def leave() -> None:
        if done.is_set():
            return
        done.set()
        # Textual's shutdown can block for ever once its output thread has died on the closed
        # terminal: if the orderly exit has not finished in a few seconds, end the process.
        # Committed data is safe (SQLite rolls back an unfinished transaction on next open);
        # drafts are saved as they are typed.
        force = threading.Timer(FORCE_AFTER_SECONDS, os._exit, args=(129,))
        force.daemon = True
        force.start()
        try:
            app.call_from_thread(app.exit)
        except RuntimeError:  # not running (yet, or any more)
            pass

    def on_hangup(signum: int, frame: object) -> None:
        threading.Thread(target=leave, daemon=True).start()

    signal.signal(signal.SIGHUP, on_hangup)

    def watch() -> None:
        while not done.wait(CHECK_SECONDS):
            if not terminal_alive(fd):
                leave()

    threading.Thread(target=watch, name="hangup-watch", daemon=True).start()

"""PINs and sign-in: argon2id hashes, the PIN rules, and the growing delay after failures.

A PIN is 6 to 12 digits, not a run of one digit nor a straight sequence (``123456``). It is
stored only as an argon2id hash with OWASP's first argon2id profile (46 MiB, 1 pass, 1 lane:
about 60 ms on one core, so a loaded 2-core laptop still signs in well within 500 ms; see
docs/security.md for why more cost buys nothing against a 6-digit PIN). After failed attempts on this laptop a worker waits longer and longer
before the next PIN is even checked (:func:`delay_after`), so guessing a 6-digit PIN at the
door takes years, not minutes. See docs/security.md.
"""

from __future__ import annotations

import getpass
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from db.connection import transaction
from db.workers import (
    Worker,
    clear_failures,
    failures_of,
    pin_hash_of,
    record_failure,
    worker_by_name,
)
from kiosk.core.errors import UserError

PIN_MIN, PIN_MAX = 6, 12
#: failures allowed without any wait (typos happen at the door)
FREE_FAILURES = 2
MAX_DELAY_SECONDS = 15 * 60

#: argon2id; hashes made with other parameters (older ones) still verify with their own
_hasher = PasswordHasher(time_cost=1, memory_cost=46 * 1024, parallelism=1)


def check_pin_rules(pin: str) -> str:
    """``pin`` if it is an acceptable new PIN, else a UserError saying what is wrong."""
    if not (pin.isascii() and pin.isdigit()):
        raise UserError("error.pin_digits", exit_code=2)
    if not PIN_MIN <= len(pin) <= PIN_MAX:
        raise UserError("error.pin_length", exit_code=2, min=PIN_MIN, max=PIN_MAX)
    digits = [int(c) for c in pin]
    steps = {(b - a) % 10 for a, b in zip(digits, digits[1:], strict=False)}
    if steps in ({0}, {1}, {9}):
        raise UserError("error.pin_trivial", exit_code=2)
    return pin


def hash_pin(pin: str) -> str:
    return _hasher.hash(pin)


def verify_pin(pin_hash: str | None, pin: str) -> bool:
    """Does ``pin`` match ``pin_hash``? A missing or malformed hash matches nothing."""
    if not pin_hash:
        return False
    try:
        return _hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def delay_after(failures: int) -> int:
    """Seconds to wait after ``failures`` consecutive failed attempts: none for the first
    two, then 5 s doubling each time (5, 10, 20, 40 ...) up to 15 minutes."""
    if failures <= FREE_FAILURES:
        return 0
    return min(MAX_DELAY_SECONDS, 5 * 2 ** (failures - FREE_FAILURES - 1))


def _now() -> datetime:
    return datetime.now(UTC)


def sign_in(
    conn: sqlite3.Connection, name: str, pin: str, *, now: datetime | None = None
) -> Worker:
    """The worker called ``name`` if ``pin`` is theirs.

    Refusals (all :class:`UserError`): unknown name or wrong PIN (one message for both, so
    names cannot be probed), a disabled worker, a worker without a PIN yet, and a wait still
    running after earlier failures (the PIN is then not checked at all). A failure is
    counted in its own transaction; nothing else is written.
    """
    now = now or _now()
    worker = worker_by_name(conn, name.strip())
    if worker is None:
        raise UserError("error.signin_wrong", exit_code=3)
    waiting = seconds_to_wait(conn, worker.id, now=now)
    if waiting:
        raise UserError("error.signin_wait", exit_code=3, seconds=waiting)
    if worker.disabled:
        raise UserError("error.worker_disabled", exit_code=3, name=worker.name)
    pin_hash = pin_hash_of(conn, worker.id)
    if not pin_hash:
        raise UserError("error.signin_no_pin", exit_code=3, name=worker.name)
    if not verify_pin(pin_hash, pin):
        with transaction(conn):
            count = failures_of(conn, worker.id).count + 1
            wait = delay_after(count)
            until = (now + timedelta(seconds=wait)).isoformat() if wait else None
            record_failure(conn, worker.id, now.isoformat(), until)
        if wait:
            raise UserError("error.signin_wrong_wait", exit_code=3, seconds=wait)
        raise UserError("error.signin_wrong", exit_code=3)
    if failures_of(conn, worker.id).count:
        with transaction(conn):
            clear_failures(conn, worker.id)
    return worker


def seconds_to_wait(
    conn: sqlite3.Connection, worker_id: str, *, now: datetime | None = None
) -> int:
    """Whole seconds before ``worker_id`` may try a PIN again on this laptop (0: now)."""
    until = failures_of(conn, worker_id).blocked_until
    if not until:
        return 0
    left = (datetime.fromisoformat(until) - (now or _now())).total_seconds()
    return max(0, int(left + 0.999))


def read_pin(
    *,
    from_stdin: bool,
    prompt: str,
    confirm_prompt: str | None = None,
    stdin: TextIO | None = None,
    option: str = "--pin-stdin",
) -> str:
    """A PIN typed on the terminal (not echoed, asked twice when ``confirm_prompt``) or, with
    ``from_stdin``, the first line of standard input. Never an argument: arguments show in
    the process list and the shell history."""
    stream = stdin or sys.stdin
    if from_stdin:
        return stream.readline().strip()
    if not stream.isatty():
        raise UserError("error.pin_no_tty", exit_code=2, option=option)
    pin = getpass.getpass(prompt)
    if confirm_prompt is not None and getpass.getpass(confirm_prompt) != pin:
        raise UserError("error.pin_mismatch", exit_code=2)
    return pin

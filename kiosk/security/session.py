"""A worker's session on this laptop: signing in, unlocking, locking and signing out, each
with its audit entry, and the worker who signed in last (offered first at the next start).

Free of Textual: the sign-in and lock screens call these from a thread worker, so the argon2id
check (~0.1 s) never holds up the interface. See docs/security.md, "Sign-in and roles".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from db.context import WriteContext, get_meta, set_meta
from db.workers import Worker, worker_by_id, worker_by_name
from kiosk.core.errors import UserError

#: ``meta`` key (local, never replicated) of the last worker who signed in on this laptop.
LAST_WORKER = "signin.last_worker"

T = TypeVar("T")
#: Runs ``fn(ctx)`` in one write transaction (``KioskApp.write``).
Writer = Callable[[Callable[[WriteContext], T]], T]


def last_worker(conn: sqlite3.Connection) -> Worker | None:
    """The worker who last signed in on this laptop, if they still exist and are enabled."""
    wid = get_meta(conn, LAST_WORKER)
    worker = worker_by_id(conn, wid) if wid else None
    return worker if worker is not None and not worker.disabled else None


def attempt(
    read: sqlite3.Connection,
    write: Writer,
    name: str,
    pin: str,
    *,
    unlock: bool = False,
    remember: bool = True,
    now: datetime | None = None,
) -> Worker:
    """Check ``name`` and ``pin`` (:func:`kiosk.security.auth.sign_in`: the growing delay, disabled
    workers, workers without a PIN) and record the outcome in the audit trail.

    ``read`` is the calling thread's connection (the PIN is checked there, outside the write
    lock; a failure is counted in its own transaction); ``write`` runs the audit entry in the
    app's write transaction. Success records ``signin`` (or ``unlock``) by the worker and
    (``remember``: the sign-in screen, not a command's PIN) remembers them as the last worker
    of this laptop; a refusal records ``signin_failed``
    with the refusal's kind (never the PIN, nor the name typed) and raises the UserError.
    """
    from kiosk.security.auth import sign_in  # argon2: imported when a PIN is first checked

    try:
        worker = sign_in(read, name, pin, now=now)
    except UserError as exc:
        tried = worker_by_name(read, name.strip())
        detail = {"reason": exc.key.removeprefix("error."), "unlock": unlock}
        write(lambda ctx: _audit(ctx, None, "signin_failed", tried.id if tried else None, detail))
        raise

    def ok(ctx: WriteContext) -> None:
        _audit(
            ctx,
            worker.id,
            "unlock" if unlock else "signin",
            worker.id,
            {} if remember else {"via": "cli"},
        )
        if remember:
            set_meta(ctx.conn, LAST_WORKER, worker.id)

    write(ok)
    return worker


def record_lock(write: Writer, worker: Worker, reason: str) -> None:
    """Audit a lock (``reason``: ``idle``, ``key``) or a sign-out (``sign_out``)."""
    write(lambda ctx: _audit(ctx, worker.id, "lock", worker.id, {"reason": reason}))


def _audit(
    ctx: WriteContext,
    worker_id: str | None,
    action: str,
    entity_id: str | None,
    detail: dict[str, object],
) -> None:
    # The entry is by whoever acts now, which during sign-in is not yet the context's worker.
    replace(ctx, worker_id=worker_id).audit(action, "worker", entity_id, detail=detail)


# --- name suggestions on the sign-in screen ---------------------------------------------------
@dataclass(frozen=True)
class NameKey:
    name: str
    role: str
    keys: tuple[str, ...]  # the name, then its full pinyin and initials (each surname reading)


def name_keys(workers: Iterable[Worker]) -> list[NameKey]:
    """What a typed name is matched against, for every enabled worker (any thread: the first
    call loads pypinyin's dictionaries, ~0.15 s)."""
    from db.normalize import name_pinyin

    out = []
    for w in workers:
        if w.disabled:
            continue
        keys = [w.name.lower()]
        for full, initials in name_pinyin(w.name):
            keys += [full, initials]
        out.append(NameKey(w.name, w.role, tuple(keys)))
    return out


def match_names(index: list[NameKey], typed: str, limit: int = 5) -> list[NameKey]:
    """Workers whose name, full pinyin or initials begin with ``typed`` (case and spaces
    ignored): exact names first, then by name."""
    q = "".join(typed.split()).lower()
    if not q:
        return []
    hits = [k for k in index if any(key.startswith(q) for key in k.keys)]
    hits.sort(key=lambda k: (k.name.lower() != q, len(k.name), k.name))
    return hits[:limit]

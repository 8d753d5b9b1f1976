"""Who is writing: every change is stamped with worker, device and HLC and logged to the outbox."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from db.audit import CATCH_UP_EVERY, TOGETHER_MS, Operation, catch_up, operation, record
from db.hlc import DEFAULT_MAX_DRIFT_MS, HybridClock, format_stamp, parse_stamp
from db.hlc import now_iso as now_iso  # long imported from here
from db.ids import uuid7
from db.migrations import latest_version

#: json.dumps(payload, ensure_ascii=False, separators=(",", ":")), its encoder made once
#: (json.dumps makes one per call with these arguments: a third of its cost)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def get_meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def ensure_device(conn: sqlite3.Connection, name: str = "laptop") -> str:
    """This database's device id, created on first use."""
    device_id = get_meta(conn, "device_id")
    if device_id is None:
        device_id = uuid7()
        conn.execute("BEGIN IMMEDIATE")
        try:
            set_meta(conn, "device_id", device_id)
            conn.execute(
                "INSERT INTO devices(id, name, hlc, worker_id, device_id) VALUES (?, ?, ?, NULL, ?)",
                (device_id, name, HybridClock().now(), device_id),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return device_id


@dataclass
class WriteContext:
    """The author of a set of writes: a connection, a device, a worker and a clock.

    Functions that change replicated data take a context and call :meth:`stamp` for the row's
    HLC and :meth:`emit` to append the matching outbox operation (inside the caller's
    transaction, so the change and its operation commit together or not at all).

    Every operation also becomes an audit entry (db/audit.py): every ``audit_every``
    operations emitted, the entries of all operations not yet in the trail are written in
    the transaction of the one that reaches the count (0: only when something else catches
    the trail up, such as an audited lookup, an acknowledgement or ``kiosk audit``).
    """

    conn: sqlite3.Connection
    device_id: str
    worker_id: str | None
    clock: HybridClock = field(default_factory=HybridClock)
    schema_version: int = field(default_factory=latest_version)
    audit_every: int = CATCH_UP_EVERY
    #: Asked before every operation is emitted, with (context, entity, entity id, kind,
    #: payload): raises to refuse the write (the caller's transaction then rolls back).
    #: The application sets it to the acting worker's role and scope (kiosk/security/roles.py), so
    #: every write is checked in one place, whoever makes it.
    guard: Callable[[WriteContext, str, str, str, dict[str, Any]], None] | None = None
    #: Has the worker proved who they are (their PIN) in this session? The guard refuses a
    #: named worker's writes until they have.
    verified: bool = False
    #: The category table problems are filed under (kiosk/domain/categories.py: resolves a
    #: code or name to a sub-category and its group); set by whoever opens the context.
    categories: Any = None
    _unaudited: int = field(default=0, repr=False)
    #: The operations this context emitted that are not yet in the trail, as it knew them
    #: (db/audit.py reads them from here instead of the outbox when the outbox agrees).
    _emitted: dict[str, Operation] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, conn: sqlite3.Connection, worker_id: str | None = None) -> WriteContext:
        device_id = ensure_device(conn)
        # a hub (or bundle) stamped far in the future is not believed: see db/hlc.py
        clock = HybridClock(get_meta(conn, "hlc_last"), max_drift_ms=DEFAULT_MAX_DRIFT_MS)
        return cls(conn=conn, device_id=device_id, worker_id=worker_id, clock=clock)

    def stamp(self) -> str:
        stamp = self.clock.now()
        set_meta(self.conn, "hlc_last", stamp)
        return stamp

    def audit(
        self,
        action: str,
        entity: str | None = None,
        entity_id: str | None = None,
        *,
        household_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> str:
        """Append an audit entry by this context's worker and device (db/audit.py), inside
        the caller's transaction."""
        self._unaudited = 0  # record() writes the pending operations' entries first
        return record(
            self.conn,
            device_id=self.device_id,
            worker_id=self.worker_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            household_id=household_id,
            detail=detail,
            known=self._emitted,
        )

    def catch_up_audit(self, before: str | None = None) -> int:
        """Write the audit entries of every operation not yet in the trail (inside the
        caller's transaction), or of those stamped before ``before``; returns how many."""
        self._unaudited = 0
        return catch_up(self.conn, before=before, known=self._emitted)

    def emit(
        self,
        entity: str,
        entity_id: str,
        kind: str,
        payload: dict[str, Any],
        hlc: str,
        base_version: str | None = None,
    ) -> str:
        if self.guard is not None:
            self.guard(self, entity, entity_id, kind, payload)
        op_id = uuid7()
        cur = self.conn.execute(
            "INSERT INTO outbox(op_id, hlc, entity, entity_id, kind, payload, base_version,"
            " schema_version, worker_id, device_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                op_id,
                hlc,
                entity,
                entity_id,
                kind,
                _dumps(payload),
                base_version,
                self.schema_version,
                self.worker_id,
                self.device_id,
            ),
        )
        self._unaudited += 1
        if self.audit_every:
            emitted = self._emitted
            # Bounded: the trail caught up elsewhere (a sync) leaves entries here, and a bulk
            # write keeps thousands in its last 250 ms (db/audit.py TOGETHER_MS)
            if len(emitted) > 16 * self.audit_every:
                emitted.clear()
            emitted[op_id] = operation(
                cur.lastrowid or 0,
                op_id,
                hlc,
                entity,
                entity_id,
                kind,
                self.worker_id,
                self.device_id,
                payload,
            )
        if self.audit_every and self._unaudited >= self.audit_every:
            # the operations of earlier writes; this write's (stamped within TOGETHER_MS) whole
            # in the next batch, so a record and those created with it stay one entry
            wall, _ = parse_stamp(hlc)
            self.catch_up_audit(before=format_stamp(wall - TOGETHER_MS, 0))
        return op_id

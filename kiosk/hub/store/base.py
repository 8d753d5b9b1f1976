"""The hub's storage, behind one interface (:class:`HubStore`), with the logic both backends
share (:class:`SqlHubStore`): devices and enrolment, ingest with scope checks, scoped pulls.

The hub is an operation log, not a second copy of the laptop schema: it stores every
operation once (by ``op_id``), tagged with the grid it belongs to, and serves each device the
operations of its grids in log order. A replica's state is the deterministic merge of the
operations it holds (:mod:`db.sync`), so the hub's state is what a replica that pulled
everything holds.

Grid tagging (see docs/sync.md): an insert's grid is its ``grid_id`` field, else the grid of
the first parent it names (``household_id`` -> household, ``case_id`` -> case...), else
none (global, delivered to every device); a ``grid`` row is its own grid. The hub remembers
each row's grid (``hub_scope``), so updates and children follow their row.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from db.audit import GENESIS, check_chain, entry_hash
from db.hlc import (
    DEFAULT_MAX_DRIFT_MS,
    MAX_COUNTER,
    HybridClock,
    format_stamp,
    next_after,
    too_far_ahead,
)
from db.limits import check_payload
from kiosk.core.i18n import t
from kiosk.hub import devices as dv
from kiosk.hub import forget as hub_forget
from kiosk.hub.scope import (
    ADMIN_DEVICE,
    COUNTER_DEVICE,
    COUNTER_PULLS,
    DEVICE_ROLES,
    FIELD_DEVICE,
    OFFICE_DEVICE,
    Checker,
    Reach,
    Refused,
    keys_of,
)
from kiosk.hub.store.blobs import PHOTO_ENTITIES, BlobStoreMixin
from kiosk.sync.protocol import MAX_PAGE_BYTES, AuditEntry, Op, split_token


class HubError(Exception):
    """A refusal: HTTP status, a stable error code (``sync.hub_error.<code>`` in the catalogue)."""

    def __init__(self, status: int, code: str, **params: Any) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.params = params


@dataclass
class DeviceRecord:
    name: str
    device_id: str | None
    grids: list[str] | None
    revoked: bool
    created_at: str
    enrolled_at: str | None
    last_seen_at: str | None
    last_cursor: str | None = None
    token_hash: str | None = field(default=None, repr=False)
    worker: str | None = None
    backfilled: int = 0
    #: field (its grids), office (its community or street; every grid when neither) or admin
    role: str = "field"
    community: str | None = None
    street: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "device_id": self.device_id,
            "role": self.role,
            "grids": self.grids,
            "community": self.community,
            "street": self.street,
            "worker": self.worker,
            "revoked": self.revoked,
            "created_at": self.created_at,
            "enrolled_at": self.enrolled_at,
            "last_seen_at": self.last_seen_at,
        }


@dataclass
class IngestResult:
    acked: list[str]
    duplicates: int
    stored: int
    #: operations refused one by one (the rest of the batch is stored)
    refused: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True)
class FarStamp:
    """An operation in the hub's log stamped beyond the drift bound."""

    op_id: str
    device_id: str
    entity: str
    entity_id: str
    hlc: str
    received_at: str


@dataclass(frozen=True)
class Refusal:
    """One operation the hub refused: its place in the batch, id, code and parameters."""

    index: int
    op_id: str
    entity: str
    entity_id: str
    code: str
    params: dict[str, str]


@dataclass
class AuditResult:
    stored: int
    duplicates: int
    last_dseq: int


@dataclass
class PullPage:
    ops: list[Op]
    cursor: str | None
    more: bool
    backfill: int = 0


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class HubStore(ABC):
    """What the hub app and the ``kiosk hub`` commands need from storage."""

    url: str

    @abstractmethod
    def close(self) -> None: ...

    # devices
    @abstractmethod
    def add_device(
        self,
        name: str,
        grids: list[str] | None,
        worker: str | None = None,
        *,
        role: str = "field",
        community: str | None = None,
    ) -> str: ...
    @abstractmethod
    def set_device_scope(
        self,
        name: str,
        grids: list[str] | None,
        *,
        role: str = "field",
        community: str | None = None,
    ) -> bool: ...
    @abstractmethod
    def list_devices(self) -> list[DeviceRecord]: ...
    @abstractmethod
    def revoke_device(self, name: str) -> bool: ...
    @abstractmethod
    def enrol(self, code: str, device_id: str, *, addr: str = "") -> tuple[DeviceRecord, str]: ...
    @abstractmethod
    def authenticate(self, token: str) -> DeviceRecord: ...
    @abstractmethod
    def device_by_name(self, name: str) -> DeviceRecord | None: ...
    @abstractmethod
    def device_by_id(self, device_id: str) -> DeviceRecord | None: ...

    # operations
    @abstractmethod
    def ingest(
        self, device: DeviceRecord | None, ops: list[Op], *, invalid: list[Refusal] | None = None
    ) -> IngestResult: ...
    @abstractmethod
    def pull(
        self,
        device: DeviceRecord,
        cursor: str | None,
        limit: int,
        *,
        record: bool = True,
        backfilled: int = 0,
    ) -> PullPage: ...
    @abstractmethod
    def acked_since(self, device: DeviceRecord, cursor: str | None) -> list[str]: ...
    @abstractmethod
    def op_count(self) -> int: ...

    # the hub's clock
    @abstractmethod
    def observe(self, hlc: str | None) -> str: ...
    @abstractmethod
    def set_max_drift(self, hours: float) -> None: ...
    @abstractmethod
    def note_cursor(self, device: DeviceRecord, cursor: str | None) -> None: ...

    # the audit trail
    @abstractmethod
    def ingest_audit(
        self, device: DeviceRecord | None, entries: list[AuditEntry]
    ) -> AuditResult: ...
    @abstractmethod
    def audit_entries(
        self, device_id: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]: ...
    @abstractmethod
    def verify_audit(self) -> tuple[int, int, list[Any]]: ...
    @abstractmethod
    def audit_tail(self, device_id: str) -> int: ...

    # pictures (kiosk/hub/store/blobs.py)
    @abstractmethod
    def blobs_wanted(
        self, device: DeviceRecord, hashes: list[str]
    ) -> tuple[list[str], list[str]]: ...
    @abstractmethod
    def put_blob_chunk(
        self, device: DeviceRecord, sha: str, offset: int, total: int, chunk: bytes, now: str
    ) -> tuple[int, bool]: ...
    @abstractmethod
    def put_blobs(
        self, device: DeviceRecord, pictures: list[tuple[str, bytes]], now: str
    ) -> tuple[list[str], list[str], list[str]]: ...
    @abstractmethod
    def get_blob(self, device: DeviceRecord, sha: str) -> bytes | None: ...
    @abstractmethod
    def note_bundle_pictures(
        self, device: DeviceRecord, carried: list[str], lacks: list[str]
    ) -> None: ...
    @abstractmethod
    def bundle_pictures(
        self, device: DeviceRecord, named: list[str], budget: int, most: int
    ) -> tuple[list[tuple[str, bytes]], int, list[str]]: ...


def _scope_args(
    grids: list[str] | None, role: str, community: str | None, street: str | None = None
) -> tuple[list[str], str | None, str | None]:
    """A device's scope as given, checked: a field laptop names grids, an office device may
    name a community or a street (not both), nothing else names any."""
    names = sorted({g.strip() for g in grids or [] if g.strip()})
    community = community.strip() if community and community.strip() else None
    street = street.strip() if street and street.strip() else None
    if role not in DEVICE_ROLES:
        raise HubError(422, "bad_role", role=role)
    if role == FIELD_DEVICE and not names:
        raise HubError(422, "field_needs_grid")
    if role != FIELD_DEVICE and names:
        raise HubError(422, "grids_for_field", role=role)
    if role == COUNTER_DEVICE and (not community or street):
        raise HubError(422, "counter_needs_community")
    if (community or street) and role not in (OFFICE_DEVICE, COUNTER_DEVICE):
        raise HubError(422, "community_for_office", role=role)
    if community and street:
        raise HubError(422, "community_or_street")
    return names, community, street


#: Stamps of the standard form (``db.hlc``), one per line.
_STAMP_LINES = re.compile(r"[0-9]{15}\.[0-9]{5}(?:\n[0-9]{15}\.[0-9]{5})*")

#: Owners followed to find a record's grid, at most (a chain made into a loop by a hostile
#: device ends there, at the record's own grid).
MAX_OWNERS = 16


def resolve_grids(
    rows: dict[tuple[str, str], tuple[str | None, str | None, str | None]],
) -> dict[tuple[str, str], str | None]:
    """Each record's grid: its owner's, up to a grid record (its own grid) or a record
    without a known owner (the grid stored with it)."""
    grids: dict[tuple[str, str], str | None] = {}
    for key, (own, pe, pid) in rows.items():
        if pid is None or pe is None:  # the common cases first: no owner, or a grid
            grids[key] = own
            continue
        if pe == "grid":
            grids[key] = pid
            continue
        chain, k = [], key
        grid: str | None = None
        while True:
            if k in grids:
                grid = grids[k]
                break
            own, pe, pid = rows[k]
            chain.append(k)
            if pid is None or pe is None or len(chain) > MAX_OWNERS:
                grid = own
                break
            if pe == "grid":
                grid = pid
                break
            parent = (pe, pid)
            if parent not in rows or parent in chain:
                grid = own
                break
            k = parent
        for k in chain:
            grids[k] = grid
    return grids


def case_of(op: Op) -> str | None:
    """The case an operation belongs to: a case itself, or a record naming its case."""
    if op.entity == "case":
        return op.entity_id
    case_id = op.payload.get("case_id")
    return case_id if isinstance(case_id, str) and case_id else None


@dataclass
class _Batch:
    """A push's operations, tagged and checked, as the rows to store."""

    rows: list[tuple] = field(default_factory=list)
    #: new records: (entity, id, grid, owner entity, owner id)
    scope_rows: list[tuple[str, str, str | None, str | None, str | None]] = field(
        default_factory=list
    )
    grid_rows: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    #: records that followed a new owner: (entity, id, grid, owner, old grid)
    moves: list[tuple[str, str, str | None, tuple[str, str], str | None]] = field(
        default_factory=list
    )
    #: operations refused, in batch order
    refused: list[Refusal] = field(default_factory=list)
    #: inserts of records the hub holds already: acknowledged, not stored
    held: list[str] = field(default_factory=list)


#: db.limits violation codes -> the hub's refusal codes (sync.hub_error.<code>)
_LIMIT_CODES = {
    "too_long": "field_too_long",
    "too_large": "payload_too_large",
    "too_deep": "payload_too_deep",
    "too_many": "too_many_fields",
    "bad_value": "bad_value",
}


def limits_check(op: Op, size: int | None = None) -> Refused | None:
    """An operation beyond the field limits (db/limits.py, the laptop's table too) is
    refused alone: one 15 MB note must not reach every laptop of its grid. ``size``: its
    payload's length as JSON, when known."""
    bad = check_payload(op.entity, op.payload, size=size)
    if bad is None:
        return None
    return Refused(_LIMIT_CODES[bad.code], field=bad.field, limit=bad.limit)


def _tag(
    ops: list[tuple[int, Op]],
    checker: Checker,
    device_id: str | None,
    now: str,
    checks: tuple[Callable[[Op, int | None], Refused | None], ...] = (),
) -> tuple[_Batch, int]:
    """Check each operation (:mod:`kiosk.hub.scope`), tag it with its grid and case and build
    its log row; a refused operation is left out, the others are stored. Stops after an
    operation that moves a record to another grid (what belongs to the record moves with it,
    in the database, before the next operation is checked); returns the batch and how many
    operations it used.

    This is the hot loop of a push: each field is read once, nothing touches the database.
    """
    out = _Batch()
    rows, refused = out.rows, out.refused
    add_row, verdict_of = rows.append, checker.check
    encode = msgspec.json.encode
    used = 0
    for index, op in ops:
        used += 1
        payload = op.payload
        try:  # the text stored, encoded once: the size limit reads its length
            text: bytes | None = encode(payload)
        except (TypeError, ValueError, OverflowError):
            text = None
        try:
            if device_id is not None and op.device_id != device_id:
                raise Refused("other_device")
            size = len(text) if text is not None else None
            for check in checks:
                problem = check(op, size)
                if problem is not None:
                    raise problem
            if text is None:
                raise Refused("bad_value", field="payload", limit=0)
            verdict = verdict_of(op)
        except Refused as exc:
            refused.append(Refusal(index, op.op_id, op.entity, op.entity_id, exc.code, exc.params))
            continue
        if verdict.held:
            out.held.append(op.op_id)
            continue
        if verdict.new is not None:
            out.scope_rows.append(verdict.new)
        if verdict.moved is not None:
            out.moves.append(verdict.moved)
        if op.entity == "grid" and isinstance(payload.get("code"), str):
            community, street = payload.get("community"), payload.get("street")
            out.grid_rows.append(
                (
                    op.entity_id,
                    payload["code"],
                    community if isinstance(community, str) else None,
                    street if isinstance(street, str) else None,
                )
            )
        fb = op.field_bases
        add_row(
            (
                op.op_id,
                op.hlc,
                op.entity,
                op.entity_id,
                op.kind,
                text.decode(),
                op.base_version,
                encode(fb).decode() if fb else None,
                op.schema_version,
                op.worker_id,
                op.device_id,
                verdict.grid,
                case_of(op),
                now,
            )
        )
        if verdict.moved is not None and verdict.moved[2] != verdict.moved[4]:
            break
    return out, used


class SqlHubStore(BlobStoreMixin, HubStore):
    """Shared SQL logic; subclasses give the connection, DDL and log-position dialect.

    SQL here is written with ``?`` placeholders; :meth:`_q` adapts them.
    """

    #: Columns of hub_ops selected for a pull (after the position columns).
    OP_COLS = (
        "op_id, hlc, entity, entity_id, kind, payload, base_version, field_bases,"
        " schema_version, worker_id, device_id"
    )
    POS_COLS = "seq"

    def __init__(self) -> None:
        #: stamps further ahead of the hub's wall clock are refused (operations) and not
        #: observed (requests); `hub_max_drift_hours` (kiosk/core/config.py)
        self.max_drift_ms = DEFAULT_MAX_DRIFT_MS
        self.clock = HybridClock(max_drift_ms=self.max_drift_ms)
        self._clock_lock = threading.Lock()
        self.op_checks = (self._clock_check, limits_check)
        #: (until when, the furthest stamp wall clock accepted, as 15 digits): _clock_check
        self._ahead: tuple[float, str] = (0.0, "")

    def set_max_drift(self, hours: float) -> None:
        self.max_drift_ms = int(hours * 3600 * 1000)
        self.clock.max_drift_ms = self.max_drift_ms
        self._ahead = (0.0, "")
        self._init_clock()

    def _stamp_bound(self) -> str:
        """The furthest wall clock accepted in a stamp, as a stamp's 15 digits (renewed every
        second: a push compares hundreds of stamps with it)."""
        now = time.time()
        until, bound = self._ahead
        if now >= until:
            bound = f"{int(now * 1000) + self.max_drift_ms:015d}"
            self._ahead = (now + 1, bound)
        return bound

    def _clock_check(self, op: Op, size: int | None = None) -> Refused | None:
        """An operation stamped further ahead than the drift bound comes from a laptop whose
        clock is set wrong: refused (the laptop holds it and is told to fix its clock)."""
        hlc, bound = op.hlc, self._stamp_bound()
        if len(hlc) == 21 and hlc[15] == "." and hlc[:15].isdigit():
            ahead = hlc[:15] > bound  # same width: as text as in number (a stamp's form)
        else:
            try:
                ahead = too_far_ahead(hlc, int(time.time() * 1000), self.max_drift_ms)
            except ValueError:  # no number at all (an operation built in the hub's process)
                return Refused("bad_value", field="hlc", limit=0)
        if ahead:
            return Refused("clock_ahead", hours=self.max_drift_ms // 3_600_000)
        return None

    def _checks_for(self, ops: list[Op]) -> tuple[Callable[[Op, int | None], Refused | None], ...]:
        """The checks each operation of a push goes through. The clock bound is checked for
        the whole push at once when every stamp has the standard form and the latest is
        within the bound (every push from a laptop whose clock is right): one pattern over
        the stamps joined, and their maximum. Otherwise stamp by stamp, so that only those
        ahead are refused."""
        checks = self.op_checks
        if not ops or self._clock_check not in checks:
            return checks
        stamps = [op.hlc for op in ops]
        joined = "\n".join(stamps)
        # The length proves no stamp holds a line break, so each line is one whole stamp.
        if (
            len(joined) == 22 * len(stamps) - 1
            and _STAMP_LINES.fullmatch(joined) is not None
            and max(stamps)[:15] <= self._stamp_bound()
        ):
            return tuple(c for c in checks if c != self._clock_check)
        return checks

    # --- dialect ---------------------------------------------------------------------------
    def _q(self, sql: str) -> str:
        return sql

    @abstractmethod
    def _tx(self, write: bool = True) -> contextlib.AbstractContextManager[Any]: ...

    @abstractmethod
    def _after(self, cursor: str | None) -> tuple[str, list[Any]]:
        """SQL condition "position after cursor" and its parameters."""

    @abstractmethod
    def _visible(self, cur: Any) -> tuple[str, list[Any]]:
        """SQL condition for rows safe to serve (nothing can commit below them later)."""

    @abstractmethod
    def _cursor_of(self, row: tuple) -> str: ...

    @abstractmethod
    def _tail(self, cur: Any, visible: tuple[str, list[Any]]) -> str | None:
        """The position of the last visible row (None when the log is empty)."""

    ORDER = "seq"

    def _init_clock(self) -> None:
        # The clock starts after the log's latest stamp within the drift bound: a stamp
        # beyond it (stored before the bound existed) must not poison the hub at each start.
        bound = self._far_bound()
        with self._tx(write=False) as cur:
            cur.execute(self._q("SELECT max(hlc) FROM hub_ops WHERE hlc <= ?"), (bound,))
            row = cur.fetchone()
        self.clock = HybridClock(row[0] if row and row[0] else None, max_drift_ms=self.max_drift_ms)

    def observe(self, hlc: str | None) -> str:
        with self._clock_lock:
            return self.clock.observe(hlc) if hlc else self.clock.now()

    # --- devices ---------------------------------------------------------------------------
    _DEV_COLS = (
        "name, device_id, grids, revoked, created_at, enrolled_at, last_seen_at,"
        " last_cursor, token_hash, worker, role, community, street"
    )

    def _device(self, row: tuple | None) -> DeviceRecord | None:
        if row is None:
            return None
        grids = json.loads(row[2]) if row[2] is not None else None
        return DeviceRecord(
            row[0],
            row[1],
            grids,
            bool(row[3]),
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            role=row[10] or FIELD_DEVICE,
            community=row[11],
            street=row[12],
        )

    def add_device(
        self,
        name: str,
        grids: list[str] | None,
        worker: str | None = None,
        *,
        role: str = FIELD_DEVICE,
        community: str | None = None,
        street: str | None = None,
    ) -> str:
        """Register a device and return its one-time enrolment code. A field laptop works the
        ``grids`` it names (codes or ids); an office device its ``community`` or its
        ``street`` (every grid when neither); the administrator's device every grid, and it alone may change workers,
        devices and grids. ``worker``: who carries the device (shown in lists)."""
        name = name.strip()
        if not name or len(name) > 64 or any(ord(c) < 32 for c in name):
            raise HubError(422, "bad_name")
        grids, community, street = _scope_args(grids, role, community, street)
        code = dv.new_code()
        expires = (datetime.now(UTC) + timedelta(hours=dv.CODE_TTL_HOURS)).isoformat(
            timespec="seconds"
        )
        with self._tx() as cur:
            cur.execute(self._q("SELECT 1 FROM hub_devices WHERE name = ?"), (name,))
            if cur.fetchone():
                raise HubError(409, "device_exists", name=name)
            cur.execute(
                self._q(
                    "INSERT INTO hub_devices(name, grids, code_hash, code_expires, revoked, created_at,"
                    " worker, role, community, street) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)"
                ),
                (
                    name,
                    json.dumps(grids) if grids else None,
                    dv.code_hash(code),
                    expires,
                    utcnow(),
                    worker.strip() if worker and worker.strip() else None,
                    role,
                    community,
                    street,
                ),
            )
        return code

    def set_device_scope(
        self,
        name: str,
        grids: list[str] | None,
        *,
        role: str = FIELD_DEVICE,
        community: str | None = None,
        street: str | None = None,
    ) -> bool:
        """Change what a device covers (the office gives a laptop another grid); its
        enrolment stays. Returns False when there is no such device."""
        grids, community, street = _scope_args(grids, role, community, street)
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "UPDATE hub_devices SET grids = ?, role = ?, community = ?, street = ?"
                    " WHERE name = ?"
                ),
                (json.dumps(grids) if grids else None, role, community, street, name),
            )
            return cur.rowcount > 0

    def list_devices(self) -> list[DeviceRecord]:
        with self._tx(write=False) as cur:
            cur.execute(self._q(f"SELECT {self._DEV_COLS} FROM hub_devices ORDER BY name"))
            return [d for d in map(self._device, cur.fetchall()) if d]

    def device_by_name(self, name: str) -> DeviceRecord | None:
        with self._tx(write=False) as cur:
            cur.execute(
                self._q(f"SELECT {self._DEV_COLS} FROM hub_devices WHERE name = ?"), (name,)
            )
            return self._device(cur.fetchone())

    def device_by_id(self, device_id: str) -> DeviceRecord | None:
        with self._tx(write=False) as cur:
            cur.execute(
                self._q(f"SELECT {self._DEV_COLS} FROM hub_devices WHERE device_id = ?"),
                (device_id,),
            )
            return self._device(cur.fetchone())

    def revoke_device(self, name: str) -> bool:
        with self._tx() as cur:
            cur.execute(
                self._q("UPDATE hub_devices SET revoked = 1, code_hash = NULL WHERE name = ?"),
                (name,),
            )
            return cur.rowcount > 0

    #: wrong enrolment codes allowed per client address, and in all, per window
    ENROL_FAILURES_PER_ADDRESS, ENROL_FAILURES_IN_ALL = 10, 200
    ENROL_WINDOW = timedelta(minutes=15)

    def enrol(self, code: str, device_id: str, *, addr: str = "") -> tuple[DeviceRecord, str]:
        """Bind ``device_id`` to the device whose one-time code this is. Wrong codes are
        counted (in the store, so every hub process sees them): after too many from one
        address, or from everywhere, the hub answers 429 without checking the code, so 60
        bits cannot be guessed at the speed of a loop."""
        self._enrol_throttle(addr)
        try:
            return self._enrol(code, device_id)
        except HubError as exc:
            if exc.code in ("bad_code", "code_expired"):
                self._enrol_failed(addr)
            raise

    def _enrol_throttle(self, addr: str) -> None:
        since = (datetime.now(UTC) - self.ENROL_WINDOW).isoformat(timespec="seconds")
        with self._tx(write=False) as cur:
            cur.execute(
                self._q(
                    "SELECT count(*), sum(CASE WHEN addr = ? THEN 1 ELSE 0 END)"
                    " FROM hub_enrol_failures WHERE at > ?"
                ),
                (addr, since),
            )
            total, mine = cur.fetchone()
        if (mine or 0) >= self.ENROL_FAILURES_PER_ADDRESS or (
            total or 0
        ) >= self.ENROL_FAILURES_IN_ALL:
            minutes = int(self.ENROL_WINDOW.total_seconds() // 60)
            raise HubError(429, "throttled", minutes=minutes)

    def _enrol_failed(self, addr: str) -> None:
        now = datetime.now(UTC)
        with self._tx() as cur:
            cur.execute(
                self._q("DELETE FROM hub_enrol_failures WHERE at < ?"),
                ((now - self.ENROL_WINDOW).isoformat(timespec="seconds"),),
            )
            cur.execute(
                self._q("INSERT INTO hub_enrol_failures(addr, at) VALUES (?, ?)"),
                (addr, now.isoformat(timespec="seconds")),
            )

    def _enrol(self, code: str, device_id: str) -> tuple[DeviceRecord, str]:
        with self._tx() as cur:
            cur.execute(
                self._q(
                    f"SELECT {self._DEV_COLS}, code_expires FROM hub_devices WHERE code_hash = ?"
                ),
                (dv.code_hash(code),),
            )
            row = cur.fetchone()
            if row is None:
                raise HubError(403, "bad_code")
            device = self._device(row[:-1])
            assert device is not None
            if device.revoked:
                raise HubError(403, "revoked")
            if row[-1] and row[-1] < utcnow():
                raise HubError(403, "code_expired")
            cur.execute(self._q("SELECT name FROM hub_devices WHERE device_id = ?"), (device_id,))
            if cur.fetchone():
                raise HubError(409, "device_taken")
            token, hashed = dv.new_token(device_id)
            now = utcnow()
            cur.execute(
                self._q(
                    "UPDATE hub_devices SET device_id = ?, token_hash = ?, code_hash = NULL,"
                    " code_expires = NULL, enrolled_at = ? WHERE name = ?"
                ),
                (device_id, hashed, now, device.name),
            )
        device.device_id, device.token_hash, device.enrolled_at = device_id, hashed, now
        return device, token

    def authenticate(self, token: str) -> DeviceRecord:
        parts = split_token(token)
        device = self.device_by_id(parts[0]) if parts else None
        ok = dv.token_matches(parts[1] if parts else "", device.token_hash if device else None)
        if not ok or device is None:
            raise HubError(401, "unauthorized")
        if device.revoked:
            raise HubError(403, "revoked")
        return device

    # --- ingest ----------------------------------------------------------------------------
    def _grid_ids(self, cur: Any, grids: list[str]) -> set[str]:
        """The ids of the grids named by code or id (unknown names name nothing)."""
        if not grids:
            return set()
        marks = ",".join("?" * len(grids))
        cur.execute(
            self._q(f"SELECT id FROM hub_grids WHERE code IN ({marks}) OR id IN ({marks})"),
            [*grids, *grids],
        )
        return {r[0] for r in cur.fetchall()}

    def _reach(self, cur: Any, device: DeviceRecord | None) -> Reach:
        """What ``device`` may touch, as the hub knows its grids now (None: an import on the
        hub itself, which reaches everything)."""
        if device is None or device.role == ADMIN_DEVICE:
            return Reach.everything()
        if device.role == COUNTER_DEVICE:  # a resident counter: its community's grids
            cur.execute(
                self._q("SELECT id FROM hub_grids WHERE community = ?"), (device.community,)
            )
            return Reach(COUNTER_DEVICE, frozenset(r[0] for r in cur.fetchall()))
        if device.role == OFFICE_DEVICE:
            if device.street:
                cur.execute(self._q("SELECT id FROM hub_grids WHERE street = ?"), (device.street,))
            elif device.community:
                cur.execute(
                    self._q("SELECT id FROM hub_grids WHERE community = ?"), (device.community,)
                )
            else:
                return Reach(OFFICE_DEVICE, None)
            return Reach(OFFICE_DEVICE, frozenset(r[0] for r in cur.fetchall()))
        return Reach(FIELD_DEVICE, frozenset(self._grid_ids(cur, device.grids or [])))

    def _load_scope(
        self, cur: Any, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], str | None]:
        """The grid of every record in ``keys`` the hub holds (and of their owners): a
        record's grid is its owner's (db/replication.py), so it is read through the owners
        the hub remembers, up to a record without one or a grid. A record that moves to
        another grid thus takes what belongs to it along without a row of theirs being
        written: the hub used to rewrite each descendant's grid, which needed an index by
        owner, and that index cost every new record a random page (a push of 250 visits on
        250 households wrote 160 to 250 pages of it: the SQLite hub's ingest ran at 28 % of
        a plain insert of the same rows, 46 % without it)."""
        rows = self._scope_rows(cur, keys)
        for _ in range(MAX_OWNERS):
            missing = {
                (pe, pid)
                for _grid, pe, pid in rows.values()
                if pid is not None and pe is not None and pe != "grid" and (pe, pid) not in rows
            }
            if not missing:
                break
            found = self._scope_rows(cur, missing)
            if not found:
                break
            rows.update(found)
        return resolve_grids(rows)

    def _scope_rows(
        self, cur: Any, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str | None, str | None, str | None]]:
        """``(grid as stored, owner entity, owner id)`` of each record of ``keys`` held."""
        by_entity: dict[str, list[str]] = {}
        for ent, eid in keys:
            by_entity.setdefault(ent, []).append(eid)
        out: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}
        for ent, ids in by_entity.items():
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                cur.execute(
                    self._q(
                        "SELECT entity_id, grid, parent_entity, parent_id FROM hub_scope"
                        f" WHERE entity = ? AND entity_id IN ({','.join('?' * len(chunk))})"
                    ),
                    [ent, *chunk],
                )
                for eid, grid, pe, pid in cur.fetchall():
                    out[(ent, eid)] = (grid, pe, pid)
        return out

    def _existing(self, cur: Any, op_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(op_ids), 500):
            chunk = op_ids[i : i + 500]
            cur.execute(
                self._q(f"SELECT op_id FROM hub_ops WHERE op_id IN ({','.join('?' * len(chunk))})"),
                chunk,
            )
            found.update(r[0] for r in cur.fetchall())
        return found

    INSERT_OP = (
        "INSERT INTO hub_ops(op_id, hlc, entity, entity_id, kind, payload, base_version,"
        " field_bases, schema_version, worker_id, device_id, grid, case_id, received_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (op_id) DO NOTHING"
    )
    INSERT_SCOPE = (
        "INSERT INTO hub_scope(entity, entity_id, grid, parent_entity, parent_id)"
        " VALUES (?,?,?,?,?) ON CONFLICT (entity, entity_id) DO UPDATE SET"
        " grid = excluded.grid, parent_entity = excluded.parent_entity,"
        " parent_id = excluded.parent_id"
    )
    INSERT_GRID = (
        "INSERT INTO hub_grids(id, code, community, street) VALUES (?,?,?,?)"
        " ON CONFLICT (id) DO UPDATE SET code = excluded.code,"
        " community = COALESCE(excluded.community, hub_grids.community),"
        " street = COALESCE(excluded.street, hub_grids.street)"
    )
    INSERT_REFUSED = (
        "INSERT INTO hub_refused(device_id, op_id, entity, entity_id, code, params,"
        " refused_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (device_id, op_id) DO"
        " UPDATE SET code = excluded.code, params = excluded.params,"
        " refused_at = excluded.refused_at"
    )

    def _insert_ops(self, cur: Any, rows: list[tuple]) -> int:
        """Insert log rows (skipping op ids already held); returns how many were new."""
        cur.executemany(self._q(self.INSERT_OP), rows)
        return int(cur.rowcount)

    def _insert_scope(self, cur: Any, rows: list[tuple]) -> None:
        cur.executemany(self._q(self.INSERT_SCOPE), rows)

    def ingest(
        self, device: DeviceRecord | None, ops: list[Op], *, invalid: list[Refusal] | None = None
    ) -> IngestResult:
        """Store a batch's operations, each checked on its own: an operation the scope rules
        (:mod:`kiosk.hub.scope`) refuse is left out and reported (its ``index`` in ``ops``),
        the rest are stored, in one transaction. ``invalid``: the batch's operations refused
        before (malformed), recorded with the others. ``device`` None: an administrator's
        import on the hub (a seed), which reaches every grid. Duplicates (by op id) are
        acknowledged, not stored again.

        A push costs a fixed number of statements whatever its size: the scope of the records
        it touches and names (one lookup per entity), the device's grids once, one insert of
        the log rows, one of the new scope rows. The per-operation work (checks, tags, log
        rows) is one pass in memory (:func:`_tag`). Only a record that moves to another grid
        (rare) splits the pass: what belongs to it moves too, before the next operation is
        checked.
        """
        unique: dict[str, int] = {}
        for i, op in enumerate(ops):
            unique.setdefault(op.op_id, i)
        order = list(unique.values())
        now = utcnow()
        device_id = device.device_id if device is not None else None
        stored = 0
        refused: list[Refusal] = []
        with self._tx() as cur:
            # Edits of a household erased on request are scrubbed before they are stored.
            batch_ops = hub_forget.scrub_late(self, cur, [ops[i] for i in order])
            pending = list(zip(order, batch_ops, strict=True))
            checker = Checker(self._reach(cur, device), self._load_scope(cur, keys_of(batch_ops)))
            checks = self._checks_for(batch_ops)
            # A photo record held already names its picture as the log holds it (scrubbed, if
            # its household was erased since): a copy sent again, from a USB bundle made
            # before the erasure, must not name the picture anew.
            photo_ops = [op.op_id for op in batch_ops if op.entity in PHOTO_ENTITIES]
            photos_held = self._existing(cur, photo_ops) if photo_ops else set()
            accepted: list[Op] = []
            while pending:
                batch, used = _tag(pending, checker, device_id, now, checks)
                stored += self._store_batch(cur, batch)
                refused.extend(batch.refused)
                if batch.refused:
                    gone = {r.op_id for r in batch.refused}
                    accepted.extend(op for _, op in pending[:used] if op.op_id not in gone)
                else:
                    accepted.extend([op for _, op in pending[:used]])
                pending = pending[used:]
                if pending:  # a record moved: see the batch's remaining records as they are now
                    checker.scope = self._load_scope(cur, keys_of(op for _, op in pending))
            if refused:
                # An operation refused now but held already (a record moved since it was
                # first sent) is acknowledged as it was.
                held = self._existing(cur, [r.op_id for r in refused])
                refused = [r for r in refused if r.op_id not in held]
            refused.extend(invalid or ())
            if device_id is not None and refused:
                cur.executemany(
                    self._q(self.INSERT_REFUSED),
                    [
                        (
                            device_id,
                            r.op_id,
                            r.entity,
                            r.entity_id,
                            r.code,
                            json.dumps(r.params, ensure_ascii=False),
                            now,
                        )
                        for r in refused
                        if r.op_id
                    ],
                )
            elif device_id is not None and accepted:
                self._forgive(cur, device_id, [op.op_id for op in accepted])
            # which pictures the hub may take and give
            self._note_photos(cur, [op for op in accepted if op.op_id not in photos_held])
            # A household's erasure scrubs what the log holds of it (kiosk/hub/forget.py).
            for household_id, forgotten_at in hub_forget.erasures(accepted):
                hub_forget.erase(self, cur, household_id, forgotten_at)
        if accepted:
            self.observe(max(o.hlc for o in accepted))
        gone = {r.op_id for r in refused}
        acked = [op.op_id for op in batch_ops if op.op_id not in gone]
        return IngestResult(
            acked=acked, duplicates=len(acked) - stored, stored=stored, refused=refused
        )

    #: Checks of each operation before its scope (the clock bound, the field limits), in
    #: order: each returns the refusal, or None.
    op_checks: tuple[Callable[[Op, int | None], Refused | None], ...] = ()

    def _forgive(self, cur: Any, device_id: str, op_ids: list[str]) -> None:
        """Forget earlier refusals of operations the hub now holds (sent again from the
        laptop's quarantine once their cause was fixed)."""
        cur.execute(self._q("SELECT 1 FROM hub_refused WHERE device_id = ? LIMIT 1"), (device_id,))
        if cur.fetchone() is None:
            return
        for i in range(0, len(op_ids), 500):
            chunk = op_ids[i : i + 500]
            cur.execute(
                self._q(
                    f"DELETE FROM hub_refused WHERE device_id = ? AND op_id IN"
                    f" ({','.join('?' * len(chunk))})"
                ),
                [device_id, *chunk],
            )

    def _store_batch(self, cur: Any, batch: _Batch) -> int:
        stored = self._insert_ops(cur, batch.rows) if batch.rows else 0
        if batch.scope_rows:
            self._insert_scope(cur, batch.scope_rows)
        if batch.grid_rows:
            cur.executemany(self._q(self.INSERT_GRID), batch.grid_rows)
        for entity, eid, grid, owner, _old in batch.moves:
            # what belongs to the record follows it through its owner (_load_scope)
            self._insert_scope(cur, [(entity, eid, grid, owner[0], owner[1])])
        return stored

    # --- pull ------------------------------------------------------------------------------
    def _op(self, row: tuple, offset: int) -> Op:
        r = row[offset:]
        return Op(
            op_id=r[0],
            hlc=r[1],
            entity=r[2],
            entity_id=r[3],
            kind=r[4],
            payload=msgspec.json.decode(r[5]),
            base_version=r[6],
            field_bases=json.loads(r[7]) if r[7] else None,
            schema_version=r[8],
            worker_id=r[9],
            device_id=r[10],
        )

    def pull(
        self,
        device: DeviceRecord,
        cursor: str | None,
        limit: int,
        *,
        record: bool = True,
        backfilled: int = 0,
        max_bytes: int = MAX_PAGE_BYTES,
    ) -> PullPage:
        """The next page of operations for ``device`` after ``cursor``: those of the grids it
        reaches now and the global ones, never its own, at most ``limit`` operations and
        about ``max_bytes`` of payload (at least one). ``record``: remember ``cursor`` as what
        the device holds (a device only asks from a cursor it saved)."""
        with self._tx(write=False) as cur:
            visible = self._visible(cur)
            after, params = self._after(cursor)
            where = [after, visible[0], "device_id <> ?"]
            params = [*params, *visible[1], device.device_id]
            reach = self._reach(cur, device)
            if reach.grids is not None:
                ids = sorted(reach.grids)
                where.append(
                    f"(grid IS NULL OR grid IN ({','.join('?' * len(ids))}))"
                    if ids
                    else "grid IS NULL"
                )
                params.extend(ids)
            if reach.role == COUNTER_DEVICE:  # the counter reads cases, never a household
                where.append(f"entity IN ({','.join('?' * len(COUNTER_PULLS))})")
                params.extend(COUNTER_PULLS)
            cur.execute(
                self._q(
                    f"SELECT {self.POS_COLS}, {self.OP_COLS} FROM hub_ops WHERE {' AND '.join(where)}"
                    f" ORDER BY {self.ORDER} LIMIT ?"
                ),
                [*params, limit],
            )
            rows = cur.fetchall()
            npos = len(self.POS_COLS.split(","))
            size, kept = 0, 0
            for r in rows:
                size += len(r[npos + 5]) + 256
                if kept and size > max_bytes:
                    break
                kept += 1
            full = kept < len(rows) or len(rows) == limit
            if full:
                new_cursor: str | None = self._cursor_of(rows[kept - 1])
            else:
                new_cursor = self._tail(cur, visible) or cursor
            ops = [self._op(r, npos) for r in rows[:kept]]
        if record:
            self._seen(device, cursor)
        return PullPage(ops, new_cursor, full, backfilled)

    def note_cursor(self, device: DeviceRecord, cursor: str | None) -> None:
        """Remember the pull cursor a device's offline bundle says it has saved, so the next
        ``hub export --device`` starts there (a malformed one is refused, 400)."""
        self._after(cursor)
        self._seen(device, cursor)

    def _seen(self, device: DeviceRecord, cursor: str | None) -> None:
        """Remember the cursor the device says it holds (offline exports start there)."""
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "UPDATE hub_devices SET last_seen_at = ?, last_cursor = ? WHERE device_id = ?"
                ),
                (utcnow(), cursor, device.device_id),
            )

    def acked_since(self, device: DeviceRecord, cursor: str | None) -> list[str]:
        with self._tx(write=False) as cur:
            after, params = self._after(cursor)
            cur.execute(
                self._q(f"SELECT op_id FROM hub_ops WHERE device_id = ? AND {after}"),
                [device.device_id, *params],
            )
            return [r[0] for r in cur.fetchall()]

    def refused_for(self, device_id: str) -> list[Refusal]:
        """The operations of ``device_id`` the hub has refused (an offline bundle tells the
        laptop, which keeps them in its quarantine)."""
        with self._tx(write=False) as cur:
            cur.execute(
                self._q(
                    "SELECT op_id, entity, entity_id, code, params FROM hub_refused"
                    " WHERE device_id = ? ORDER BY refused_at, op_id"
                ),
                (device_id,),
            )
            return [
                Refusal(-1, r[0], r[1], r[2], r[3], json.loads(r[4] or "{}"))
                for r in cur.fetchall()
            ]

    # --- stamps from clocks set wrong (docs/sync.md, Clocks) ------------------------------
    def _far_bound(self) -> str:
        return format_stamp(int(time.time() * 1000) + self.max_drift_ms, MAX_COUNTER)

    def far_stamps(self, limit: int = 100) -> tuple[int, list[FarStamp]]:
        """Operations in the log stamped beyond the drift bound (taken in before the bound
        existed): how many, and the first ``limit`` of them in log order."""
        with self._tx(write=False) as cur:
            bound = self._far_bound()
            cur.execute(self._q("SELECT count(*) FROM hub_ops WHERE hlc > ?"), (bound,))
            n = int(cur.fetchone()[0])
            cur.execute(
                self._q(
                    "SELECT op_id, device_id, entity, entity_id, hlc, received_at"
                    f" FROM hub_ops WHERE hlc > ? ORDER BY {self.ORDER} LIMIT ?"
                ),
                (bound, limit),
            )
            return n, [FarStamp(*r) for r in cur.fetchall()]

    def restamp_far(self) -> int:
        """Give every operation stamped beyond the drift bound the stamp it would have had
        when the hub received it (its ``received_at``, counters in log order), so laptops
        that pull it from now on no longer let it outweigh every later edit. Its position
        in the log, and so every cursor, stays. Returns how many were re-stamped."""
        with self._tx() as cur:
            bound = self._far_bound()
            cur.execute(
                self._q(
                    f"SELECT op_id, received_at FROM hub_ops WHERE hlc > ? ORDER BY {self.ORDER}"
                ),
                (bound,),
            )
            rows = cur.fetchall()
            last: tuple[int, int] = (-1, -1)
            updates = []
            for op_id, received in rows:
                ms = int(datetime.fromisoformat(received).timestamp() * 1000)
                wall, counter = (ms, 0) if ms > last[0] else next_after(*last)
                last = (wall, counter)
                updates.append((format_stamp(wall, counter), op_id))
            cur.executemany(self._q("UPDATE hub_ops SET hlc = ? WHERE op_id = ?"), updates)
        self._init_clock()
        return len(updates)

    def op_count(self) -> int:
        with self._tx(write=False) as cur:
            cur.execute("SELECT count(*) FROM hub_ops")
            return int(cur.fetchone()[0])

    # --- the audit trail (docs/security.md) -----------------------------------------------
    _AUDIT_COLS = (
        "id, device_id, dseq, at, worker_id, action, entity, entity_id,"
        " household_id, detail, prev_hash, hash"
    )

    def ingest_audit(self, device: DeviceRecord | None, entries: list[AuditEntry]) -> AuditResult:
        """Store a device's audit entries: all of them or none. They must continue the chain
        the hub holds for their device (``dseq`` next, ``prev_hash`` its last hash) with every
        hash matching its entry; entries the hub holds already are skipped if identical.
        Refusals: 403 ``other_device``, 409 ``audit_mismatch`` (an entry differs from the
        one held), 409 ``audit_chain`` (the chain is broken: the message says where, how)."""
        by_device: dict[str, list[AuditEntry]] = {}
        for e in entries:
            if device is not None and e.device_id != device.device_id:
                raise HubError(403, "other_device")
            by_device.setdefault(e.device_id, []).append(e)
        stored = duplicates = 0
        last = 0
        now = utcnow()
        with self._tx() as cur:
            for device_id, group in by_device.items():
                group.sort(key=lambda e: e.dseq)
                cur.execute(
                    self._q(
                        "SELECT dseq, hash FROM hub_audit WHERE device_id = ?"
                        " ORDER BY dseq DESC LIMIT 1"
                    ),
                    [device_id],
                )
                row = cur.fetchone()
                tail = (int(row[0]), row[1]) if row else (0, GENESIS)
                held = [e for e in group if e.dseq <= tail[0]]
                if held:
                    cur.execute(
                        self._q(
                            "SELECT dseq, hash FROM hub_audit WHERE device_id = ? AND dseq >= ?"
                            " AND dseq <= ?"
                        ),
                        [device_id, held[0].dseq, held[-1].dseq],
                    )
                    hashes = {int(r[0]): r[1] for r in cur.fetchall()}
                    for e in held:  # the same entry: the same hash, and its content too
                        if hashes.get(e.dseq) != e.hash or _hash_of(e) != e.hash:
                            raise HubError(409, "audit_mismatch", dseq=e.dseq)
                new = [e for e in group if e.dseq > tail[0]]
                problem = next(check_chain([_chain_row(e) for e in new], start=tail), None)
                if problem is not None:
                    raise HubError(
                        409,
                        "audit_chain",
                        dseq=problem.dseq,
                        reason=t(f"sync.audit_reason.{problem.kind}"),
                        expected=problem.expected or tail[0] + 1,
                    )
                if new:
                    cur.executemany(
                        self._q(
                            f"INSERT INTO hub_audit({self._AUDIT_COLS}, received_at)"
                            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
                        ),
                        [(*_chain_row(e), now) for e in new],
                    )
                stored += len(new)
                duplicates += len(held)
                last = max(tail[0], new[-1].dseq if new else 0)
        return AuditResult(stored=stored, duplicates=duplicates, last_dseq=last)

    def audit_tail(self, device_id: str) -> int:
        """The last entry of ``device_id``'s chain the hub holds (0: none)."""
        with self._tx(write=False) as cur:
            cur.execute(
                self._q("SELECT COALESCE(max(dseq), 0) FROM hub_audit WHERE device_id = ?"),
                [device_id],
            )
            return int(cur.fetchone()[0])

    def audit_entries(self, device_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Entries newest first (by arrival), of one device or all."""
        where, params = ("WHERE device_id = ?", [device_id]) if device_id else ("", [])
        with self._tx(write=False) as cur:
            cur.execute(
                self._q(
                    f"SELECT {self._AUDIT_COLS}, received_at FROM hub_audit {where}"
                    " ORDER BY received_at DESC, device_id, dseq DESC LIMIT ?"
                ),
                [*params, limit],
            )
            names = (
                "id",
                "device_id",
                "dseq",
                "at",
                "worker_id",
                "action",
                "entity",
                "entity_id",
                "household_id",
                "detail",
                "prev_hash",
                "hash",
                "received_at",
            )
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def verify_audit(self) -> tuple[int, int, list[Any]]:
        """Check every device's chain as the hub holds it: (entries, devices, problems)."""
        problems: list[Any] = []
        with self._tx(write=False) as cur:
            cur.execute(f"SELECT {self._AUDIT_COLS} FROM hub_audit ORDER BY device_id, dseq")
            rows = [tuple(r) for r in cur.fetchall()]
        devices: dict[str, list[tuple]] = {}
        for r in rows:
            devices.setdefault(r[1], []).append(r)
        for group in devices.values():
            problems.extend(check_chain(group))
        return len(rows), len(devices), problems


def _hash_of(e: AuditEntry) -> str:
    return entry_hash(
        e.prev_hash,
        e.id,
        e.device_id,
        e.dseq,
        e.at,
        e.worker_id,
        e.action,
        e.entity,
        e.entity_id,
        e.household_id,
        e.detail,
    )


def _chain_row(e: AuditEntry) -> tuple:
    return (
        e.id,
        e.device_id,
        e.dseq,
        e.at,
        e.worker_id,
        e.action,
        e.entity,
        e.entity_id,
        e.household_id,
        e.detail,
        e.prev_hash,
        e.hash,
    )


def ingest_raw(
    store: HubStore, device: DeviceRecord | None, raws: list[msgspec.Raw]
) -> IngestResult:
    """Store a batch as it arrived (a push, a bundle): each operation decoded on its own, a
    malformed one refused alone (``invalid``). Refusals carry their place in ``raws``."""
    from kiosk.sync.protocol import decode_ops

    good, bad = decode_ops(raws)
    invalid = [Refusal(b.index, b.op_id, "", "", b.code, dict(b.params)) for b in bad]
    result = store.ingest(device, [op for _, op in good], invalid=invalid)
    result.refused = [
        r
        if r.code == "invalid"
        else Refusal(good[r.index][0], r.op_id, r.entity, r.entity_id, r.code, r.params)
        for r in result.refused
    ]
    result.refused.sort(key=lambda r: r.index)
    return result

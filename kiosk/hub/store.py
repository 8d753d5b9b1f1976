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
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from db.audit import GENESIS, check_chain, entry_hash
from db.hlc import HybridClock
from db.replication import ENTITIES
from kiosk.hub import devices as dv
from kiosk.hub import forget as hub_forget
from kiosk.i18n import t
from kiosk.sync.protocol import AuditEntry, Op


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

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "device_id": self.device_id, "grids": self.grids,
                "worker": self.worker,
                "revoked": self.revoked, "created_at": self.created_at,
                "enrolled_at": self.enrolled_at, "last_seen_at": self.last_seen_at}


@dataclass
class IngestResult:
    acked: list[str]
    duplicates: int
    stored: int


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
    def add_device(self, name: str, grids: list[str] | None, worker: str | None = None) -> str: ...
    @abstractmethod
    def list_devices(self) -> list[DeviceRecord]: ...
    @abstractmethod
    def revoke_device(self, name: str) -> bool: ...
    @abstractmethod
    def enrol(self, code: str, device_id: str) -> tuple[DeviceRecord, str]: ...
    @abstractmethod
    def authenticate(self, token: str) -> DeviceRecord: ...
    @abstractmethod
    def device_by_name(self, name: str) -> DeviceRecord | None: ...
    @abstractmethod
    def device_by_id(self, device_id: str) -> DeviceRecord | None: ...

    # operations
    @abstractmethod
    def ingest(self, device: DeviceRecord | None, ops: list[Op]) -> IngestResult: ...
    @abstractmethod
    def pull(self, device: DeviceRecord, cursor: str | None, limit: int, *,
             record: bool = True, backfilled: int = 0) -> PullPage: ...
    @abstractmethod
    def acked_since(self, device: DeviceRecord, cursor: str | None) -> list[str]: ...
    @abstractmethod
    def op_count(self) -> int: ...

    # the hub's clock
    @abstractmethod
    def observe(self, hlc: str | None) -> str: ...

    # the audit trail
    @abstractmethod
    def ingest_audit(self, device: DeviceRecord | None,
                     entries: list[AuditEntry]) -> AuditResult: ...
    @abstractmethod
    def audit_entries(self, device_id: str | None = None,
                      limit: int = 50) -> list[dict[str, Any]]: ...
    @abstractmethod
    def verify_audit(self) -> tuple[int, int, list[Any]]: ...
    @abstractmethod
    def audit_tail(self, device_id: str) -> int: ...


_SCOPE_SKIP = frozenset({"id", "grid_id", "worker_id", "device_id"})


def parent_keys(op: Op) -> Iterator[tuple[str, str]]:
    """(entity, id) of the rows an insert names through its ``<entity>_id`` fields."""
    for k, v in op.payload.items():
        if k.endswith("_id") and k not in _SCOPE_SKIP and isinstance(v, str) and v:
            ent = k[:-3]
            if ent in ENTITIES:
                yield ent, v


def case_of(op: Op) -> str | None:
    """The case an operation belongs to: a case itself, or a record naming its case."""
    if op.entity == "case":
        return op.entity_id
    case_id = op.payload.get("case_id")
    return case_id if isinstance(case_id, str) and case_id else None


def assignee(op: Op) -> str | None:
    """The person an ``assign`` case event names (its ``data.person``)."""
    if op.entity != "case_event" or op.payload.get("type") != "assign":
        return None
    data = op.payload.get("data")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    person = data.get("person") if isinstance(data, dict) else None
    return person.strip() if isinstance(person, str) and person.strip() else None


_INSERTS = frozenset({"insert", "append"})


@dataclass
class _Batch:
    """A push's operations, tagged and checked, as the rows to store."""

    rows: list[tuple] = field(default_factory=list)
    scope_rows: list[tuple[str, str, str | None]] = field(default_factory=list)
    grid_rows: list[tuple[str, str]] = field(default_factory=list)
    assigned: list[tuple[str, str]] = field(default_factory=list)
    #: Operations the scope rules refuse and the error code, in batch order. Each is left
    #: out (as it would be if the hub held it already); the batch is refused unless it does.
    refused: list[tuple[Op, str]] = field(default_factory=list)


def _tag(new: list[Op], scope: dict[tuple[str, str], str | None], allowed: set[str] | None,
         mine: set[str | None], now: str, admins: frozenset[str] = frozenset()) -> _Batch:
    """Tag each operation with its grid and case, check it against the device's grids
    (``allowed``; None: every grid, no check) and build its log row. ``scope`` (the grid of
    each record the batch names) is updated as records are inserted or moved, so the later
    operations of the batch follow them.

    This is the hot loop of a push: each field is read once, nothing touches the database.
    """
    out = _Batch()
    rows, scope_rows, refused = out.rows, out.scope_rows, out.refused
    encode = msgspec.json.encode
    for op in new:
        entity, eid, kind, payload = op.entity, op.entity_id, op.kind, op.payload
        key = (entity, eid)
        known = key in scope
        inserting = kind in _INSERTS
        grid: str | None
        if known:
            grid = scope[key]
        elif not inserting:
            grid = None
        elif entity == "grid":
            grid = eid
        else:
            direct = payload.get("grid_id")
            grid = direct if isinstance(direct, str) and direct else _parent_grid(op, scope)
        moved = payload.get("grid_id") if kind == "update" else None
        if not (isinstance(moved, str) and moved and moved != grid):
            moved = None
        if entity == "case":
            case_id: str | None = eid
        else:
            case_id = payload.get("case_id")
            if not (isinstance(case_id, str) and case_id):
                case_id = None
        if allowed is not None:
            code = None
            if grid not in allowed and not (mine and case_id in mine):
                code = _refusal(op, grid, known, allowed)
                # Workers are the administrators' to change, from whichever device.
                if code and entity == "worker" and op.worker_id in admins:
                    code = None
            if code is None and moved is not None and moved not in allowed:
                code = "out_of_scope"
            if code is not None:
                refused.append((op, code))
                continue
        if moved is not None:
            grid = moved
            scope[key] = grid
            scope_rows.append((entity, eid, grid))
        elif not known and inserting:
            scope[key] = grid
            scope_rows.append((entity, eid, grid))
        if entity == "grid" and isinstance(payload.get("code"), str):
            out.grid_rows.append((eid, payload["code"]))
        if case_id and entity == "case_event":
            person = assignee(op)
            if person:
                out.assigned.append((case_id, person))
        fb = op.field_bases
        rows.append((op.op_id, op.hlc, entity, eid, kind, encode(payload).decode(),
                     op.base_version, encode(fb).decode() if fb else None, op.schema_version,
                     op.worker_id, op.device_id, grid, case_id, now))
    return out


def _parent_grid(op: Op, scope: dict[tuple[str, str], str | None]) -> str | None:
    """The grid of the first known parent an insert names (None: a global record)."""
    for pk in parent_keys(op):
        if pk in scope:
            return scope[pk]
    return None


def _refusal(op: Op, grid: str | None, known: bool, allowed: set[str]) -> str | None:
    """Why the scope rules refuse ``op`` from a device of the ``allowed`` grids (None: they
    do not)."""
    if op.kind == "update" and not known:
        return "unknown_record"
    if grid is None:
        ent = ENTITIES.get(op.entity)
        # A grid worker may add new records that belong to no grid (anonymous feedback),
        # never change shared ones (workers, grids).
        if ent and ent.policy == "append" and op.kind in _INSERTS and not known:
            return None
        return "out_of_scope"
    return None if grid in allowed else "out_of_scope"


class SqlHubStore(HubStore):
    """Shared SQL logic; subclasses give the connection, DDL and log-position dialect.

    SQL here is written with ``?`` placeholders; :meth:`_q` adapts them.
    """

    #: Columns of hub_ops selected for a pull (after the position columns).
    OP_COLS = ("op_id, hlc, entity, entity_id, kind, payload, base_version, field_bases,"
               " schema_version, worker_id, device_id")
    POS_COLS = "seq"

    def __init__(self) -> None:
        self.clock = HybridClock()
        self._clock_lock = threading.Lock()

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
        with self._tx(write=False) as cur:
            cur.execute(self._q("SELECT max(hlc) FROM hub_ops"))
            row = cur.fetchone()
        self.clock = HybridClock(row[0] if row and row[0] else None)

    def observe(self, hlc: str | None) -> str:
        with self._clock_lock:
            return self.clock.observe(hlc) if hlc else self.clock.now()

    # --- devices ---------------------------------------------------------------------------
    _DEV_COLS = ("name, device_id, grids, revoked, created_at, enrolled_at, last_seen_at,"
                 " last_cursor, token_hash, worker, backfilled")

    def _device(self, row: tuple | None) -> DeviceRecord | None:
        if row is None:
            return None
        grids = json.loads(row[2]) if row[2] is not None else None
        return DeviceRecord(row[0], row[1], grids, bool(row[3]), row[4], row[5], row[6],
                            row[7], row[8], row[9], int(row[10] or 0))

    def add_device(self, name: str, grids: list[str] | None, worker: str | None = None) -> str:
        """Register a device; ``worker`` is the person cases are assigned to (the ``person``
        of an ``assign`` event): those cases reach the device whatever their grid."""
        name = name.strip()
        if not name or len(name) > 64 or any(ord(c) < 32 for c in name):
            raise HubError(422, "bad_name")
        code = dv.new_code()
        expires = (datetime.now(UTC) + timedelta(hours=dv.CODE_TTL_HOURS)).isoformat(
            timespec="seconds")
        with self._tx() as cur:
            cur.execute(self._q("SELECT 1 FROM hub_devices WHERE name = ?"), (name,))
            if cur.fetchone():
                raise HubError(409, "device_exists", name=name)
            cur.execute(self._q(
                "INSERT INTO hub_devices(name, grids, code_hash, code_expires, revoked, created_at,"
                " worker) VALUES (?, ?, ?, ?, 0, ?, ?)"),
                (name, json.dumps(sorted(set(grids))) if grids else None, dv.code_hash(code),
                 expires, utcnow(), worker.strip() if worker and worker.strip() else None))
        return code

    def list_devices(self) -> list[DeviceRecord]:
        with self._tx(write=False) as cur:
            cur.execute(self._q(f"SELECT {self._DEV_COLS} FROM hub_devices ORDER BY name"))
            return [d for d in map(self._device, cur.fetchall()) if d]

    def device_by_name(self, name: str) -> DeviceRecord | None:
        with self._tx(write=False) as cur:
            cur.execute(self._q(f"SELECT {self._DEV_COLS} FROM hub_devices WHERE name = ?"), (name,))
            return self._device(cur.fetchone())

    def device_by_id(self, device_id: str) -> DeviceRecord | None:
        with self._tx(write=False) as cur:
            cur.execute(self._q(f"SELECT {self._DEV_COLS} FROM hub_devices WHERE device_id = ?"),
                        (device_id,))
            return self._device(cur.fetchone())

    def revoke_device(self, name: str) -> bool:
        with self._tx() as cur:
            cur.execute(self._q("UPDATE hub_devices SET revoked = 1, code_hash = NULL WHERE name = ?"),
                        (name,))
            return cur.rowcount > 0

    def enrol(self, code: str, device_id: str) -> tuple[DeviceRecord, str]:
        with self._tx() as cur:
            cur.execute(self._q(
                f"SELECT {self._DEV_COLS}, code_expires FROM hub_devices WHERE code_hash = ?"),
                (dv.code_hash(code),))
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
            cur.execute(self._q(
                "UPDATE hub_devices SET device_id = ?, token_hash = ?, code_hash = NULL,"
                " code_expires = NULL, enrolled_at = ? WHERE name = ?"),
                (device_id, hashed, now, device.name))
        device.device_id, device.token_hash, device.enrolled_at = device_id, hashed, now
        return device, token

    def authenticate(self, token: str) -> DeviceRecord:
        parts = dv.split_token(token)
        device = self.device_by_id(parts[0]) if parts else None
        ok = dv.token_matches(parts[1] if parts else "", device.token_hash if device else None)
        if not ok or device is None:
            raise HubError(401, "unauthorized")
        if device.revoked:
            raise HubError(403, "revoked")
        return device

    # --- ingest ----------------------------------------------------------------------------
    def _grid_ids(self, cur: Any, grids: list[str]) -> set[str]:
        marks = ",".join("?" * len(grids))
        cur.execute(self._q(f"SELECT id FROM hub_grids WHERE code IN ({marks}) OR id IN ({marks})"),
                    [*grids, *grids])
        return {r[0] for r in cur.fetchall()} | set(grids)

    def _load_scope(self, cur: Any, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        by_entity: dict[str, list[str]] = {}
        for ent, eid in keys:
            by_entity.setdefault(ent, []).append(eid)
        out: dict[tuple[str, str], str | None] = {}
        for ent, ids in by_entity.items():
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                cur.execute(self._q(
                    f"SELECT entity_id, grid FROM hub_scope WHERE entity = ? AND entity_id IN"
                    f" ({','.join('?' * len(chunk))})"), [ent, *chunk])
                for eid, grid in cur.fetchall():
                    out[(ent, eid)] = grid
        return out

    def _existing(self, cur: Any, op_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(op_ids), 500):
            chunk = op_ids[i:i + 500]
            cur.execute(self._q(f"SELECT op_id FROM hub_ops WHERE op_id IN ({','.join('?' * len(chunk))})"),
                        chunk)
            found.update(r[0] for r in cur.fetchall())
        return found

    INSERT_OP = ("INSERT INTO hub_ops(op_id, hlc, entity, entity_id, kind, payload, base_version,"
                 " field_bases, schema_version, worker_id, device_id, grid, case_id, received_at)"
                 " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (op_id) DO NOTHING")
    INSERT_SCOPE = ("INSERT INTO hub_scope(entity, entity_id, grid) VALUES (?,?,?)"
                    " ON CONFLICT (entity, entity_id) DO UPDATE SET grid = excluded.grid")
    INSERT_GRID = ("INSERT INTO hub_grids(id, code) VALUES (?,?)"
                   " ON CONFLICT (id) DO UPDATE SET code = excluded.code")

    def _insert_ops(self, cur: Any, rows: list[tuple]) -> int:
        """Insert log rows (skipping op ids already held); returns how many were new."""
        cur.executemany(self._q(self.INSERT_OP), rows)
        return int(cur.rowcount)

    def _insert_scope(self, cur: Any, rows: list[tuple]) -> None:
        cur.executemany(self._q(self.INSERT_SCOPE), rows)

    def ingest(self, device: DeviceRecord | None, ops: list[Op]) -> IngestResult:
        """Store a batch: all of it or none of it. ``device`` None: an administrator's import
        (no scope check). Duplicates (by op id) are acknowledged and not stored again.

        A push costs a fixed number of statements whatever its size: the scope of the records
        it names (one lookup per entity), the device's grids and assigned cases once, one
        insert of the log rows, one of the new scope rows. The per-operation work (grid
        tagging, scope checks, log rows) is one pass in memory (:func:`_tag`).
        """
        if device is not None:
            own = device.device_id
            for op in ops:
                if op.device_id != own:
                    raise HubError(403, "other_device")
        unique: dict[str, Op] = {}
        for op in ops:
            unique.setdefault(op.op_id, op)
        new = list(unique.values())
        now = utcnow()
        with self._tx() as cur:
            # Edits of a household erased on request are scrubbed before they are stored.
            new = hub_forget.scrub_late(self, cur, new)
            keys = {(op.entity, op.entity_id) for op in new}
            for op in new:
                if (op.kind in _INSERTS and op.entity != "grid"
                        and not op.payload.get("grid_id")):
                    keys.update(parent_keys(op))  # parents are needed only to find the grid
            scope = self._load_scope(cur, keys) if keys else {}
            allowed = (None if device is None or device.grids is None
                       else self._grid_ids(cur, device.grids))
            # Cases assigned to the device's person: it may add to them whatever their grid.
            mine: set[str | None] = set()
            if allowed is not None and device is not None and device.worker:
                cases = sorted({c for c in map(case_of, new) if c})
                if cases:
                    cur.execute(self._q(
                        "SELECT case_id FROM hub_assign WHERE worker = ? AND case_id IN"
                        f" ({','.join('?' * len(cases))})"), [device.worker, *cases])
                    mine = {r[0] for r in cur.fetchall()}
            admins: frozenset[str] = frozenset()
            if allowed is not None:
                actors = {op.worker_id for op in new if op.entity == "worker" and op.worker_id}
                if actors:
                    admins = self._administrators(cur, actors)
            batch = _tag(new, scope, allowed, mine, now, admins)
            # Operations already held are found by the insert itself (ON CONFLICT DO NOTHING),
            # not by a lookup first. Only those the scope rules refuse (a record moved since
            # they were first sent) are looked up, all in one query: held already, they are
            # acknowledged as they were; the first one not held refuses the batch.
            if batch.refused:
                held = self._existing(cur, [op.op_id for op, _ in batch.refused])
                for op, code in batch.refused:
                    if op.op_id not in held:
                        raise HubError(403, code)
            stored = self._insert_ops(cur, batch.rows) if batch.rows else 0
            if batch.scope_rows:
                # one row per record (an insert and a move in one batch: the last wins)
                self._insert_scope(cur, list({r[:2]: r for r in batch.scope_rows}.values()))
            if batch.grid_rows:
                cur.executemany(self._q(self.INSERT_GRID), batch.grid_rows)
            if batch.assigned:
                self._assign(cur, batch.assigned, scope)
            # A household's erasure scrubs what the log holds of it (kiosk/hub/forget.py).
            for household_id, forgotten_at in hub_forget.erasures(new):
                hub_forget.erase(self, cur, household_id, forgotten_at)
        if new:
            self.observe(max(o.hlc for o in new))
        return IngestResult(acked=list(unique), duplicates=len(new) - stored, stored=stored)

    def _administrators(self, cur: Any, worker_ids: set[str]) -> frozenset[str]:
        """Those of ``worker_ids`` the hub knows as enabled administrators (their worker
        records' operations folded in HLC order)."""
        ids = sorted(worker_ids)
        cur.execute(self._q(
            "SELECT entity_id, payload FROM hub_ops WHERE entity = 'worker' AND entity_id IN"
            f" ({','.join('?' * len(ids))}) ORDER BY hlc"), ids)
        state: dict[str, dict[str, Any]] = {}
        for wid, payload in cur.fetchall():
            state.setdefault(wid, {}).update(msgspec.json.decode(payload))
        return frozenset(wid for wid, w in state.items()
                         if w.get("role") == "admin" and not w.get("disabled"))

    def _assign(self, cur: Any, assigned: list[tuple[str, str]],
                scope: dict[tuple[str, str], str | None]) -> None:
        """Record case assignments; queue a newly assigned case's earlier operations for
        each device of that person that does not receive the case's grid anyway."""
        for case_id, person in dict.fromkeys(assigned):
            cur.execute(self._q("SELECT 1 FROM hub_assign WHERE case_id = ? AND worker = ?"),
                        (case_id, person))
            if cur.fetchone():
                continue
            cur.execute(self._q("INSERT INTO hub_assign(case_id, worker) VALUES (?, ?)"),
                        (case_id, person))
            grid = scope.get(("case", case_id))
            if ("case", case_id) not in scope:
                grid = self._load_scope(cur, {("case", case_id)}).get(("case", case_id))
            cur.execute(self._q(f"SELECT {self._DEV_COLS} FROM hub_devices WHERE worker = ?"
                                " AND revoked = 0 AND device_id IS NOT NULL"), (person,))
            for device in [d for d in map(self._device, cur.fetchall()) if d]:
                if device.grids is None or (grid and grid in self._grid_ids(cur, device.grids)):
                    continue
                cur.execute(self._q(
                    "INSERT INTO hub_backfill(device_id, op_id) SELECT ?, op_id FROM hub_ops"
                    f" WHERE case_id = ? ORDER BY {self.ORDER}"
                    " ON CONFLICT (device_id, op_id) DO NOTHING"), (device.device_id, case_id))

    # --- pull ------------------------------------------------------------------------------
    def _op(self, row: tuple, offset: int) -> Op:
        r = row[offset:]
        return Op(op_id=r[0], hlc=r[1], entity=r[2], entity_id=r[3], kind=r[4],
                  payload=msgspec.json.decode(r[5]), base_version=r[6],
                  field_bases=json.loads(r[7]) if r[7] else None, schema_version=r[8],
                  worker_id=r[9], device_id=r[10])

    def pull(self, device: DeviceRecord, cursor: str | None, limit: int, *,
             record: bool = True, backfilled: int = 0) -> PullPage:
        """The next page of operations for ``device`` after ``cursor``. ``record``: remember
        ``cursor`` as what the device holds (a device only asks from a cursor it saved).
        ``backfilled``: the last backfill entry the device has applied; entries after it
        (operations of cases newly assigned to its worker) come first."""
        with self._tx(write=False) as cur:
            back: list[tuple] = []
            if device.worker:
                cur.execute(self._q(
                    f"SELECT b.id, {', '.join('o.' + c.strip() for c in self.OP_COLS.split(','))}"
                    " FROM hub_backfill b JOIN hub_ops o ON o.op_id = b.op_id"
                    " WHERE b.device_id = ? AND b.id > ? ORDER BY b.id LIMIT ?"),
                    (device.device_id, backfilled, limit))
                back = cur.fetchall()
            visible = self._visible(cur)
            after, params = self._after(cursor)
            where = [after, visible[0], "device_id <> ?"]
            params = [*params, *visible[1], device.device_id]
            if device.grids is not None:
                ids = sorted(self._grid_ids(cur, device.grids))
                scope = f"grid IS NULL OR grid IN ({','.join('?' * len(ids))})"
                params.extend(ids)
                if device.worker:
                    scope += " OR case_id IN (SELECT case_id FROM hub_assign WHERE worker = ?)"
                    params.append(device.worker)
                where.append(f"({scope})")
            room = limit - len(back)
            rows: list[tuple] = []
            if room > 0:
                cur.execute(self._q(
                    f"SELECT {self.POS_COLS}, {self.OP_COLS} FROM hub_ops WHERE {' AND '.join(where)}"
                    f" ORDER BY {self.ORDER} LIMIT ?"), [*params, room])
                rows = cur.fetchall()
            npos = len(self.POS_COLS.split(","))
            ops = [self._op(r, 1) for r in back] + [self._op(r, npos) for r in rows]
            more = len(back) == limit or (room > 0 and len(rows) == room)
            if rows and len(rows) == room:
                new_cursor: str | None = self._cursor_of(rows[-1])
            elif room > 0:
                new_cursor = self._tail(cur, visible) or cursor
            else:
                new_cursor = cursor
        if record:
            self._seen(device, cursor, backfilled)
        return PullPage(ops, new_cursor, more, int(back[-1][0]) if back else backfilled)

    def _seen(self, device: DeviceRecord, cursor: str | None, backfilled: int = 0) -> None:
        """Remember the cursor the device says it holds (offline exports start there) and
        drop the backfill entries it has applied."""
        with self._tx() as cur:
            cur.execute(self._q("UPDATE hub_devices SET last_seen_at = ?, last_cursor = ?,"
                                " backfilled = ? WHERE device_id = ?"),
                        (utcnow(), cursor, backfilled, device.device_id))
            if backfilled:
                cur.execute(self._q("DELETE FROM hub_backfill WHERE device_id = ? AND id <= ?"),
                            (device.device_id, backfilled))

    def acked_since(self, device: DeviceRecord, cursor: str | None) -> list[str]:
        with self._tx(write=False) as cur:
            after, params = self._after(cursor)
            cur.execute(self._q(f"SELECT op_id FROM hub_ops WHERE device_id = ? AND {after}"),
                        [device.device_id, *params])
            return [r[0] for r in cur.fetchall()]

    def op_count(self) -> int:
        with self._tx(write=False) as cur:
            cur.execute("SELECT count(*) FROM hub_ops")
            return int(cur.fetchone()[0])

    # --- the audit trail (docs/security.md) -----------------------------------------------
    _AUDIT_COLS = ("id, device_id, dseq, at, worker_id, action, entity, entity_id,"
                   " household_id, detail, prev_hash, hash")

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
                cur.execute(self._q("SELECT dseq, hash FROM hub_audit WHERE device_id = ?"
                                    " ORDER BY dseq DESC LIMIT 1"), [device_id])
                row = cur.fetchone()
                tail = (int(row[0]), row[1]) if row else (0, GENESIS)
                held = [e for e in group if e.dseq <= tail[0]]
                if held:
                    cur.execute(self._q(
                        "SELECT dseq, hash FROM hub_audit WHERE device_id = ? AND dseq >= ?"
                        " AND dseq <= ?"), [device_id, held[0].dseq, held[-1].dseq])
                    hashes = {int(r[0]): r[1] for r in cur.fetchall()}
                    for e in held:  # the same entry: the same hash, and its content too
                        if hashes.get(e.dseq) != e.hash or _hash_of(e) != e.hash:
                            raise HubError(409, "audit_mismatch", dseq=e.dseq)
                new = [e for e in group if e.dseq > tail[0]]
                problem = next(check_chain([_chain_row(e) for e in new], start=tail), None)
                if problem is not None:
                    raise HubError(409, "audit_chain", dseq=problem.dseq,
                                   reason=t(f"sync.audit_reason.{problem.kind}"),
                                   expected=problem.expected or tail[0] + 1)
                if new:
                    cur.executemany(self._q(
                        f"INSERT INTO hub_audit({self._AUDIT_COLS}, received_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"),
                        [(*_chain_row(e), now) for e in new])
                stored += len(new)
                duplicates += len(held)
                last = max(tail[0], new[-1].dseq if new else 0)
        return AuditResult(stored=stored, duplicates=duplicates, last_dseq=last)

    def audit_tail(self, device_id: str) -> int:
        """The last entry of ``device_id``'s chain the hub holds (0: none)."""
        with self._tx(write=False) as cur:
            cur.execute(self._q("SELECT COALESCE(max(dseq), 0) FROM hub_audit"
                                " WHERE device_id = ?"), [device_id])
            return int(cur.fetchone()[0])

    def audit_entries(self, device_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Entries newest first (by arrival), of one device or all."""
        where, params = ("WHERE device_id = ?", [device_id]) if device_id else ("", [])
        with self._tx(write=False) as cur:
            cur.execute(self._q(f"SELECT {self._AUDIT_COLS}, received_at FROM hub_audit {where}"
                                " ORDER BY received_at DESC, device_id, dseq DESC LIMIT ?"),
                        [*params, limit])
            names = ("id", "device_id", "dseq", "at", "worker_id", "action", "entity",
                     "entity_id", "household_id", "detail", "prev_hash", "hash", "received_at")
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
    return entry_hash(e.prev_hash, e.id, e.device_id, e.dseq, e.at, e.worker_id, e.action,
                      e.entity, e.entity_id, e.household_id, e.detail)


def _chain_row(e: AuditEntry) -> tuple:
    return (e.id, e.device_id, e.dseq, e.at, e.worker_id, e.action, e.entity, e.entity_id,
            e.household_id, e.detail, e.prev_hash, e.hash)


def open_store(url: str | None) -> HubStore:
    """The store at ``url``: ``postgresql://...`` or a SQLite file path (default: the hub's
    data dir)."""
    if url and url.startswith(("postgresql://", "postgres://")):
        from kiosk.hub.store_postgres import PostgresHubStore

        return PostgresHubStore(url)
    from kiosk.hub.store_sqlite import SqliteHubStore

    if not url:
        from kiosk.config import data_dir

        url = str(data_dir() / "hub.db")
    return SqliteHubStore(url.removeprefix("sqlite:///").removeprefix("sqlite://"))

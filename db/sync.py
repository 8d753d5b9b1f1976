"""Sync on the laptop: reading the outbox, acknowledging pushed operations, applying pulled
ones (merge), conflicts and the sync state. Pure data layer: operations are plain dicts (the
wire format is in :mod:`kiosk.sync.protocol`, the HTTP client in :mod:`kiosk.sync.client`).

An operation dict has ``op_id, hlc, entity, entity_id, kind, payload (dict), base_version,
field_bases (dict | None), schema_version, worker_id, device_id``.

Merging is generic, driven by :data:`db.replication.ENTITIES`:

* ``append`` entities: an insert is applied if the row is not there (set union by id).
* ``lww`` entities: an insert creates the row; an update is merged field by field. Each field
  has a version ``"<hlc> <device id>"`` (table ``field_versions``); the higher version wins.
  An update carries, per field, the version it overwrote (``field_bases``); when that differs
  from this replica's version of the field (and the values differ) the two edits were
  concurrent: the conflict is recorded with both values, whichever side won.

Every received operation is written to ``oplog`` whatever happens to it, and own operations
move there from the outbox when the hub acknowledges them: nothing is discarded.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from db import audit
from db.connection import SQLiteErrors
from db.context import WriteContext, get_meta, now_iso, set_meta
from db.replication import ENTITIES, Entity


def _encode(value: Any) -> str:
    return msgspec.json.encode(value).decode()


STAMP_COLUMNS = frozenset({"hlc", "worker_id", "device_id"})
#: Columns that are local to a replica and never taken from a payload.
LOCAL_COLUMNS = frozenset({"rid"})

# Keys of the sync state in the ``meta`` table.
META_HUB = "sync.hub_url"
META_TOKEN = "sync.token"
META_NAME = "sync.device_name"
META_GRIDS = "sync.grids"
META_ROLE = "sync.role"
META_CURSOR = "sync.cursor"
META_BACKFILL = "sync.backfill"
META_LAST = "sync.last_success"
META_LAST_COUNTS = "sync.last_counts"

OP_COLUMNS = (
    "op_id",
    "hlc",
    "entity",
    "entity_id",
    "kind",
    "payload",
    "base_version",
    "field_bases",
    "schema_version",
    "worker_id",
    "device_id",
)


# --- state --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncState:
    hub_url: str | None
    token: str | None
    device_name: str | None
    grids: tuple[str, ...] | None
    cursor: str | None
    last_success: str | None
    last_counts: dict[str, int]
    pending: int
    conflicts: int
    refused: int = 0

    @property
    def enrolled(self) -> bool:
        return bool(self.hub_url and self.token)


def pending_count(conn: sqlite3.Connection) -> int:
    """How many changes wait to be synced (the home screen shows this); refused ones are
    counted apart (:func:`refused_count`)."""
    return conn.execute("SELECT count(*) FROM outbox WHERE refused IS NULL").fetchone()[0]


def refused_count(conn: sqlite3.Connection) -> int:
    """How many changes the hub refused and this laptop holds (docs/sync.md)."""
    return conn.execute("SELECT count(*) FROM outbox WHERE refused IS NOT NULL").fetchone()[0]


def open_conflict_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM sync_conflicts WHERE status = 'open'").fetchone()[0]


def sync_state(conn: sqlite3.Connection) -> SyncState:
    grids = get_meta(conn, META_GRIDS)
    counts = get_meta(conn, META_LAST_COUNTS)
    return SyncState(
        hub_url=get_meta(conn, META_HUB),
        token=get_meta(conn, META_TOKEN),
        device_name=get_meta(conn, META_NAME),
        grids=None if grids in (None, "null") else tuple(json.loads(grids)),
        cursor=get_meta(conn, META_CURSOR),
        last_success=get_meta(conn, META_LAST),
        last_counts=json.loads(counts) if counts else {},
        pending=pending_count(conn),
        conflicts=open_conflict_count(conn),
        refused=refused_count(conn),
    )


def save_enrolment(
    conn: sqlite3.Connection,
    hub_url: str,
    token: str,
    name: str,
    grids: list[str] | None,
    role: str = "field",
) -> None:
    """Remember the hub and this device's token (call inside a transaction). A new
    enrolment starts pulling from the beginning of that hub's log."""
    if get_meta(conn, META_HUB) != hub_url:
        conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (META_CURSOR, META_BACKFILL))
    set_meta(conn, META_HUB, hub_url)
    set_meta(conn, META_TOKEN, token)
    set_meta(conn, META_NAME, name)
    set_meta(conn, META_GRIDS, json.dumps(grids))
    set_meta(conn, META_ROLE, role)


def record_success(conn: sqlite3.Connection, counts: dict[str, int]) -> None:
    set_meta(conn, META_LAST, now_iso())
    set_meta(conn, META_LAST_COUNTS, json.dumps(counts))


def observe_hlc(ctx: WriteContext, remote: str | None) -> None:
    """Move this device's clock past a stamp from the hub (inside a transaction)."""
    if remote:
        set_meta(ctx.conn, "hlc_last", ctx.clock.observe(remote))


# --- the outbox ---------------------------------------------------------------------------


def _op_from_row(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "op_id": row["op_id"],
        "hlc": row["hlc"],
        "entity": row["entity"],
        "entity_id": row["entity_id"],
        "kind": row["kind"],
        "payload": json.loads(row["payload"]),
        "base_version": row["base_version"],
        "field_bases": json.loads(row["field_bases"]) if row["field_bases"] else None,
        "schema_version": row["schema_version"],
        "worker_id": row["worker_id"],
        "device_id": row["device_id"],
    }


def outbox_batch(conn: sqlite3.Connection, limit: int, after_seq: int = 0) -> list[dict[str, Any]]:
    """The next operations to push, oldest first (each with its device ``seq``); refused ones
    are held back."""
    rows = conn.execute(
        "SELECT * FROM outbox WHERE seq > ? AND refused IS NULL ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [{**_op_from_row(r), "seq": r["seq"]} for r in rows]


def outbox_page(conn: sqlite3.Connection, limit: int, after_seq: int = 0) -> list[sqlite3.Row]:
    """The oldest ``limit`` outbox rows after ``after_seq`` waiting to be pushed, as stored
    (payloads left as JSON text); refused ones are held back."""
    return conn.execute(
        "SELECT * FROM outbox WHERE seq > ? AND refused IS NULL ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()


# --- refused changes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """A change the hub refused, held in the outbox with the hub's reason."""

    seq: int
    op_id: str
    entity: str
    entity_id: str
    kind: str
    payload: dict[str, Any]
    worker_id: str | None
    hlc: str
    code: str
    params: dict[str, str]
    message: str
    refused_at: str


def hold(conn: sqlite3.Connection, refusals: Iterable[tuple[str, str, dict[str, str], str]]) -> int:
    """Hold back the outbox operations the hub refused: (op id, code, params, hub's message).
    They stay in the outbox (the audit trail, an erasure and a bundle still see them) but are
    not pushed again until released. Returns how many were held."""
    at = now_iso()
    rows = [
        (_encode({"code": code, "params": params, "message": message, "at": at}), op_id)
        for op_id, code, params, message in refusals
    ]
    if not rows:
        return 0
    return conn.executemany("UPDATE outbox SET refused = ? WHERE op_id = ?", rows).rowcount


def held_changes(conn: sqlite3.Connection, limit: int = 500, offset: int = 0) -> list[Held]:
    rows = conn.execute(
        "SELECT * FROM outbox WHERE refused IS NOT NULL ORDER BY seq LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    out = []
    for r in rows:
        why = json.loads(r["refused"])
        out.append(
            Held(
                r["seq"],
                r["op_id"],
                r["entity"],
                r["entity_id"],
                r["kind"],
                json.loads(r["payload"]),
                r["worker_id"],
                r["hlc"],
                str(why.get("code", "")),
                dict(why.get("params") or {}),
                str(why.get("message", "")),
                str(why.get("at", "")),
            )
        )
    return out


def release(conn: sqlite3.Connection, op_ids: Iterable[str] | None = None) -> int:
    """Send refused changes again at the next sync (``None``: all of them), in their order."""
    if op_ids is None:
        return conn.execute("UPDATE outbox SET refused = NULL WHERE refused IS NOT NULL").rowcount
    return conn.executemany(
        "UPDATE outbox SET refused = NULL WHERE op_id = ? AND refused IS NOT NULL",
        [(i,) for i in op_ids],
    ).rowcount


def discard(
    conn: sqlite3.Connection, op_ids: Iterable[str], *, by: str | None, note: str = ""
) -> int:
    """Give up sending refused changes: each moves from the outbox to the operation log with
    status ``discarded``, the hub's reason, who decided and why (never deleted). The change
    stays on this laptop only. Call inside a transaction."""
    audit.catch_up(conn)  # an operation leaves the outbox only once the trail records it
    now = now_iso()
    moved = 0
    for op_id in op_ids:
        row = conn.execute(
            "SELECT refused FROM outbox WHERE op_id = ? AND refused IS NOT NULL", (op_id,)
        ).fetchone()
        if row is None:
            continue
        why = json.loads(row[0])
        detail = _encode(
            {"code": why.get("code"), "params": why.get("params"), "by": by, "note": note[:500]}
        )
        conn.execute(
            f"INSERT OR IGNORE INTO oplog({', '.join(OP_COLUMNS)}, origin, status, detail,"
            f" logged_at) SELECT {', '.join(OP_COLUMNS)}, 'local', 'discarded', ?, ? FROM outbox"
            " WHERE op_id = ?",
            (detail, now, op_id),
        )
        moved += conn.execute("DELETE FROM outbox WHERE op_id = ?", (op_id,)).rowcount
    return moved


def acknowledge(conn: sqlite3.Connection, op_ids: Iterable[str]) -> int:
    """The hub holds these operations: move them from the outbox to the log (one transaction).

    Operations not yet in the audit trail get their entries first: an operation leaves the
    outbox only once the trail records it (db/audit.py).
    """
    ids = list(op_ids)
    if not ids:
        return 0
    audit.catch_up(conn)
    now = now_iso()
    moved = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        conn.execute(
            f"INSERT OR IGNORE INTO oplog({', '.join(OP_COLUMNS)}, origin, status, logged_at)"
            f" SELECT {', '.join(OP_COLUMNS)}, 'local', 'applied', ? FROM outbox"
            f" WHERE op_id IN ({marks})",
            [now, *chunk],
        )
        moved += conn.execute(f"DELETE FROM outbox WHERE op_id IN ({marks})", chunk).rowcount
    return moved


# --- applying pulled operations -------------------------------------------------------------


class _Orphan(Exception):
    """The operation's row (or its parent) has not arrived yet."""


@dataclass
class ApplyResult:
    applied: int = 0
    duplicates: int = 0
    orphans: int = 0
    failed: int = 0
    unknown: int = 0
    conflicts: int = 0
    tables: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Column:
    notnull: bool
    has_default: bool


_COLUMNS: dict[str, dict[str, _Column]] = {}


def _columns(conn: sqlite3.Connection, table: str) -> dict[str, _Column]:
    cols = _COLUMNS.get(table)
    if cols is None:
        cols = {
            r["name"]: _Column(bool(r["notnull"]), r["dflt_value"] is not None or bool(r["pk"]))
            for r in conn.execute(f"PRAGMA table_info({table})")
        }
        if cols:
            _COLUMNS[table] = cols
    return cols


def _sql_value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return int(value)
    return value


# Hooks keep derived, local data (search keys, summaries) current when rows arrive by sync.
# before(conn, entity_id, op) -> state (or SKIP); after(conn, entity_id, state).
Hook = tuple[
    Callable[[sqlite3.Connection, str, dict[str, Any]], Any],
    Callable[[sqlite3.Connection, str, Any], None],
]
#: Derived NOT NULL columns a replica computes itself on insert: table -> fill(row dict).
PREPARE_INSERT: dict[str, Callable[[dict[str, Any]], None]] = {}
APPLY_HOOKS: dict[str, Hook] = {}


def _household_prepare(row: dict[str, Any]) -> None:
    from db.forget import forgotten_address_key
    from db.normalize import address_key

    if row.get("forgotten_at"):  # created already erased (the hub scrubbed its insert)
        row["address_key"] = forgotten_address_key(row["id"])
    row.setdefault(
        "address_key",
        address_key(row.get("building", ""), row.get("unit", ""), row.get("room", "")),
    )


#: Returned by a before-hook when the change touches nothing derived (the after-hook is skipped).
SKIP = object()
_ADDRESS = frozenset({"building", "unit", "room"})
_MEMBER_TERMS = frozenset({"name", "phone", "relation", "position", "household_id", "status"})


def _household_terms(conn: sqlite3.Connection, household_id: str) -> tuple[int, set[str]] | None:
    from db.households import _current_terms

    if conn.execute("SELECT 1 FROM households WHERE id = ?", (household_id,)).fetchone() is None:
        return None
    return _current_terms(conn, household_id)


def _household_before(conn: sqlite3.Connection, hid: str, op: dict[str, Any]) -> Any:
    if op["kind"] == "update" and not (_ADDRESS & op["payload"].keys()):
        return SKIP  # a note or tags: no search key or address key changes
    return _household_terms(conn, hid)


def _household_after(conn: sqlite3.Connection, hid: str, state: Any) -> None:
    from db.households import _sync_terms
    from db.normalize import address_key

    row = conn.execute(
        "SELECT building, unit, room, forgotten_at FROM households WHERE id = ?", (hid,)
    ).fetchone()
    if row[3]:
        from db.forget import forgotten_address_key

        key = forgotten_address_key(hid)
    else:
        key = address_key(row[0], row[1], row[2])
    conn.execute("UPDATE households SET address_key = ? WHERE id = ?", (key, hid))
    rid, new = _household_terms(conn, hid)  # type: ignore[misc]
    _sync_terms(conn, rid, state[1] if state else set(), new)


def _member_before(conn: sqlite3.Connection, mid: str, op: dict[str, Any]) -> Any:
    payload = op["payload"]
    if op["kind"] == "update" and not (_MEMBER_TERMS & payload.keys()):
        return SKIP
    row = conn.execute("SELECT household_id FROM members WHERE id = ?", (mid,)).fetchone()
    hid = row[0] if row else payload.get("household_id")
    if not hid:
        raise _Orphan(mid)
    state = _household_terms(conn, hid)
    if state is None:
        raise _Orphan(hid)
    return hid, state


def _member_after(conn: sqlite3.Connection, mid: str, state: Any) -> None:
    from db.households import _refresh_summary, _sync_terms

    hid, (rid, old) = state
    _refresh_summary(conn, hid)
    _, new = _household_terms(conn, hid)  # type: ignore[misc]
    _sync_terms(conn, rid, old, new)


def _compound_prepare(row: dict[str, Any]) -> None:
    # A compound made on another laptop (a roster's new 小区, a household found on the walk)
    # arrives without its pinyin, which each replica derives for search.
    from db.normalize import compound_pinyin

    row["pinyin"], row["initials"] = compound_pinyin(str(row.get("name") or ""))


def _compound_before(conn: sqlite3.Connection, cid: str, op: dict[str, Any]) -> Any:
    return None if op["kind"] == "update" and "name" in op["payload"] else SKIP


def _compound_after(conn: sqlite3.Connection, cid: str, state: Any) -> None:
    from db.normalize import compound_pinyin

    row = conn.execute("SELECT name FROM compounds WHERE id = ?", (cid,)).fetchone()
    if row is not None:
        full, initials = compound_pinyin(row[0])
        conn.execute(
            "UPDATE compounds SET pinyin = ?, initials = ? WHERE id = ?", (full, initials, cid)
        )


PREPARE_INSERT["households"] = _household_prepare
PREPARE_INSERT["compounds"] = _compound_prepare
APPLY_HOOKS["households"] = (_household_before, _household_after)
APPLY_HOOKS["members"] = (_member_before, _member_after)
APPLY_HOOKS["compounds"] = (_compound_before, _compound_after)


def _version(op: dict[str, Any]) -> str:
    return f"{op['hlc']} {op['device_id']}"


def _apply_insert(conn: sqlite3.Connection, ent: Entity, op: dict[str, Any], now: str) -> str:
    cols = _columns(conn, ent.table)
    if not cols:
        return "unknown"
    if conn.execute(
        f"SELECT 1 FROM {ent.table} WHERE {ent.key} = ?", (op["entity_id"],)
    ).fetchone():
        return "duplicate"
    row = {
        k: _sql_value(v)
        for k, v in op["payload"].items()
        if k in cols and k not in STAMP_COLUMNS and k not in LOCAL_COLUMNS
    }
    row[ent.key] = op["entity_id"]
    prepare = PREPARE_INSERT.get(ent.table)
    if prepare:
        prepare(row)
    for name, col in cols.items():
        if col.notnull and not col.has_default and name not in row and name not in STAMP_COLUMNS:
            if name.endswith("_at"):
                row[name] = now
    row.update(hlc=op["hlc"], worker_id=op["worker_id"], device_id=op["device_id"])
    hook = APPLY_HOOKS.get(ent.table)
    state = hook[0](conn, op["entity_id"], op) if hook else SKIP
    names = list(row)
    try:
        # One statement: if it fails (a parent missing, a CHECK), it leaves nothing behind.
        conn.execute(
            f"INSERT INTO {ent.table}({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [row[n] for n in names],
        )
    except SQLiteErrors.integrity as exc:
        if "FOREIGN KEY" in str(exc):
            raise _Orphan(op["entity_id"]) from exc
        raise
    if hook and state is not SKIP:
        hook[1](conn, op["entity_id"], state)
    return "applied"


def _apply_update(
    conn: sqlite3.Connection, ent: Entity, op: dict[str, Any], result: ApplyResult, now: str
) -> str:
    cols = _columns(conn, ent.table)
    if not cols:
        return "unknown"
    row = conn.execute(
        f"SELECT * FROM {ent.table} WHERE {ent.key} = ?", (op["entity_id"],)
    ).fetchone()
    if row is None:
        raise _Orphan(op["entity_id"])
    versions = dict(
        conn.execute(
            "SELECT field, version FROM field_versions WHERE entity = ? AND entity_id = ?",
            (op["entity"], op["entity_id"]),
        ).fetchall()
    )
    bases = op.get("field_bases") or {}
    remote = _version(op)
    sets: dict[str, Any] = {}
    won: list[tuple] = []
    conflicts: list[tuple] = []
    for name, raw in op["payload"].items():
        if name not in cols or name in STAMP_COLUMNS or name in LOCAL_COLUMNS or name == ent.key:
            continue
        value = _sql_value(raw)
        local = versions.get(name)
        wins = local is None or remote > local
        if local is not None and local != bases.get(name) and row[name] != value:
            conflicts.append(
                (
                    op["entity"],
                    op["entity_id"],
                    name,
                    json.dumps(row[name], ensure_ascii=False),
                    local,
                    json.dumps(value, ensure_ascii=False),
                    remote,
                    op["op_id"],
                    "remote" if wins else "local",
                    now,
                )
            )
        if wins:
            won.append((op["entity"], op["entity_id"], name, remote))
            if row[name] != value:
                sets[name] = value
    if won:
        # The row's stamp and author are those of the highest (HLC, device) operation that won
        # a field, on every replica alike (the stamp is the base_version of the next local
        # edit). The row is written first: if that fails, nothing else of this op was.
        hook = APPLY_HOOKS.get(ent.table)
        state = hook[0](conn, op["entity_id"], op) if hook and sets else SKIP
        assignments = "".join(f"{k} = :f_{k}, " for k in sets)
        extra = "updated_at = :f__now, " if "updated_at" in cols and sets else ""
        params: dict[str, Any] = {f"f_{k}": v for k, v in sets.items()}
        params["f__now"] = now
        conn.execute(
            f"UPDATE {ent.table} SET {assignments}{extra}"
            "worker_id = CASE WHEN :v > hlc || ' ' || device_id THEN :w ELSE worker_id END,"
            " device_id = CASE WHEN :v > hlc || ' ' || device_id THEN :d ELSE device_id END,"
            f" hlc = CASE WHEN :v > hlc || ' ' || device_id THEN :h ELSE hlc END WHERE {ent.key} = :id",
            {
                **params,
                "v": remote,
                "w": op["worker_id"],
                "d": op["device_id"],
                "h": op["hlc"],
                "id": op["entity_id"],
            },
        )
        if hook and state is not SKIP:
            hook[1](conn, op["entity_id"], state)
        conn.executemany(
            "INSERT INTO field_versions(entity, entity_id, field, version) VALUES (?,?,?,?)"
            " ON CONFLICT(entity, entity_id, field) DO UPDATE SET version = excluded.version",
            won,
        )
    if conflicts:
        conn.executemany(
            "INSERT OR IGNORE INTO sync_conflicts(entity, entity_id, field, local_value,"
            " local_version, remote_value, remote_version, remote_op_id, winner, detected_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            conflicts,
        )
        result.conflicts += len(conflicts)
    return "applied"


def _apply_one(
    conn: sqlite3.Connection, op: dict[str, Any], result: ApplyResult, now: str
) -> tuple[str, str | None]:
    ent = ENTITIES.get(op["entity"])
    if ent is None:
        return "unknown", "entity not known to this version"
    try:
        if op["kind"] in ("insert", "append"):
            status = _apply_insert(conn, ent, op, now)
        elif op["kind"] == "update" and ent.policy == "lww":
            status = _apply_update(conn, ent, op, result, now)
        else:
            return "failed", f"{op['kind']} is not applicable to a {ent.policy} entity"
    except _Orphan:
        return "orphan", None
    except SQLiteErrors.integrity as exc:
        return "failed", str(exc)[:200]
    if status == "applied":
        result.tables.add(ent.table)
    return status, None


def _count(result: ApplyResult, status: str) -> None:
    if status == "applied":
        result.applied += 1
    elif status == "duplicate":
        result.duplicates += 1
    elif status == "orphan":
        result.orphans += 1
    elif status == "unknown":
        result.unknown += 1
    else:
        result.failed += 1


def apply_ops(conn: sqlite3.Connection, ops: list[dict[str, Any]]) -> ApplyResult:
    """Merge operations from the hub, in order (call inside a transaction).

    Operations already seen (in the log or in this device's own outbox) are skipped, so a
    batch that arrives twice changes nothing the second time.

    A household's erasure (an update setting ``forgotten_at``, db/forget.py) erases what this
    replica holds of it once applied; operations that concern a forgotten household, its
    members or visits (edits made elsewhere before the erasure reached them) are scrubbed
    before they are applied and logged.
    """
    from db import forget

    result = ApplyResult()
    forgotten = forget.forgotten_ids(conn)
    erasures: list[forget.Erasure] = []
    now = now_iso()
    seen: set[str] = set()
    ids = [op["op_id"] for op in ops]
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        seen.update(
            r[0]
            for r in conn.execute(
                f"SELECT op_id FROM oplog WHERE op_id IN ({marks})"
                f" UNION ALL SELECT op_id FROM outbox WHERE op_id IN ({marks})",
                chunk + chunk,
            )
        )
    log: list[tuple] = []
    applied_any = False
    for op in ops:
        if op["op_id"] in seen:
            result.duplicates += 1
            continue
        seen.add(op["op_id"])
        if forgotten and forget.touches(op, forgotten):
            op = forget.scrub_op(op)
            if op["kind"] in ("insert", "append") and op["entity"] in ("member", "visit"):
                forgotten.add(op["entity_id"])
                forget.remember(conn, [op["entity_id"]])
        status, detail = _apply_one(conn, op, result, now)
        if (
            status == "applied"
            and op["entity"] == "household"
            and op["payload"].get("forgotten_at")
        ):
            erasure = _erase_if_forgotten(conn, op["entity_id"])
            if erasure is not None:
                erasures.append(erasure)
                forgotten = forget.forgotten_ids(conn)
        _count(result, status)
        applied_any = applied_any or status == "applied"
        fb = op.get("field_bases")
        log.append(
            (
                op["op_id"],
                op["hlc"],
                op["entity"],
                op["entity_id"],
                op["kind"],
                _encode(op["payload"]),
                op.get("base_version"),
                _encode(fb) if fb else None,
                op["schema_version"],
                op.get("worker_id"),
                op["device_id"],
                status,
                detail,
                now,
            )
        )
    conn.executemany(
        f"INSERT INTO oplog({', '.join(OP_COLUMNS)}, origin, status, detail, logged_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,'hub',?,?,?)",
        log,
    )
    if (
        applied_any
        and conn.execute("SELECT 1 FROM oplog WHERE status = 'orphan' LIMIT 1").fetchone()
    ):
        _retry_orphans(conn, result, now)
    for erasure in erasures:  # now that this page's operations are in the log too
        forget.scrub_logs(conn, erasure)
    return result


def _erase_if_forgotten(conn: sqlite3.Connection, household_id: str) -> Any:
    """Erase the household's personal data on this replica if its ``forgotten_at`` is set."""
    from db import forget

    row = conn.execute(
        "SELECT forgotten_at FROM households WHERE id = ?", (household_id,)
    ).fetchone()
    if row is None or not row[0]:
        return None
    return forget.erase(conn, household_id, forgotten_at=row[0])


def _retry_orphans(conn: sqlite3.Connection, result: ApplyResult, now: str) -> None:
    """Apply operations that arrived before their row, now that more rows are here."""
    while True:
        rows = conn.execute("SELECT * FROM oplog WHERE status = 'orphan' ORDER BY hlc").fetchall()
        progress = False
        for r in rows:
            op = _op_from_row(r)
            status, detail = _apply_one(conn, op, result, now)
            if status != "orphan":
                progress = True
                result.orphans -= 1
                _count(result, status)
                conn.execute(
                    "UPDATE oplog SET status = ?, detail = ? WHERE op_id = ?",
                    (status, detail, op["op_id"]),
                )
        if not progress:
            return


def apply_pull(
    conn: sqlite3.Connection, ops: list[dict[str, Any]], cursor: str | None
) -> ApplyResult:
    """Apply a pulled page and save the pull cursor, in one transaction."""
    from db.connection import transaction

    with transaction(conn):
        result = apply_ops(conn, ops)
        if cursor is not None:
            set_meta(conn, META_CURSOR, cursor)
    return result


# --- conflicts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    id: int
    entity: str
    entity_id: str
    field: str
    local_value: Any
    remote_value: Any
    local_version: str
    remote_version: str
    winner: str
    status: str
    resolution: str | None
    detected_at: str

    @property
    def current_value(self) -> Any:
        return self.remote_value if self.winner == "remote" else self.local_value


def _conflict(row: sqlite3.Row) -> Conflict:
    return Conflict(
        row["id"],
        row["entity"],
        row["entity_id"],
        row["field"],
        json.loads(row["local_value"]),
        json.loads(row["remote_value"]),
        row["local_version"],
        row["remote_version"],
        row["winner"],
        row["status"],
        row["resolution"],
        row["detected_at"],
    )


def list_conflicts(
    conn: sqlite3.Connection, *, status: str = "open", limit: int = 50, offset: int = 0
) -> list[Conflict]:
    rows = conn.execute(
        "SELECT * FROM sync_conflicts WHERE status = ? ORDER BY id LIMIT ? OFFSET ?",
        (status, limit, offset),
    ).fetchall()
    return [_conflict(r) for r in rows]


def get_conflict(conn: sqlite3.Connection, conflict_id: int) -> Conflict | None:
    row = conn.execute("SELECT * FROM sync_conflicts WHERE id = ?", (conflict_id,)).fetchone()
    return _conflict(row) if row else None


RESOLUTIONS = ("mine", "theirs", "edit")


def resolve_conflict(ctx: WriteContext, conflict_id: int, choice: str, value: Any = None) -> bool:
    """Settle a conflict: keep mine, keep theirs, or an edited value (inside a transaction).

    When the chosen value differs from the current one it is written as an ordinary local
    edit (stamped, logged to the outbox), so it reaches every replica as a successor of both
    concurrent values. Returns True when a write was made.
    """
    if choice not in RESOLUTIONS:
        raise ValueError(choice)
    c = get_conflict(ctx.conn, conflict_id)
    if c is None:
        raise KeyError(conflict_id)
    target = {"mine": c.local_value, "theirs": c.remote_value, "edit": value}[choice]
    ent = ENTITIES[c.entity]
    row = ctx.conn.execute(
        f"SELECT * FROM {ent.table} WHERE {ent.key} = ?", (c.entity_id,)
    ).fetchone()
    wrote = False
    if row is not None and row[c.field] != target:
        wrote = _write_field(ctx, c.entity, ent, row, c.field, target)
    ctx.conn.execute(
        "UPDATE sync_conflicts SET status = 'resolved', resolution = ?, resolved_at = ?"
        " WHERE status = 'open' AND entity = ? AND entity_id = ? AND field = ?",
        (choice, now_iso(), c.entity, c.entity_id, c.field),
    )
    return wrote


def _write_field(
    ctx: WriteContext, entity: str, ent: Entity, row: sqlite3.Row, name: str, value: Any
) -> bool:
    from db import households

    if entity == "household" and name in households.HOUSEHOLD_FIELDS:
        return households.update_household(ctx, row[ent.key], **{name: value})
    if entity == "member" and name in households.MEMBER_FIELDS:
        return households.update_member(ctx, row[ent.key], **{name: value})
    hlc = ctx.stamp()
    extra = ", updated_at = :now" if "updated_at" in row.keys() else ""
    ctx.conn.execute(
        f"UPDATE {ent.table} SET {name} = :v{extra}, hlc = :hlc, worker_id = :w, device_id = :d"
        f" WHERE {ent.key} = :id",
        {
            "v": value,
            "now": now_iso(),
            "hlc": hlc,
            "w": ctx.worker_id,
            "d": ctx.device_id,
            "id": row[ent.key],
        },
    )
    ctx.emit(entity, row[ent.key], "update", {name: value}, hlc, base_version=row["hlc"])
    return True

"""The audit trail: who did what, when, from which device (docs/security.md).

Entries are append-only (triggers refuse UPDATE and DELETE) and each device's entries form a
hash chain: ``hash = sha256(canonical JSON of prev_hash and the entry's fields)``, ``dseq``
counting from 1. ``detail`` carries ids, field names and counts, never a personal value, so
the trail itself holds no personal data and survives ``households forget``.

Two kinds of entries:

* **Recorded** (:func:`record`, ``ctx.audit``): lookups, exports, prints, sign-ins, forget
  requests, each inside the transaction of what it records.
* **Derived from the outbox** (:func:`catch_up`): every create and change of replicated data
  is already an outbox operation (who, when, which device, which entity, which fields), so
  the trail's ``create``/``change`` entries are written from those operations in batches:
  every :data:`CATCH_UP_EVERY` operations of a write context (the operations of the write
  in progress are left to the next batch), before any recorded entry (so the chain stays in
  time order), before acknowledged operations leave the outbox, and before the trail is
  read or pushed. A record created together with its children is one entry naming them.
  The entry's id is the operation's id and its time the operation's HLC time, so nothing
  is lost by waiting: the operation stays in the outbox until its entry is written.

What it costs (``python -m bench audit``, docs/security.md#what-it-costs): writing a write's
entries inside its own transaction cost 30-40 % of a household edit (a row in a table with
its indexes, a commit's worth of extra pages, for a write of ~170 us). Batched, what is left
is per entry (the hash, the insert, the operation read back) and per batch (the chain's
tail, the mark, and at commit the last page of the table and of each index written again,
however few entries the batch added): 256 operations a batch rather than 64 quarters the
second at the price of one write in 256 taking ~2 ms longer. A writer's own account of the
operations it emitted (:func:`operation`, kept by db/context.py) spares reading each payload
back; and the trail keeps no index by household (m0013).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import msgspec

from db.hlc import now_iso
from db.ids import uuid7
from db.transaction import transaction

GENESIS = "0" * 64
#: meta key: the highest outbox ``seq`` whose operation is in the trail.
META_AUDITED = "audit_outbox_seq"
#: meta key: this device's ``dseq`` up to which the hub holds the trail.
META_PUSHED = "audit_pushed_dseq"
#: Operations a write context emits before it writes their entries (in the same transaction
#: as the operation that reaches the count).
CATCH_UP_EVERY = 256
#: The actions (``detail`` is JSON; keys per action are listed in docs/security.md).
ACTIONS = ("create", "change", "delete", "lookup", "export", "print", "forget", "signin", "discard")

# Compact JSON, non-ASCII kept as UTF-8: byte for byte what
# ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` writes, ten times faster.
_encode = msgspec.json.Encoder().encode
_encode_sorted = msgspec.json.Encoder(order="sorted").encode
_INSERT = (
    "INSERT INTO audit(id, device_id, dseq, at, worker_id, action, entity, entity_id,"
    " household_id, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)
_KIND_ACTION = {"insert": "create", "append": "create", "update": "change", "delete": "delete"}


def entry_hash(
    prev_hash: str,
    entry_id: str,
    device_id: str,
    dseq: int,
    at: str,
    worker_id: str | None,
    action: str,
    entity: str | None,
    entity_id: str | None,
    household_id: str | None,
    detail: str,
) -> str:
    """The chain hash of one entry (``detail`` as stored: its JSON text)."""
    doc = _encode(
        [
            prev_hash,
            entry_id,
            device_id,
            dseq,
            at,
            worker_id,
            action,
            entity,
            entity_id,
            household_id,
            detail,
        ]
    )
    return hashlib.sha256(doc).hexdigest()


def detail_text(detail: dict[str, Any] | None) -> str:
    """``detail`` as stored: canonical JSON (sorted keys, compact, UTF-8)."""
    return json.dumps(detail or {}, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def tail(conn: sqlite3.Connection, device_id: str) -> tuple[int, str]:
    """The last ``(dseq, hash)`` of ``device_id``'s chain; ``(0, GENESIS)`` when empty."""
    last = conn.execute(
        "SELECT dseq, hash FROM audit WHERE device_id = ? ORDER BY dseq DESC LIMIT 1", (device_id,)
    ).fetchone()
    return (last[0], last[1]) if last else (0, GENESIS)


def record(
    conn: sqlite3.Connection,
    *,
    device_id: str,
    worker_id: str | None,
    action: str,
    entity: str | None = None,
    entity_id: str | None = None,
    household_id: str | None = None,
    detail: dict[str, Any] | None = None,
    at: str | None = None,
    known: dict[str, Operation] | None = None,
) -> str:
    """Append one entry to this device's chain; returns its id.

    Call it inside the transaction of the write it records, so both commit or neither does.
    Outbox operations not yet in the trail are written first (:func:`catch_up`), so the
    chain stays in the order things happened.
    """
    with transaction(conn):
        catch_up(conn, known=known)
        dseq, prev = tail(conn, device_id)
        dseq += 1
        entry_id, at = uuid7(), at or now_iso()
        text = detail_text(detail)
        digest = entry_hash(
            prev,
            entry_id,
            device_id,
            dseq,
            at,
            worker_id,
            action,
            entity,
            entity_id,
            household_id,
            text,
        )
        conn.execute(
            _INSERT,
            (
                entry_id,
                device_id,
                dseq,
                at,
                worker_id,
                action,
                entity,
                entity_id,
                household_id,
                text,
                prev,
                digest,
            ),
        )
    return entry_id


# --- create/change entries from the outbox --------------------------------------------------


class _Households:
    """Which household a record belongs to, for entries whose operation does not say: one
    indexed query per record at most, remembered for the batch."""

    #: entity -> SQL giving its household (the record itself or through its parent); a
    #: community feedback belongs to no household (tests/test_audit.py prepares each query)
    SQL = {
        "member": "SELECT household_id FROM members WHERE id = ?",
        "visit": "SELECT household_id FROM visits WHERE id = ?",
        "visit_item": "SELECT v.household_id FROM visit_items i JOIN visits v"
        " ON v.id = i.visit_id WHERE i.id = ?",
        "case": "SELECT household_id FROM case_households WHERE case_id = ? ORDER BY hlc LIMIT 1",
        "case_event": "SELECT l.household_id FROM case_events e JOIN case_households l"
        " ON l.case_id = e.case_id WHERE e.id = ? ORDER BY l.hlc LIMIT 1",
        "case_household": "SELECT household_id FROM case_households WHERE id = ?",
        "label": "SELECT COALESCE(l.household_id, (SELECT household_id FROM case_households"
        " WHERE case_id = l.case_id ORDER BY hlc LIMIT 1)) FROM labels l WHERE l.id = ?",
        "survey_response": "SELECT household_id FROM survey_responses WHERE id = ?",
    }
    #: a payload field naming a parent record -> the parent's entity
    PARENTS = (("case_id", "case"), ("visit_id", "visit"), ("member_id", "member"))

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.known: dict[tuple[str, str], str | None] = {}

    def of(self, entity: str, entity_id: str, payload: Mapping[str, Any]) -> str | None:
        if entity == "household":
            return entity_id
        hid = payload.get("household_id")
        if isinstance(hid, str) and hid:
            self.known[(entity, entity_id)] = hid
            return hid
        for key, parent in self.PARENTS:
            ref = payload.get(key)
            if isinstance(ref, str) and ref and parent in self.SQL:
                found = self.lookup(parent, ref)
                if found:
                    self.known[(entity, entity_id)] = found
                    return found
        return self.lookup(entity, entity_id)

    def lookup(self, entity: str, entity_id: str) -> str | None:
        key = (entity, entity_id)
        if key not in self.known:
            sql = self.SQL.get(entity)
            row = self.conn.execute(sql, (entity_id,)).fetchone() if sql else None
            self.known[key] = row[0] if row else None
        return self.known[key]


def household_of(
    conn: sqlite3.Connection, entity: str, entity_id: str, payload: dict[str, Any]
) -> str | None:
    """The household a record belongs to (itself, or through its parents), if any."""
    return _Households(conn).of(entity, entity_id, payload)


def _at_of(hlc: str, quarters: dict[int, tuple[str, tuple[str, ...], str]]) -> str:
    """The ISO time (local offset, seconds) of an HLC stamp's wall clock: what
    ``datetime.fromtimestamp(s, UTC).astimezone().isoformat(timespec="seconds")`` writes, at
    a tenth of its cost (a batch writes one per entry). ``quarters``: quarter hour -> its
    local "YYYY-MM-DDTHH:", the "MM:SS" of each of its seconds and its offset text; offsets
    change only on quarter hours (every zone's offset is a multiple of 15 minutes), so within
    one the local time is the quarter's plus the seconds since."""
    second = int(hlc[:15]) // 1000
    quarter, into = divmod(second, 900)
    known = quarters.get(quarter)
    if known is None:
        local = time.localtime(quarter * 900)
        offset = local.tm_gmtoff
        sign, minutes = ("+" if offset >= 0 else "-"), abs(offset) // 60
        known = quarters[quarter] = (
            time.strftime("%Y-%m-%dT%H:", local),
            _CLOCK_FACES.get(local.tm_min) or _clock_face(local.tm_min),
            f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
        )
    hour, face, zone = known
    return hour + face[into] + zone


#: a quarter's first minute -> "MM:SS" for each of its 900 seconds (a few distinct minutes
#: in any trail: 0, 15, 30 and 45 in every zone of today)
_CLOCK_FACES: dict[int, tuple[str, ...]] = {}


def _clock_face(minute: int) -> tuple[str, ...]:
    face = _CLOCK_FACES[minute] = tuple(
        f"{minute + into // 60:02d}:{into % 60:02d}" for into in range(900)
    )
    return face


def pending_seq(conn: sqlite3.Connection) -> int:
    """The outbox ``seq`` up to which operations are in the trail."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_AUDITED,)).fetchone()
    return int(row[0]) if row else 0


#: A record created together with its parent is named in the parent's entry (``detail``
#: ``with``) instead of having its own: created by the same worker on the same device within
#: TOGETHER_MS of a parent created in the same batch, and of the same household (or of none).
#: A visit with its items and the cases it registers is one entry, a household with its
#: members one entry. Changes always have their own entries.
PARENT_FIELDS = (("case_id", "case"), ("visit_id", "visit"), ("household_id", "household"))
TOGETHER_MS = 250
#: The payload fields an entry is placed by: its household and the records it belongs to.
REF_FIELDS = ("household_id", "case_id", "visit_id", "member_id")

# payload keys -> (the field names an entry lists, sorted, without ``id``; the
# :data:`REF_FIELDS` among the keys). Payload keys are the code's field names: they repeat,
# so an operation's shape is worked out once, and most writes (a household's or a member's
# change) carry no reference field at all.
_SHAPES: dict[tuple[str, ...], tuple[list[str], tuple[str, ...]]] = {}
#: The references of an operation that has none: one shared, read-only mapping.
_NO_REFS: Mapping[str, Any] = MappingProxyType({})


def _shape(keys: tuple[str, ...]) -> tuple[list[str], tuple[str, ...]]:
    if len(_SHAPES) > 4096:  # a bound, not a need
        _SHAPES.clear()
    shape = _SHAPES[keys] = (
        sorted(k for k in keys if k != "id"),
        tuple(k for k in REF_FIELDS if k in keys),
    )
    return shape


#: An operation as :func:`catch_up` reads it: ``(seq, op_id, hlc, entity, entity_id, kind,
#: worker_id, device_id, field names, {ref field: value})``.
Operation = tuple[int, str, str, str, str, str, str | None, str, list[str], Mapping[str, Any]]


def operation(
    seq: int,
    op_id: str,
    hlc: str,
    entity: str,
    entity_id: str,
    kind: str,
    worker_id: str | None,
    device_id: str,
    payload: Any,
) -> Operation:
    """What the trail needs of one outbox operation, from its payload (decoded). Every write
    the trail records calls this once, so it does no more than it must."""
    if not isinstance(payload, dict):
        payload = {}
    keys = tuple(payload)
    names, ref_keys = _SHAPES.get(keys) or _shape(keys)
    refs = {k: v for k in ref_keys if isinstance(v := payload[k], str)} if ref_keys else _NO_REFS
    return (seq, op_id, hlc, entity, entity_id, kind, worker_id, device_id, names, refs)


_OUTBOX_COLUMNS = "seq, op_id, hlc, entity, entity_id, kind, worker_id, device_id, payload"


def _operations(
    conn: sqlite3.Connection, after: int, known: dict[str, Operation] | None
) -> Generator[Operation, None, None]:
    """The outbox operations after ``after`` in order, read lazily (a batch that stops at
    ``before`` reads no further: a bulk import keeps thousands pending).

    ``known``: operations as their writer described them when it emitted them (op id ->
    :data:`Operation`); one is used when the outbox row with its ``seq`` has its id, so an
    operation rolled back (its ``seq`` reused) is never believed. The others are read and
    their payloads decoded: reading and decoding every payload again was a third of a
    batch's cost for a visit."""
    decode = msgspec.json.decode
    cur, one = conn.cursor(), conn.cursor()
    cur.row_factory = one.row_factory = None  # plain tuples
    if known:
        cur.execute("SELECT seq, op_id FROM outbox WHERE seq > ? ORDER BY seq", (after,))
    else:
        cur.execute(f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE seq > ? ORDER BY seq", (after,))
    try:
        for row in cur:
            if known:
                hint = known.get(row[1])
                if hint is not None and hint[0] == row[0]:
                    yield hint
                    continue
                row = one.execute(
                    f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE seq = ?", (row[0],)
                ).fetchone()
            try:
                payload = decode(row[8])
            except msgspec.DecodeError:
                payload = {}
            seq, op_id, hlc, entity, entity_id, kind, worker_id, device_id = row[:8]
            yield operation(seq, op_id, hlc, entity, entity_id, kind, worker_id, device_id, payload)
    finally:
        cur.close()
        one.close()


def catch_up(
    conn: sqlite3.Connection,
    *,
    before: str | None = None,
    known: dict[str, Operation] | None = None,
) -> int:
    """Write the entries of outbox operations not yet in the trail; returns how many.

    ``before`` (an HLC stamp): stop at the first operation stamped at or after it, so a
    batch taken in the middle of a write leaves that write's operations (all stamped within
    :data:`TOGETHER_MS`) to the next batch, whole. ``known``: the writer's own description
    of the operations it emitted (see :func:`_operations`); those written, and any left
    behind by a rollback, are removed from it.

    One entry per operation, or per record created with its children (:data:`PARENT_FIELDS`):
    its id is the operation's id, its time the operation's HLC time, its worker and device
    the operation's, ``detail`` the names of the fields written (``{"fields": [...]}``) and
    the ids of the records created with it (``"with": {entity: [ids]}``), never a value.
    Call inside a transaction (the entries and the moved mark commit together).
    """
    start = after = pending_seq(conn)
    households = _Households(conn)
    # [op_id, hlc, worker, device, action, entity, entity_id, household_id, field names,
    #  records created with it (entity -> ids) or None]
    pending: list[list[Any]] = []
    #: (entity, id) created in this batch -> (its entry's index, HLC ms, worker, device)
    created: dict[tuple[str, str], tuple[int, int, str | None, str]] = {}
    operations = _operations(conn, after, known)
    for seq, op_id, hlc, entity, entity_id, kind, worker_id, device_id, names, refs in operations:
        if before is not None and hlc >= before:
            break
        after = seq
        own = entity_id if entity == "household" else refs.get("household_id")
        action = _KIND_ACTION.get(kind, "change")
        if action == "create":
            ms = int(hlc[:15])
            root = None
            if created:
                for key, parent in PARENT_FIELDS:
                    ref = refs.get(key)
                    found = created.get((parent, ref)) if ref is not None else None
                    if (
                        found is not None
                        and found[2] == worker_id
                        and found[3] == device_id
                        and abs(ms - found[1]) < TOGETHER_MS
                        and own in (None, pending[found[0]][7])
                    ):
                        root = found[0]
                        break
            if root is not None:
                together = pending[root][9] = pending[root][9] or {}
                together.setdefault(entity, []).append(entity_id)
                created[(entity, entity_id)] = (root, ms, worker_id, device_id)
                households.known[(entity, entity_id)] = pending[root][7]
                continue
            created[(entity, entity_id)] = (len(pending), ms, worker_id, device_id)
        household_id = own if own is not None else households.of(entity, entity_id, refs)
        if entity != "household":  # a household is its own; never looked up
            households.known[(entity, entity_id)] = household_id
        pending.append(
            [op_id, hlc, worker_id, device_id, action, entity, entity_id, household_id, names, None]
        )
    operations.close()
    if known:
        for op_id in [k for k, hint in known.items() if hint[0] <= after]:
            del known[op_id]
    if not pending:
        if after != start:  # nothing to enter, but the operations are past
            _mark(conn, after)
        return 0
    encode, sha256 = _encode, hashlib.sha256
    tails: dict[str, tuple[int, str]] = {}
    quarters: dict[int, tuple[str, tuple[str, ...], str]] = {}
    texts: dict[int, str] = {}  # id(field names) -> detail text (the list is shared)
    entries = []
    for (
        op_id,
        hlc,
        worker_id,
        device_id,
        action,
        entity,
        entity_id,
        household_id,
        names,
        together,
    ) in pending:
        if together:
            text = encode(
                {"fields": names, "with": {k: together[k] for k in sorted(together)}}
            ).decode()
        else:
            known_text = texts.get(id(names))
            if known_text is None:
                known_text = texts[id(names)] = encode({"fields": names}).decode()
            text = known_text
        dseq, prev = tails.get(device_id) or tail(conn, device_id)
        dseq += 1
        at = _at_of(hlc, quarters)
        # entry_hash(), inlined: this loop is most of the audit's cost per write
        digest = sha256(
            encode(
                [
                    prev,
                    op_id,
                    device_id,
                    dseq,
                    at,
                    worker_id,
                    action,
                    entity,
                    entity_id,
                    household_id,
                    text,
                ]
            )
        ).hexdigest()
        entries.append(
            (
                op_id,
                device_id,
                dseq,
                at,
                worker_id,
                action,
                entity,
                entity_id,
                household_id,
                text,
                prev,
                digest,
            )
        )
        tails[device_id] = (dseq, digest)
    conn.executemany(_INSERT, entries)
    _mark(conn, after)
    return len(entries)


def _mark(conn: sqlite3.Connection, seq: int) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key)"
        " DO UPDATE SET value = excluded.value",
        (META_AUDITED, str(seq)),
    )


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    seq: int
    id: str
    device_id: str
    dseq: int
    at: str
    worker_id: str | None
    action: str
    entity: str | None
    entity_id: str | None
    household_id: str | None
    detail: str
    prev_hash: str
    hash: str

    @property
    def details(self) -> dict[str, Any]:
        try:
            value = json.loads(self.detail)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


_CHAIN_COLUMNS = (
    "id, device_id, dseq, at, worker_id, action, entity, entity_id, household_id,"
    " detail, prev_hash, hash"
)
_COLUMNS = (
    "seq, id, device_id, dseq, at, worker_id, action, entity, entity_id, household_id,"
    " detail, prev_hash, hash"
)


def list_entries(
    conn: sqlite3.Connection,
    *,
    worker_id: str | None = None,
    household_id: str | None = None,
    since: str | None = None,
    limit: int = 50,
) -> list[Entry]:
    """Entries newest first (by local order of arrival), filtered by worker, household and
    time (``since``: an ISO date or time; entries at or after it)."""
    where, params = [], []
    if worker_id is not None:
        where.append("worker_id = ?")
        params.append(worker_id)
    if household_id is not None:
        where.append("household_id = ?")
        params.append(household_id)
    if since is not None:
        where.append("at >= ?")
        params.append(since)
    sql = f"SELECT {_COLUMNS} FROM audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC LIMIT ?"
    return [Entry(*r) for r in conn.execute(sql, [*params, limit])]


def entries_after(
    conn: sqlite3.Connection, device_id: str, after_dseq: int, limit: int
) -> list[Entry]:
    """``device_id``'s entries after ``after_dseq``, in chain order (for the hub)."""
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples: a sync reads thousands
    return [
        Entry(*r)
        for r in cur.execute(
            f"SELECT {_COLUMNS} FROM audit WHERE device_id = ? AND dseq > ? ORDER BY dseq LIMIT ?",
            (device_id, after_dseq, limit),
        )
    ]


# --- verifying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One break in a chain. ``kind``: ``gap`` (entries ``expected``..``dseq - 1`` are
    missing), ``start`` (the chain does not start at 1), ``link`` (``prev_hash`` is not the
    previous entry's hash), ``hash`` (the entry's content does not match its hash),
    ``truncated`` (the hub holds entries up to ``expected``, this chain ends at ``dseq``)."""

    device_id: str
    dseq: int
    kind: str
    expected: int | None = None


@dataclass(frozen=True)
class Verification:
    entries: int
    devices: int
    problems: tuple[Problem, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


def check_chain(
    rows: Iterator[tuple[Any, ...]] | list[tuple[Any, ...]], start: tuple[int, str] = (0, GENESIS)
) -> Iterator[Problem]:
    """The problems of one device's entries given in ``dseq`` order, as tuples
    ``(id, device_id, dseq, at, worker_id, action, entity, entity_id, household_id, detail,
    prev_hash, hash)``, continuing from ``start`` (the ``(dseq, hash)`` before them).
    Shared with the hub, which checks a pushed batch against the last entry it holds."""
    last_dseq, last_hash = start
    for (
        entry_id,
        device_id,
        dseq,
        at,
        worker_id,
        action,
        entity,
        entity_id,
        household_id,
        detail,
        prev_hash,
        digest,
    ) in rows:
        if dseq != last_dseq + 1:
            yield Problem(device_id, dseq, "start" if last_dseq == 0 else "gap", last_dseq + 1)
        elif prev_hash != last_hash:
            yield Problem(device_id, dseq, "link")
        if (
            entry_hash(
                prev_hash,
                entry_id,
                device_id,
                dseq,
                at,
                worker_id,
                action,
                entity,
                entity_id,
                household_id,
                detail,
            )
            != digest
        ):
            yield Problem(device_id, dseq, "hash")
        last_dseq, last_hash = dseq, digest


def verify(conn: sqlite3.Connection, *, this_device: str | None = None) -> Verification:
    """Check every device's chain: ``dseq`` contiguous from 1, each ``prev_hash`` the
    previous entry's hash, each hash recomputed from the entry. With ``this_device``, also
    that its chain still reaches what the hub acknowledged (a removed tail is otherwise
    invisible: nothing follows it)."""
    devices = [r[0] for r in conn.execute("SELECT DISTINCT device_id FROM audit ORDER BY 1")]
    if this_device is not None and this_device not in devices:
        devices.append(this_device)
    problems: list[Problem] = []
    total = chains = 0
    for device_id in devices:
        seen = [0, 0]  # entries, last dseq

        def rows(device_id: str = device_id, seen: list[int] = seen) -> Iterator[tuple[Any, ...]]:
            for row in conn.execute(
                f"SELECT {_CHAIN_COLUMNS} FROM audit WHERE device_id = ? ORDER BY dseq",
                (device_id,),
            ):
                seen[0] += 1
                seen[1] = row[2]
                yield tuple(row)

        problems.extend(check_chain(rows()))
        total += seen[0]
        chains += seen[0] > 0
        if device_id == this_device:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_PUSHED,)).fetchone()
            pushed = int(row[0]) if row else 0
            if pushed > seen[1]:
                problems.append(Problem(device_id, seen[1], "truncated", pushed))
    return Verification(total, chains, tuple(problems))

"""Households and their members: writes (stamped, logged to the outbox, search keys kept
current in the same transaction) and reads returning plain dataclasses."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from db.context import WriteContext, now_iso
from db.ids import uuid7
from db.normalize import address_key, household_terms


class HouseholdForgotten(Exception):
    """The household's personal data was erased on request: it takes no personal edits."""

    def __init__(self, household_id: str) -> None:
        super().__init__(household_id)
        self.household_id = household_id


class DuplicateAddress(Exception):
    """A household with this compound and building-unit-room already exists."""

    def __init__(self, household_id: str) -> None:
        super().__init__(household_id)
        self.household_id = household_id


@dataclass
class MemberInput:
    name: str
    relation: str = ""
    gender: str = ""
    phone: str = ""
    id_number: str = ""
    birth_year: int | None = None
    tags: str = ""
    #: fields kept as typed that did not check out (待核实): "phone", "id_number"
    to_verify: str = ""


@dataclass(frozen=True)
class Member:
    id: str
    household_id: str
    name: str
    relation: str
    gender: str
    phone: str
    id_number: str
    birth_year: int | None
    tags: str
    position: int
    to_verify: str = ""
    #: '' while living here, else one of MEMBER_STATUSES; ``left_on`` the ISO date it happened
    status: str = ""
    left_on: str = ""

    @property
    def present(self) -> bool:
        return not self.status

    def doubtful(self, field: str) -> bool:
        """Is ``field`` (phone, id_number) kept as typed, to be verified at the door?"""
        return field in self.to_verify.split()


@dataclass(frozen=True)
class Household:
    id: str
    rid: int
    grid_id: str
    grid_code: str
    grid_name: str
    community: str
    street: str
    compound_id: str
    compound: str
    building: str
    unit: str
    room: str
    head_name: str
    member_count: int
    tags: tuple[str, ...]
    note: str
    updated_at: str
    hlc: str
    members: tuple[Member, ...] = field(default=())
    #: When its personal data was erased on request (db/forget.py), else None.
    forgotten_at: str | None = None
    #: '' while somebody lives here, else one of HOUSEHOLD_STATUSES since ``status_on``
    status: str = ""
    status_on: str = ""

    @property
    def forgotten(self) -> bool:
        return self.forgotten_at is not None


#: The care-tag codes a household or member may carry (their names are in the catalogues
#: under ``tag.``): 70+, living alone, disabled, hardship, unvaccinated, conscription age.
CARE_TAGS = ("elderly70", "alone", "disabled", "hardship", "unvaccinated", "conscription")

#: What became of a member who no longer lives here, and of a household no longer at its
#: address (moved out, or the flat stands empty); '' while they live here.
MEMBER_STATUSES = ("moved_out", "deceased")
HOUSEHOLD_STATUSES = ("moved_out", "vacant")

HOUSEHOLD_FIELDS = ("building", "unit", "room", "tags", "note", "status", "status_on")
MEMBER_FIELDS = (
    "name",
    "relation",
    "gender",
    "phone",
    "id_number",
    "birth_year",
    "tags",
    "position",
    "to_verify",
    "status",
    "left_on",
)

_HOUSEHOLD_SELECT = """
    SELECT h.*, g.code AS grid_code, g.name AS grid_name, g.community, g.street,
           c.name AS compound
      FROM households h
      JOIN grids g ON g.id = h.grid_id
      JOIN compounds c ON c.id = h.compound_id
"""


def _current_terms(conn: sqlite3.Connection, household_id: str) -> tuple[int, set[str]]:
    row = conn.execute(
        "SELECT rid, building, unit, room, forgotten_at FROM households WHERE id = ?",
        (household_id,),
    ).fetchone()
    if row["forgotten_at"]:
        return row["rid"], set()  # a forgotten household cannot be found by anything
    members = conn.execute(
        "SELECT name, phone FROM members WHERE household_id = ?", (household_id,)
    ).fetchall()
    terms = household_terms(
        row["building"], row["unit"], row["room"], [(m[0], m[1]) for m in members]
    )
    return row["rid"], terms


def _sync_terms(conn: sqlite3.Connection, rid: int, old: set[str], new: set[str]) -> None:
    conn.executemany(
        "DELETE FROM search_terms WHERE term = ? AND hh = ?", [(t, rid) for t in old - new]
    )
    conn.executemany(
        "INSERT OR IGNORE INTO search_terms(term, hh) VALUES (?, ?)", [(t, rid) for t in new - old]
    )


def _refresh_summary(conn: sqlite3.Connection, household_id: str) -> None:
    """Keep the denormalised head name and member count that lists show: the people who live
    here (the head among them first; a household everyone has left keeps its last head's
    name, so it can still be recognised)."""
    conn.execute(
        """UPDATE households SET
             head_name = COALESCE((SELECT name FROM members WHERE household_id = :h
                                   ORDER BY (status = '') DESC, (relation = '户主') DESC,
                                            position LIMIT 1), ''),
             member_count = (SELECT count(*) FROM members WHERE household_id = :h
                                                            AND status = '')
           WHERE id = :h""",
        {"h": household_id},
    )


def find_by_address(
    conn: sqlite3.Connection, compound_id: str, building: str, unit: str, room: str
) -> str | None:
    row = conn.execute(
        "SELECT id FROM households WHERE compound_id = ? AND address_key = ?",
        (compound_id, address_key(building, unit, room)),
    ).fetchone()
    return row[0] if row else None


def create_household(
    ctx: WriteContext,
    *,
    grid_id: str,
    compound_id: str,
    building: str,
    unit: str,
    room: str,
    tags: Iterable[str] = (),
    note: str = "",
    members: Iterable[MemberInput] = (),
    search_keys: list[tuple[str, int]] | None = None,
) -> str:
    """Register a household (and its members). Call inside a transaction.

    ``search_keys``: where to put the household's search keys, as (key, rid), for the
    caller to write later in the same transaction (:func:`write_search_keys`): a bulk import
    writes all of them at its end in key order, one pass along the index, instead of
    thousands of inserts at random places in it."""
    conn = ctx.conn
    existing = find_by_address(conn, compound_id, building, unit, room)
    if existing:
        raise DuplicateAddress(existing)
    hid, hlc, now = uuid7(), ctx.stamp(), now_iso()
    fields = {
        "id": hid,
        "grid_id": grid_id,
        "compound_id": compound_id,
        "building": str(building),
        "unit": str(unit),
        "room": str(room),
        "tags": " ".join(sorted(set(tags))),
        "note": note,
    }
    cur = conn.execute(
        "INSERT INTO households(id, grid_id, compound_id, building, unit, room, address_key, tags,"
        " note, created_at, updated_at, hlc, worker_id, device_id)"
        " VALUES (:id, :grid_id, :compound_id, :building, :unit, :room, :key, :tags, :note,"
        " :now, :now, :hlc, :w, :d)",
        {
            **fields,
            "key": address_key(building, unit, room),
            "now": now,
            "hlc": hlc,
            "w": ctx.worker_id,
            "d": ctx.device_id,
        },
    )
    rid = cur.lastrowid
    assert rid is not None
    ctx.emit("household", hid, "insert", fields, hlc)
    people = list(members)
    for position, m in enumerate(people):
        _insert_member(ctx, hid, m, position)
    if people:
        _refresh_summary(conn, hid)
    # Search keys computed once for the household and all its members.
    terms = household_terms(building, unit, room, [(m.name, m.phone) for m in people])
    if search_keys is None:
        _sync_terms(conn, rid, set(), terms)
    else:
        search_keys.extend((term, rid) for term in terms)
    return hid


def write_search_keys(conn: sqlite3.Connection, keys: list[tuple[str, int]]) -> None:
    """Write search keys gathered by :func:`create_household`, in key order."""
    keys.sort()
    conn.executemany("INSERT OR IGNORE INTO search_terms(term, hh) VALUES (?, ?)", keys)


def _refuse_forgotten(conn: sqlite3.Connection, household_id: str) -> None:
    row = conn.execute(
        "SELECT forgotten_at FROM households WHERE id = ?", (household_id,)
    ).fetchone()
    if row is not None and row[0]:
        raise HouseholdForgotten(household_id)


def add_member(ctx: WriteContext, household_id: str, member: MemberInput) -> str:
    conn = ctx.conn
    _refuse_forgotten(conn, household_id)
    rid, old = _current_terms(conn, household_id)
    position = conn.execute(
        "SELECT COALESCE(max(position) + 1, 0) FROM members WHERE household_id = ?", (household_id,)
    ).fetchone()[0]
    mid = _insert_member(ctx, household_id, member, position)
    _refresh_summary(conn, household_id)
    _, new = _current_terms(conn, household_id)
    _sync_terms(conn, rid, old, new)
    return mid


def _insert_member(ctx: WriteContext, household_id: str, member: MemberInput, position: int) -> str:
    """Insert one member row and its outbox op (the caller keeps summary and keys current)."""
    conn = ctx.conn
    mid, hlc, now = uuid7(), ctx.stamp(), now_iso()
    # vars(), not asdict(): the fields are plain values, and asdict deep-copies each one
    fields = {"id": mid, "household_id": household_id, **vars(member), "position": position}
    conn.execute(
        "INSERT INTO members(id, household_id, name, relation, gender, phone, id_number,"
        " birth_year, tags, to_verify, position, created_at, updated_at, hlc, worker_id,"
        " device_id) VALUES (:id, :household_id, :name, :relation, :gender, :phone,"
        " :id_number, :birth_year, :tags, :to_verify, :position, :now, :now, :hlc, :w, :d)",
        {**fields, "now": now, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    if not member.to_verify:  # the common case: its operation as before the flag existed
        del fields["to_verify"]
    ctx.emit("member", mid, "insert", fields, hlc)
    return mid


def update_household(ctx: WriteContext, household_id: str, **changes: object) -> bool:
    """Change some fields of a household; returns False when nothing actually changed."""
    unknown = set(changes) - set(HOUSEHOLD_FIELDS)
    if unknown:
        raise ValueError(f"unknown household fields: {sorted(unknown)}")
    conn = ctx.conn
    row = conn.execute("SELECT * FROM households WHERE id = ?", (household_id,)).fetchone()
    if row is None:
        raise KeyError(household_id)
    if row["forgotten_at"]:
        raise HouseholdForgotten(household_id)
    tags = changes.get("tags")
    if tags is not None and not isinstance(tags, str):
        changes["tags"] = " ".join(sorted({str(t) for t in tags}))  # type: ignore[attr-defined]
    diff = {k: v for k, v in changes.items() if row[k] != v}
    if not diff:
        return False
    rid, old = _current_terms(conn, household_id)
    hlc = ctx.stamp()
    merged = {k: str(diff.get(k, row[k])) for k in ("building", "unit", "room")}
    sets = ", ".join(f"{k} = :{k}" for k in diff)
    conn.execute(
        f"UPDATE households SET {sets}, address_key = :key, updated_at = :now, hlc = :hlc,"
        " worker_id = :w, device_id = :d WHERE id = :id",
        {
            **diff,
            "key": address_key(merged["building"], merged["unit"], merged["room"]),
            "now": now_iso(),
            "hlc": hlc,
            "w": ctx.worker_id,
            "d": ctx.device_id,
            "id": household_id,
        },
    )
    ctx.emit("household", household_id, "update", diff, hlc, base_version=row["hlc"])
    _, new = _current_terms(conn, household_id)
    _sync_terms(conn, rid, old, new)
    return True


def update_member(ctx: WriteContext, member_id: str, **changes: object) -> bool:
    unknown = set(changes) - set(MEMBER_FIELDS)
    if unknown:
        raise ValueError(f"unknown member fields: {sorted(unknown)}")
    conn = ctx.conn
    row = conn.execute("SELECT * FROM members WHERE id = ?", (member_id,)).fetchone()
    if row is None:
        raise KeyError(member_id)
    diff = {k: v for k, v in changes.items() if row[k] != v}
    if not diff:
        return False
    household_id = row["household_id"]
    _refuse_forgotten(conn, household_id)
    rid, old = _current_terms(conn, household_id)
    hlc = ctx.stamp()
    sets = ", ".join(f"{k} = :{k}" for k in diff)
    conn.execute(
        f"UPDATE members SET {sets}, updated_at = :now, hlc = :hlc, worker_id = :w,"
        " device_id = :d WHERE id = :id",
        {
            **diff,
            "now": now_iso(),
            "hlc": hlc,
            "w": ctx.worker_id,
            "d": ctx.device_id,
            "id": member_id,
        },
    )
    ctx.emit("member", member_id, "update", diff, hlc, base_version=row["hlc"])
    _refresh_summary(conn, household_id)
    _, new = _current_terms(conn, household_id)
    _sync_terms(conn, rid, old, new)
    return True


def _member(row: sqlite3.Row) -> Member:
    return Member(
        row["id"],
        row["household_id"],
        row["name"],
        row["relation"],
        row["gender"],
        row["phone"],
        row["id_number"],
        row["birth_year"],
        row["tags"],
        row["position"],
        row["to_verify"],
        row["status"],
        row["left_on"],
    )


def _household(row: sqlite3.Row, members: tuple[Member, ...] = ()) -> Household:
    return Household(
        id=row["id"],
        rid=row["rid"],
        grid_id=row["grid_id"],
        grid_code=row["grid_code"],
        grid_name=row["grid_name"],
        community=row["community"],
        street=row["street"],
        compound_id=row["compound_id"],
        compound=row["compound"],
        building=row["building"],
        unit=row["unit"],
        room=row["room"],
        head_name=row["head_name"],
        member_count=row["member_count"],
        tags=tuple(row["tags"].split()),
        note=row["note"],
        updated_at=row["updated_at"],
        hlc=row["hlc"],
        members=members,
        forgotten_at=row["forgotten_at"],
        status=row["status"],
        status_on=row["status_on"],
    )


def get_household(conn: sqlite3.Connection, household_id: str) -> Household | None:
    """A household with its members, or None."""
    row = conn.execute(_HOUSEHOLD_SELECT + " WHERE h.id = ?", (household_id,)).fetchone()
    if row is None:
        return None
    members = tuple(
        _member(m)
        for m in conn.execute(
            # who lives here first, in the household's order; then who has left
            "SELECT * FROM members WHERE household_id = ? ORDER BY status != '', position",
            (household_id,),
        )
    )
    return _household(row, members)


def households_by_rid(conn: sqlite3.Connection, rids: list[int]) -> dict[int, Household]:
    """Summaries (no members) for a page of search hits."""
    if not rids:
        return {}
    marks = ",".join("?" * len(rids))
    rows = conn.execute(_HOUSEHOLD_SELECT + f" WHERE h.rid IN ({marks})", rids).fetchall()
    return {r["rid"]: _household(r) for r in rows}


def list_households(
    conn: sqlite3.Connection, *, grid_id: str | None = None, limit: int = 50, offset: int = 0
) -> list[Household]:
    """Households in walking order (grid, compound, building, unit, room), one page."""
    where, params = "", []
    if grid_id:
        where, params = " WHERE h.grid_id = ?", [grid_id]
    rows = conn.execute(
        _HOUSEHOLD_SELECT
        + where
        + " ORDER BY h.grid_id, c.name, CAST(h.building AS INTEGER), h.building,"
        " CAST(h.unit AS INTEGER), CAST(h.room AS INTEGER), h.room LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return [_household(r) for r in rows]


def households_to_verify(conn: sqlite3.Connection, grid_ids: list[str]) -> int:
    """How many of these grids' households have a number kept as typed, to verify (待核实)."""
    if not grid_ids:
        return 0
    marks = ",".join("?" * len(grid_ids))
    return conn.execute(
        "SELECT count(DISTINCT m.household_id) FROM members m JOIN households h"
        " ON h.id = m.household_id WHERE m.to_verify != '' AND m.status = ''"
        f" AND h.status = '' AND h.grid_id IN ({marks})",
        grid_ids,
    ).fetchone()[0]


def household_of_member(conn: sqlite3.Connection, member_id: str) -> str | None:
    row = conn.execute("SELECT household_id FROM members WHERE id = ?", (member_id,)).fetchone()
    return row[0] if row else None


def lived_in_counts(conn: sqlite3.Connection) -> tuple[int, int]:
    """(households somebody lives in, the people living in them), over the whole database."""
    row = conn.execute(
        "SELECT count(*), COALESCE(sum(member_count), 0) FROM households WHERE status = ''"
    ).fetchone()
    return row[0], row[1]

"""QR labels: a household's current label, reprints (which retire the previous label), case
slips, and finding the label a scanned payload names.

A label row holds only a random code, its kind and what it points to: the payload printed
on a door carries no personal data, and a retired label leads nowhere. Writes take a
:class:`~db.context.WriteContext` and run inside the caller's transaction; every row is
replicated as entity ``label`` (policy ``lww``: inserted once, later only retired).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from db.context import WriteContext, now_iso
from db.ids import uuid7

LABEL_COLUMNS = (
    "id",
    "kind",
    "code",
    "household_id",
    "case_id",
    "generation",
    "created_at",
    "retired_at",
)


@dataclass(frozen=True)
class Label:
    id: str
    kind: str  # "HH" household label, "CS" case slip
    code: str  # 12 Crockford base32 characters (the check character is derived)
    household_id: str | None
    case_id: str | None
    generation: int
    created_at: str
    retired_at: str | None
    hlc: str

    @property
    def active(self) -> bool:
        return self.retired_at is None


@dataclass(frozen=True)
class PlannedLabel:
    """A household's label for a print run: the one it has, or one to create on commit."""

    household_id: str
    code: str
    generation: int
    existing: bool


def _label(row: sqlite3.Row) -> Label:
    return Label(
        row["id"],
        row["kind"],
        row["code"],
        row["household_id"],
        row["case_id"],
        row["generation"],
        row["created_at"],
        row["retired_at"],
        row["hlc"],
    )


#: Crockford base32: what a label's 12-character id is written in (kiosk/qr/payload.py adds
#: the kind and the check character).
LABEL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def encode_label_id(value: int) -> str:
    if not 0 <= value < 1 << 60:
        raise ValueError(value)
    return "".join(LABEL_ALPHABET[(value >> shift) & 31] for shift in range(55, -1, -5))


def new_label_code() -> str:
    """A fresh random 60-bit id (the caller makes sure it is unused)."""
    return encode_label_id(secrets.randbits(60))


def _unused_code(conn: sqlite3.Connection, taken: set[str], make: Callable[[], str]) -> str:
    # 60 random bits: a clash is astronomically unlikely, but a check costs one index probe.
    while True:
        code = make()
        if (
            code not in taken
            and conn.execute("SELECT 1 FROM labels WHERE code = ?", (code,)).fetchone() is None
        ):
            taken.add(code)
            return code


def find_label(conn: sqlite3.Connection, kind: str, code: str) -> Label | None:
    """The label with this code and kind (active or retired), or None."""
    row = conn.execute("SELECT * FROM labels WHERE code = ? AND kind = ?", (code, kind)).fetchone()
    return _label(row) if row else None


def active_household_label(conn: sqlite3.Connection, household_id: str) -> Label | None:
    """The household's current label: the active one of the highest generation."""
    row = conn.execute(
        "SELECT * FROM labels WHERE household_id = ? AND kind = 'HH' AND retired_at IS NULL"
        " ORDER BY generation DESC, hlc DESC LIMIT 1",
        (household_id,),
    ).fetchone()
    return _label(row) if row else None


def household_labels(conn: sqlite3.Connection, household_id: str) -> list[Label]:
    """Every label the household has had, newest generation first."""
    return [
        _label(r)
        for r in conn.execute(
            "SELECT * FROM labels WHERE household_id = ? AND kind = 'HH'"
            " ORDER BY generation DESC, hlc DESC",
            (household_id,),
        )
    ]


def _next_generation(conn: sqlite3.Connection, household_id: str) -> int:
    return conn.execute(
        "SELECT COALESCE(max(generation), 0) + 1 FROM labels WHERE household_id = ?",
        (household_id,),
    ).fetchone()[0]


def _insert(
    ctx: WriteContext,
    kind: str,
    code: str,
    *,
    household_id: str | None = None,
    case_id: str | None = None,
    generation: int = 1,
) -> Label:
    lid, hlc = uuid7(), ctx.stamp()
    fields = {
        "id": lid,
        "kind": kind,
        "code": code,
        "household_id": household_id,
        "case_id": case_id,
        "generation": generation,
        "created_at": now_iso(),
        "retired_at": None,
    }
    ctx.conn.execute(
        "INSERT INTO labels(id, kind, code, household_id, case_id, generation, created_at,"
        " retired_at, hlc, worker_id, device_id) VALUES (:id, :kind, :code, :household_id,"
        " :case_id, :generation, :created_at, :retired_at, :hlc, :w, :d)",
        {**fields, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("label", lid, "insert", fields, hlc)
    return Label(hlc=hlc, **fields)  # type: ignore[arg-type]


def _retire_active(ctx: WriteContext, household_id: str) -> int:
    rows = ctx.conn.execute(
        "SELECT id, hlc FROM labels WHERE household_id = ? AND kind = 'HH' AND retired_at IS NULL",
        (household_id,),
    ).fetchall()
    for row in rows:
        hlc, at = ctx.stamp(), now_iso()
        ctx.conn.execute(
            "UPDATE labels SET retired_at = ?, hlc = ?, worker_id = ?, device_id = ? WHERE id = ?",
            (at, hlc, ctx.worker_id, ctx.device_id, row["id"]),
        )
        ctx.emit("label", row["id"], "update", {"retired_at": at}, hlc, base_version=row["hlc"])
    return len(rows)


def _require_household(conn: sqlite3.Connection, household_id: str) -> None:
    if conn.execute("SELECT 1 FROM households WHERE id = ?", (household_id,)).fetchone() is None:
        raise KeyError(household_id)


def ensure_household_label(ctx: WriteContext, household_id: str) -> Label:
    """The household's current label, created (generation 1, or next) if it has none.

    Call inside a transaction. Raises KeyError for an unknown household.
    """
    current = active_household_label(ctx.conn, household_id)
    if current is not None:
        return current
    _require_household(ctx.conn, household_id)
    return _insert(
        ctx,
        "HH",
        _unused_code(ctx.conn, set(), new_label_code),
        household_id=household_id,
        generation=_next_generation(ctx.conn, household_id),
    )


def reprint_household_label(ctx: WriteContext, household_id: str) -> Label:
    """A new label for the household (next generation); every earlier label is retired."""
    _require_household(ctx.conn, household_id)
    generation = _next_generation(ctx.conn, household_id)
    _retire_active(ctx, household_id)
    return _insert(
        ctx,
        "HH",
        _unused_code(ctx.conn, set(), new_label_code),
        household_id=household_id,
        generation=generation,
    )


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def plan_household_labels(
    conn: sqlite3.Connection,
    household_ids: Sequence[str],
    *,
    reprint: bool = False,
    make_code: Callable[[], str] = new_label_code,
) -> list[PlannedLabel]:
    """The labels a print run will carry, without writing anything.

    Households that have an active label keep it (unless ``reprint``); the others get a new
    code of the next generation. :func:`commit_planned` writes the new ones once the sheet
    has been rendered, so a failed print leaves the database untouched.
    """
    active: dict[str, tuple[str, int]] = {}
    top: dict[str, int] = {}
    for chunk in _chunks(list(household_ids)):
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT household_id, code, generation, retired_at FROM labels"
            f" WHERE kind = 'HH' AND household_id IN ({marks})"
            f" ORDER BY generation, hlc",
            list(chunk),
        ):
            hid = row["household_id"]
            top[hid] = max(top.get(hid, 0), row["generation"])
            if row["retired_at"] is None:
                active[hid] = (row["code"], row["generation"])
    taken: set[str] = set()
    plans = []
    for hid in household_ids:
        if not reprint and hid in active:
            code, gen = active[hid]
            plans.append(PlannedLabel(hid, code, gen, True))
        else:
            plans.append(
                PlannedLabel(hid, _unused_code(conn, taken, make_code), top.get(hid, 0) + 1, False)
            )
    return plans


def commit_planned(
    ctx: WriteContext, plans: Iterable[PlannedLabel], *, reprint: bool = False
) -> int:
    """Write the new labels of a print run (inside the caller's transaction); with
    ``reprint`` the households' earlier labels are retired. Returns how many were created."""
    created = 0
    for plan in plans:
        if plan.existing:
            continue
        if reprint:
            _retire_active(ctx, plan.household_id)
        _insert(ctx, "HH", plan.code, household_id=plan.household_id, generation=plan.generation)
        created += 1
    return created


def case_slip(conn: sqlite3.Connection, case_id: str) -> Label | None:
    row = conn.execute(
        "SELECT * FROM labels WHERE case_id = ? AND kind = 'CS' AND retired_at IS NULL"
        " ORDER BY hlc LIMIT 1",
        (case_id,),
    ).fetchone()
    return _label(row) if row else None


def ensure_case_slip(ctx: WriteContext, case_id: str, code: str | None = None) -> Label:
    """The case's slip code, created on first print (with ``code`` if given, one planned
    before rendering). A reprinted slip carries the same code: the resident may already hold
    the first one. Raises ValueError when ``code`` differs from a slip created meanwhile."""
    existing = case_slip(ctx.conn, case_id)
    if existing is not None:
        if code is not None and code != existing.code:
            raise ValueError("case slip created meanwhile")
        return existing
    code = code or _unused_code(ctx.conn, set(), new_label_code)
    return _insert(ctx, "CS", code, case_id=case_id)


def _retire_case_slips(ctx: WriteContext, case_id: str) -> int:
    rows = ctx.conn.execute(
        "SELECT id, hlc FROM labels WHERE case_id = ? AND kind = 'CS' AND retired_at IS NULL",
        (case_id,),
    ).fetchall()
    at = now_iso()
    for row in rows:
        hlc = ctx.stamp()
        ctx.conn.execute(
            "UPDATE labels SET retired_at = ?, hlc = ?, worker_id = ?, device_id = ? WHERE id = ?",
            (at, hlc, ctx.worker_id, ctx.device_id, row["id"]),
        )
        ctx.emit("label", row["id"], "update", {"retired_at": at}, hlc, base_version=row["hlc"])
    return len(rows)


def reprint_case_slip(ctx: WriteContext, case_id: str, code: str | None = None) -> Label:
    """A new slip code for the case (a lost slip): the earlier slips are retired, so a found
    old slip leads nowhere, and a scan of it says it was replaced."""
    _retire_case_slips(ctx, case_id)
    generation = ctx.conn.execute(
        "SELECT COALESCE(max(generation), 0) + 1 FROM labels WHERE case_id = ? AND kind = 'CS'",
        (case_id,),
    ).fetchone()[0]
    code = code or _unused_code(ctx.conn, set(), new_label_code)
    return _insert(ctx, "CS", code, case_id=case_id, generation=generation)


def revoke_case_slip(ctx: WriteContext, case_id: str) -> int:
    """Retire the case's slips without a new one (a slip handed to the wrong person)."""
    return _retire_case_slips(ctx, case_id)


def newer_case_slip(conn: sqlite3.Connection, label: Label) -> bool:
    """Was this (retired) slip replaced by a reprint, rather than revoked?"""
    return (
        conn.execute(
            "SELECT 1 FROM labels WHERE case_id = ? AND kind = 'CS' AND generation > ? LIMIT 1",
            (label.case_id, label.generation),
        ).fetchone()
        is not None
    )


def slip_case(conn: sqlite3.Connection, case_id: str) -> tuple[str, str, str | None] | None:
    """What the resident counter needs of a slip's case: (number, category, the community of
    its grid). Nothing of its households, summary or who raised it."""
    row = conn.execute(
        "SELECT c.number, c.category, g.community FROM cases c"
        " LEFT JOIN grids g ON g.id = c.grid_id WHERE c.id = ?",
        (case_id,),
    ).fetchone()
    return (row[0], row[1], row[2]) if row else None

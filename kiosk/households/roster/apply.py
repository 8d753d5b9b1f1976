"""Importing a roster: read every row, judge it, then write all good rows in one transaction.

Two passes over nothing but memory: :func:`plan_import` streams the file, turns each row into
people at an address (or a rejection with a reason), and groups them into households;
:func:`apply_plan` writes the households through :mod:`db.households` inside one
``db.transaction`` with the runtime's :class:`~db.context.WriteContext`, so the change and its
outbox operations commit together or not at all.

Identity (so importing the same file twice changes nothing): a household is its grid +
compound + building-unit-room; a member is their household + ID number, else household +
name. An import adds and fills in; it never erases a value the database already holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

from db.areas import Grid, get_or_create_compound, grid_by_code, grid_by_name
from db.connection import transaction
from db.context import WriteContext
from db.households import (
    DuplicateAddress,
    MemberInput,
    add_member,
    create_household,
    update_household,
    update_member,
    write_search_keys,
)
from db.normalize import address_key, parse_address
from kiosk.households.roster.fields import (
    ADDRESS_FIELDS,
    CellError,
    Column,
    cell_text,
    classify_header,
    is_formula,
    parse_age,
    parse_birth_year,
    parse_building,
    parse_flag,
    parse_full_address,
    parse_gender,
    parse_id_number,
    parse_name,
    parse_phone,
    parse_relation,
    parse_room,
    parse_tags,
    parse_unit,
)
from kiosk.households.roster.read import RosterUnreadable, Row, open_roster

HEADER_SCAN_ROWS = 20
PROGRESS_EVERY = 5000
MAX_COMPOUND_CHARS = 40
MAX_NOTE_CHARS = 500
#: a doubtful phone kept as typed is at most this long (a field's limit, db/limits.py)
MAX_DOUBTFUL_CHARS = 32

Progress = Callable[[str, dict], None]
T = TypeVar("T")


@dataclass
class Problem:
    """A rejected row or a warning: where (sheet, row, column) and why (a reason code)."""

    row: int
    code: str
    column: str = ""
    letter: str = ""
    sheet: str | None = None
    params: dict = field(default_factory=dict)


@dataclass(slots=True)
class Person:
    row: int
    name: str
    relation: str = ""
    gender: str = ""
    phone: str = ""
    id_number: str = ""
    birth_year: int | None = None
    tags: tuple[str, ...] = ()
    to_verify: tuple[str, ...] = ()  # phone, id_number: kept as typed, not checking out

    def facts(self) -> tuple:
        return (
            self.name,
            self.relation,
            self.gender,
            self.phone,
            self.id_number,
            self.birth_year,
            self.tags,
        )

    def agrees_with(self, other: Person) -> bool:
        """Every value both rows give is the same (an empty cell agrees with anything)."""
        return all(
            not a or not b or a == b for a, b in zip(self.facts(), other.facts(), strict=True)
        )


@dataclass(slots=True)
class PlannedHousehold:
    grid: Grid
    compound: str
    building: str
    unit: str
    room: str
    first_row: int
    people: list[Person] = field(default_factory=list)
    notes: tuple[str, ...] = ()  # most households have none: no list each
    whole_row: tuple | None = None  # one-row-per-household rosters: the row's content

    @property
    def tags(self) -> set[str]:
        return {t for p in self.people for t in p.tags}


@dataclass
class SheetLayout:
    """Where the header is and what each column holds."""

    header_row: int
    columns: dict[int, Column]
    headers: dict[int, str]
    per_household: bool
    ignored: list[str]


@dataclass
class ImportPlan:
    path: Path
    format: str
    encoding: str = ""
    layout: str = ""
    sheets: list[str] = field(default_factory=list)
    rows: int = 0
    households: dict[tuple[str, str, str], PlannedHousehold] = field(default_factory=dict)
    rejected: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    #: grids the roster names that this database does not have: (street, community, grid as
    #: written) -> the first row that names it
    unknown_grids: dict[tuple[str, str, str], int] = field(default_factory=dict)


@dataclass
class ImportResult:
    imported_households: int = 0
    imported_members: int = 0
    updated: int = 0
    unchanged: int = 0


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the column as the spreadsheet labels it."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


# --- header -----------------------------------------------------------------------------------


def find_layout(rows: list[Row]) -> SheetLayout | None:
    """The first of the opening rows whose cells name a person and at least one more field."""
    for row in rows:
        columns: dict[int, Column] = {}
        headers: dict[int, str] = {}
        ignored: list[str] = []
        for i, value in enumerate(row.values):
            col = classify_header(value)
            text = cell_text(value)
            if col:
                columns[i] = col
                headers[i] = text
            elif text:
                ignored.append(text)
        fields = {(c.field, c.member) for c in columns.values()}
        if ("name", 0) not in fields or len(fields) < 2:
            continue
        plain_name = any(
            c.field == "name" and c.member == 0 and not c.head for c in columns.values()
        )
        if plain_name:
            # A one-row-per-person roster that also names each person's head of household
            # (户主姓名): that column is informative only.
            for i in [i for i, c in columns.items() if c.head]:
                ignored.append(headers.pop(i))
                del columns[i]
        per_household = any(c.member > 0 for c in columns.values()) or not plain_name
        return SheetLayout(row.number, columns, headers, per_household, ignored)
    return None


# --- planning ---------------------------------------------------------------------------------


class _Reject(Exception):
    def __init__(self, code: str, column: int | None, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.column = column
        self.params = params


class _GridResolver:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.cache: dict[tuple[str, str], Grid | None] = {}

    def __call__(self, value: str, community: str) -> Grid | None:
        key = (value, community)
        if key not in self.cache:
            grid = grid_by_code(self.conn, value) or grid_by_name(self.conn, value)
            if grid is None and community:
                grid = grid_by_name(self.conn, community + value)
            self.cache[key] = grid
        return self.cache[key]


def _same_place(given: str, known: str) -> bool:
    for suffix in ("居民委员会", "居委会", "办事处"):
        given, known = given.removesuffix(suffix), known.removesuffix(suffix)
    return not given or given in known or known in given


class _Planner:
    def __init__(
        self,
        conn: sqlite3.Connection,
        plan: ImportPlan,
        default_grid: Grid | None,
        today: date,
        reach: Callable[[Grid], bool] | None = None,
        create_grid: Callable[[str, str, str], Grid | None] | None = None,
    ) -> None:
        self.conn = conn
        self.plan = plan
        self.default_grid = default_grid
        self.reach = reach
        self.create_grid = create_grid
        self.today = today
        self.grids = _GridResolver(conn)
        self.sheet: str | None = None
        self.layout: SheetLayout | None = None
        self.by_field: dict[tuple[str, int], list[int]] = {}
        self.flags: list[tuple[int, str]] = []
        self.members: list[int] = []
        self.id_seen: dict[str, int] = {}  # ID number -> the row that first gave it
        self.prev_address: tuple | None = None
        self.texts: dict[int, str] = {}
        # One copy of each value that repeats across people (relations, genders, birth
        # years, tag sets, building/unit/room numbers): a street office's roster of
        # 200,000 people otherwise holds 200,000 copies of "户主" and of "1单元".
        self._shared: dict[object, object] = {}

    def share(self, value: T) -> T:
        return self._shared.setdefault(value, value)  # type: ignore[return-value]

    def start_sheet(self, name: str | None, layout: SheetLayout) -> None:
        self.sheet, self.layout = name, layout
        self.by_field = {}
        self.flags = []
        for i, col in sorted(layout.columns.items()):
            if col.field == "flag":
                self.flags.append((i, col.flag))
            else:
                self.by_field.setdefault((col.field, col.member), []).append(i)
        self.members = sorted({m for (_, m) in self.by_field if m > 0})
        self.prev_address = None

    # -- cells --
    def cell(self, row: Row, fld: str, member: int = 0) -> tuple[object, int | None]:
        """The first non-empty cell of the columns for ``fld`` (and that column)."""
        cols = self.by_field.get((fld, member), [])
        for i in cols:
            if self.texts.get(i):
                return row.values[i], i
        return None, (cols[0] if cols else None)

    def given(self, fld: str, member: int = 0) -> bool:
        return any(self.texts.get(i) for i in self.by_field.get((fld, member), ()))

    def problem(self, row: Row, code: str, column: int | None, params: dict) -> Problem:
        header = letter = ""
        if column is not None and self.layout:
            header = self.layout.headers.get(column, "")
            letter = column_letter(column)
        return Problem(row.number, code, header, letter, self.sheet, params)

    # -- rows --
    def take(self, row: Row) -> None:
        assert self.layout is not None
        self.texts = {
            i: cell_text(row.values[i])
            for i in self.layout.columns
            if i < len(row.values) and row.values[i] is not None
        }
        mapped = [i for i, text in self.texts.items() if text]
        if not mapped:
            return  # blank row (or only a serial number): not part of the roster
        self.plan.rows += 1
        carried, self.prev_address = self.prev_address, None
        try:
            for i in mapped:
                if is_formula(row.values[i], i in row.formulas):
                    raise _Reject("formula", i)
            if self.layout.per_household:
                self.take_household_row(row)
            else:
                self.take_person_row(row, carried)
        except _Reject as r:
            self.plan.rejected.append(self.problem(row, r.code, r.column, r.params))

    def address(self, row: Row, carried: tuple | None = None) -> tuple[Grid, str, str, str, str]:
        """(grid, compound, building, unit, room) of a row; ``carried`` is the previous row's
        address, taken when this row has none (a family member under merged address cells)."""
        has_any = any(self.given(f) for f in ADDRESS_FIELDS)
        if not has_any and carried is not None:
            return carried  # type: ignore[return-value]
        grid_value, grid_col = self.cell(row, "grid")
        community, community_col = self.cell(row, "community")
        street, street_col = self.cell(row, "street")
        community_text, street_text = cell_text(community), cell_text(street)
        grid_text = cell_text(grid_value)
        if grid_text:
            grid = self.grids(grid_text, community_text)
            if grid is None and self.create_grid is not None:
                grid = self.create_grid(cell_text(street), community_text, grid_text)
                self.grids.cache[(grid_text, community_text)] = grid
            if grid is None:
                self.plan.unknown_grids.setdefault(
                    (cell_text(street), community_text, grid_text), row.number
                )
                raise _Reject("unknown_grid", grid_col, grid=grid_text[:40])
        elif self.default_grid is not None:
            grid = self.default_grid
        else:
            raise _Reject("missing_grid", grid_col)
        if self.reach is not None and not self.reach(grid):
            raise _Reject("out_of_reach", grid_col, grid=grid.name)
        if community_text and not _same_place(community_text, grid.community):
            raise _Reject("grid_community", community_col, grid=grid.code, community=grid.community)
        if street_text and not _same_place(street_text, grid.street):
            raise _Reject("grid_street", street_col, grid=grid.code, street=grid.street)

        compound_value, compound_col = self.cell(row, "compound")
        compound = cell_text(compound_value).replace(" ", "")
        b_value, b_col = self.cell(row, "building")
        u_value, u_col = self.cell(row, "unit")
        r_value, r_col = self.cell(row, "room")
        a_value, a_col = self.cell(row, "address")
        try:
            building, unit, room = parse_building(b_value), None, None
        except CellError as e:
            raise _Reject(e.code, b_col) from None
        try:
            unit = parse_unit(u_value)
        except CellError as e:
            raise _Reject(e.code, u_col) from None
        room_text = cell_text(r_value)
        try:
            room = parse_room(r_value)
        except CellError:
            # A room cell that holds the whole building-unit-room ("3-2-501").
            whole = parse_address(room_text) if not (building or unit) else None
            if whole is None:
                raise _Reject("bad_address", r_col) from None
            building, unit, room = whole
        if not (building and unit and room) and cell_text(a_value):
            try:
                a_compound, building, unit, room = parse_full_address(
                    a_value,
                    (grid.district, grid.street, grid.community, street_text, community_text),
                )
            except CellError as e:
                raise _Reject(e.code, a_col) from None
            compound = compound or a_compound
        if not (building and unit and room):
            missing_col = b_col if not building else u_col if not unit else r_col
            if missing_col is None:
                missing_col = a_col if a_col is not None else r_col
            raise _Reject("missing_address", missing_col)
        if not compound:
            raise _Reject("missing_compound", compound_col if compound_col is not None else a_col)
        if len(compound) > MAX_COMPOUND_CHARS or compound.isdigit():
            raise _Reject("bad_compound", compound_col)
        return grid, compound, building, unit, room

    def person(self, row: Row, member: int, head: bool) -> Person | None:
        name_value, name_col = self.cell(row, "name", member)
        others = [
            f
            for f in ("relation", "phone", "id_number", "birth", "age", "gender", "tags")
            if self.given(f, member)
        ]
        try:
            name = parse_name(name_value)
        except CellError as e:
            raise _Reject(e.code, name_col) from None
        if not name:
            if member > 0 and not others:
                return None
            raise _Reject(
                "missing_name" if member == 0 else "member_missing_name", name_col, n=member
            )
        p = Person(row.number, name)
        col: int | None = None
        try:
            value, col = self.cell(row, "relation", member)
            p.relation = self.share(parse_relation(value) or ("户主" if head else ""))
            value, col = self.cell(row, "gender", member)
            p.gender = self.share(parse_gender(value))
            value, col = self.cell(row, "phone", member)
            try:
                p.phone, extra = parse_phone(value)
            except CellError as e:
                # Typed by hand, a phone that is not one is kept as typed, to be verified at
                # the door: the household is not lost over it.
                typed = cell_text(value)
                if e.code != "bad_phone" or len(typed) > MAX_DOUBTFUL_CHARS:
                    raise
                p.phone, extra = typed, 0
                p.to_verify += ("phone",)
                self.plan.warnings.append(self.problem(row, "doubtful_phone", col, {}))
            if extra:
                self.plan.warnings.append(self.problem(row, "extra_phones", col, {"n": extra}))
            value, col = self.cell(row, "birth", member)
            p.birth_year = parse_birth_year(value, self.today)
            from_age = False
            if p.birth_year is None:
                value, col = self.cell(row, "age", member)
                p.birth_year = parse_age(value, self.today)
                from_age = p.birth_year is not None
            value, col = self.cell(row, "id_number", member)
            try:
                ident = parse_id_number(value, self.today)
            except CellError as e:
                if e.code != "bad_id_check":
                    raise
                # 18 characters with a valid shape whose check character is wrong: most
                # often one digit mistyped. Kept as typed, to verify; nothing derived from it.
                ident = None
                p.id_number = cell_text(value).replace(" ", "").upper()
                p.to_verify += ("id_number",)
                self.plan.warnings.append(self.problem(row, "doubtful_id", col, {}))
        except CellError as e:
            raise _Reject(e.code, col) from None
        if ident:
            p.id_number = ident.number
            if p.birth_year is None:
                p.birth_year = self.share(ident.birth_year)
            elif abs(p.birth_year - ident.birth_year) > (1 if from_age else 0):
                # An age is a year off before the birthday; a written birth year is exact.
                raise _Reject("id_birth_mismatch", col)
            if not p.gender:
                p.gender = self.share(ident.gender)
            elif p.gender != ident.gender:
                raise _Reject("id_gender_mismatch", col)
        tags_value, tags_col = self.cell(row, "tags", member)
        codes, unknown = parse_tags(tags_value)
        if unknown:
            self.plan.warnings.append(
                self.problem(row, "unknown_tag", tags_col, {"words": "、".join(unknown)[:60]})
            )
        if member == 0:
            for i, code in self.flags:
                flag = parse_flag(row.values[i] if i < len(row.values) else None)
                if flag is None:
                    raise _Reject("bad_flag", i)
                if flag and code not in codes:
                    codes.append(code)
        p.tags = self.share(tuple(sorted(codes)))
        if p.birth_year is not None:
            p.birth_year = self.share(p.birth_year)
        return p

    def note(self, row: Row) -> str:
        value, col = self.cell(row, "note")
        text = cell_text(value)
        if len(text) > MAX_NOTE_CHARS:
            raise _Reject("note_too_long", col, max=MAX_NOTE_CHARS)
        return text

    def household(
        self, grid: Grid, compound: str, b: str, u: str, r: str, row: Row
    ) -> tuple[tuple[str, str, str], PlannedHousehold, bool]:
        key = (grid.id, compound, address_key(b, u, r))
        hh = self.plan.households.get(key)
        if hh is None:
            b, u, r, compound = self.share(b), self.share(u), self.share(r), self.share(compound)
            return key, PlannedHousehold(grid, compound, b, u, r, row.number), True
        return key, hh, False

    def check_id(self, p: Person, hh: PlannedHousehold, id_col: int | None) -> None:
        """An ID number already given is refused unless it is of this household's people."""
        if not p.id_number:
            return
        seen = self.id_seen.get(p.id_number)
        if seen is not None and not any(q.id_number == p.id_number for q in hh.people):
            raise _Reject("id_elsewhere", id_col, other=seen)

    def take_person_row(self, row: Row, carried: tuple | None) -> None:
        value, col = self.cell(row, "relation")
        try:
            relation = parse_relation(value)
        except CellError as e:
            raise _Reject(e.code, col) from None
        if not relation or relation == "户主":
            carried = None  # only a family member continues the household above
        grid, compound, b, u, r = self.address(row, carried)
        self.prev_address = (grid, compound, b, u, r)
        p = self.person(row, 0, head=False)
        assert p is not None
        note = self.note(row)
        key, hh, new = self.household(grid, compound, b, u, r, row)
        id_col = self.cell(row, "id_number")[1]
        self.check_id(p, hh, id_col)
        for q in hh.people:
            same = (p.id_number and p.id_number == q.id_number) or (
                p.name == q.name and (not p.id_number or not q.id_number)
            )
            if same:
                if p.agrees_with(q):
                    # The same person again: one entry, with whatever this row adds.
                    for name in ("relation", "gender", "phone", "id_number", "birth_year", "tags"):
                        if not getattr(q, name) and getattr(p, name):
                            setattr(q, name, getattr(p, name))
                    if p.id_number:
                        self.id_seen[p.id_number] = q.row
                    self.plan.warnings.append(
                        self.problem(row, "duplicate_row", None, {"other": q.row})
                    )
                    return
                raise _Reject(
                    "duplicate_person",
                    id_col if p.id_number else self.cell(row, "name")[1],
                    other=q.row,
                )
            if p.relation == "户主" and q.relation == "户主":
                raise _Reject("second_head", self.cell(row, "relation")[1], other=q.row)
        hh.people.append(p)
        if note and note not in hh.notes:
            hh.notes += (note,)
        if p.id_number:
            self.id_seen[p.id_number] = row.number
        if new:
            self.plan.households[key] = hh

    def take_household_row(self, row: Row) -> None:
        grid, compound, b, u, r = self.address(row)
        people: list[Person] = []
        head = self.person(row, 0, head=True)
        assert head is not None
        people.append(head)
        for n in self.members:
            m = self.person(row, n, head=False)
            if m is not None:
                people.append(m)
        note = self.note(row)
        key, hh, new = self.household(grid, compound, b, u, r, row)
        content = (tuple(p.facts() for p in people), note)
        if not new:
            if hh.whole_row == content:
                self.plan.warnings.append(
                    self.problem(row, "duplicate_row", None, {"other": hh.first_row})
                )
                return
            raise _Reject(
                "duplicate_room",
                self.cell(row, "room")[1]
                if self.cell(row, "room")[1] is not None
                else self.cell(row, "address")[1],
                other=hh.first_row,
            )
        seen_ids: set[str] = set()
        for n, p in enumerate(people):
            id_col = self.cell(row, "id_number", 0 if n == 0 else self.members[0])[1]
            if p.id_number in seen_ids:
                raise _Reject("duplicate_person", id_col, other=row.number)
            if p.id_number:
                seen_ids.add(p.id_number)
            self.check_id(p, hh, id_col)
        hh.people = people
        hh.whole_row = content
        if note:
            hh.notes += (note,)
        for p in people:
            if p.id_number:
                self.id_seen[p.id_number] = row.number
        self.plan.households[key] = hh


def resolve_grid(conn: sqlite3.Connection, value: str) -> Grid | None:
    return grid_by_code(conn, value) or grid_by_name(conn, value)


def plan_import(
    conn: sqlite3.Connection,
    path: str | Path,
    *,
    default_grid: Grid | None = None,
    progress: Progress | None = None,
    today: date | None = None,
    reach: Callable[[Grid], bool] | None = None,
    create_grid: Callable[[str, str, str], Grid | None] | None = None,
) -> ImportPlan:
    """Read and judge every row; raises :class:`RosterUnreadable` when the file cannot be read.
    ``reach``: the grids the importing worker may write (a row of another grid is rejected).
    ``create_grid``: makes a grid the database lacks from a row's (street, community, grid),
    or None to leave it unknown (kiosk/households/roster/areas.py ``AreaMaker``; call inside
    the transaction that applies the plan)."""
    roster = open_roster(path)
    try:
        plan = ImportPlan(path=Path(path), format=roster.format, encoding=roster.encoding)
        planner = _Planner(conn, plan, default_grid, today or date.today(), reach, create_grid)
        saw_cells = False
        layouts: list[str] = []
        for sheet in roster.sheets():
            opening: list[Row] = []
            for row in sheet.rows:
                opening.append(row)
                if any(cell_text(v) for v in row.values):
                    saw_cells = True
                if len(opening) >= HEADER_SCAN_ROWS:
                    break
            layout = find_layout(opening)
            if layout is None:
                continue
            if not any(c.field == "grid" for c in layout.columns.values()) and default_grid is None:
                raise RosterUnreadable("no_grid", path=str(path))
            planner.start_sheet(sheet.name, layout)
            plan.sheets.append(sheet.name or "")
            layouts.append("household" if layout.per_household else "person")
            for h in layout.ignored:
                if h not in plan.ignored_columns:
                    plan.ignored_columns.append(h)
            for row in opening:
                if row.number > layout.header_row:
                    planner.take(row)
            for row in sheet.rows:
                planner.take(row)
                if progress and row.number % PROGRESS_EVERY == 0:
                    progress("roster.progress.read", {"rows": row.number})
        if not plan.sheets:
            raise RosterUnreadable("not_a_roster" if saw_cells else "empty", path=str(path))
        if plan.rows == 0:
            raise RosterUnreadable("no_rows", path=str(path))
        plan.layout = "/".join(sorted(set(layouts)))
        return plan
    finally:
        roster.close()


# --- writing ----------------------------------------------------------------------------------


class _DryRun(Exception):
    pass


def _member_input(p: Person) -> MemberInput:
    return MemberInput(
        name=p.name,
        relation=p.relation,
        gender=p.gender,
        phone=p.phone,
        id_number=p.id_number,
        birth_year=p.birth_year,
        tags=" ".join(p.tags),
        to_verify=" ".join(p.to_verify),
    )


def _merge_existing(
    ctx: WriteContext, household_id: str, hh: PlannedHousehold, result: ImportResult
) -> bool:
    conn = ctx.conn
    existing = conn.execute(
        "SELECT id, name, relation, gender, phone, id_number, birth_year, tags, to_verify"
        " FROM members WHERE household_id = ? ORDER BY position",
        (household_id,),
    ).fetchall()
    rows = [dict(r) for r in existing]
    changed = False
    for p in hh.people:
        match = None
        if p.id_number:
            match = next((r for r in rows if r["id_number"] == p.id_number), None)
        if match is None:
            match = next(
                (
                    r
                    for r in rows
                    if r["name"] == p.name
                    and (
                        not p.id_number
                        or not r["id_number"]
                        # a number kept as typed, now given right
                        or "id_number" in (r.get("to_verify") or "").split()
                    )
                ),
                None,
            )
        if match is None:
            mid = add_member(ctx, household_id, _member_input(p))
            rows.append(
                {
                    "id": mid,
                    "name": p.name,
                    "id_number": p.id_number,
                    "to_verify": " ".join(p.to_verify),
                }
            )
            result.imported_members += 1
            changed = True
            continue
        changes: dict[str, object] = {}
        for fld in ("name", "relation", "gender", "phone", "id_number", "birth_year"):
            value = getattr(p, fld)
            if value not in ("", None) and value != match[fld]:
                changes[fld] = value
        tags = set((match["tags"] or "").split()) | set(p.tags)
        if tags != set((match["tags"] or "").split()):
            changes["tags"] = " ".join(sorted(tags))
        # a number the row gives is doubtful or not as this row has it
        doubtful = set((match.get("to_verify") or "").split())
        was = set(doubtful)
        for fld in ("phone", "id_number"):
            if getattr(p, fld):
                (doubtful.add if fld in p.to_verify else doubtful.discard)(fld)
        if doubtful != was:
            changes["to_verify"] = " ".join(sorted(doubtful))
        if changes and update_member(ctx, match["id"], **changes):
            match.update(changes)
            changed = True
    row = conn.execute("SELECT tags, note FROM households WHERE id = ?", (household_id,)).fetchone()
    hh_changes: dict[str, object] = {}
    tags = set(row["tags"].split())
    if not hh.tags <= tags:
        hh_changes["tags"] = tags | hh.tags
    if hh.notes and not row["note"]:
        hh_changes["note"] = "；".join(hh.notes)
    if hh_changes and update_household(ctx, household_id, **hh_changes):
        changed = True
    return changed


#: search keys of new households held before they are written, in key order, at most (200,000
#: people have about 1.1 million: 130 MB held at once)
SEARCH_KEYS_AT_ONCE = 50_000


def apply_plan(
    ctx: WriteContext, plan: ImportPlan, *, dry_run: bool = False, progress: Progress | None = None
) -> ImportResult:
    """Write every planned household in one transaction (rolled back when ``dry_run``)."""
    result = ImportResult()
    total = len(plan.households)
    try:
        with transaction(ctx.conn):
            compounds: dict[tuple[str, str], str] = {}
            # the new households' search keys, written at the end in key order
            search_keys: list[tuple[str, int]] = []
            for done, hh in enumerate(plan.households.values(), start=1):
                ckey = (hh.grid.id, hh.compound)
                if ckey not in compounds:
                    compounds[ckey] = get_or_create_compound(ctx, hh.grid.id, hh.compound).id
                compound_id = compounds[ckey]
                try:  # a household at an address already registered is merged instead
                    create_household(
                        ctx,
                        grid_id=hh.grid.id,
                        compound_id=compound_id,
                        building=hh.building,
                        unit=hh.unit,
                        room=hh.room,
                        tags=hh.tags,
                        note="；".join(hh.notes),
                        members=[_member_input(p) for p in hh.people],
                        search_keys=search_keys,
                    )
                    result.imported_households += 1
                    result.imported_members += len(hh.people)
                except DuplicateAddress as known:
                    if _merge_existing(ctx, known.household_id, hh, result):
                        result.updated += 1
                    else:
                        result.unchanged += 1
                if len(search_keys) >= SEARCH_KEYS_AT_ONCE:  # bounded: a street's roster
                    write_search_keys(ctx.conn, search_keys)
                    search_keys.clear()
                if progress and done % PROGRESS_EVERY == 0:
                    progress("roster.progress.write", {"done": done, "total": total})
            write_search_keys(ctx.conn, search_keys)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result

"""Where an operation belongs and whether its device may send it: decided from what the hub
knows, never from what the operation claims.

Every operation touches one record and names others (``db.replication.ENTITIES``: ``refs``,
the owner first). The hub remembers, for every record it holds, the grid it belongs to
(``hub_scope``). An operation is checked against the records as the hub knows them:

* the record it touches: an update of a record the hub does not hold is refused
  (``unknown_record``); its grid must be in the device's reach;
* every record it names: each must be held by the hub (``unknown_parent``) and lie in the
  device's reach (``out_of_scope``), whatever grid the payload claims for itself;
* a new record belongs to its owner's grid (the first record it names; a ``grid`` is its own
  grid); a field laptop's new records must belong to one of its grids (one of an entity
  declared ``global_ok``, an anonymous questionnaire answer, that names none belongs to the
  laptop's first grid);
* an update that names a new owner moves the record (and what belongs to it) to the owner's
  grid, which must be in reach too;
* entities ``managed`` by the office or the administrator are refused from devices of a lesser
  role (``role``), whatever worker the operation names.

Nothing here touches the database: the store loads the scope of every record a batch touches
or names (:func:`keys_of`) in one query per entity, runs :class:`Checker` over the batch in
memory, and writes what it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from db.replication import ADMIN, ENTITIES, OFFICE, Entity
from kiosk.sync.protocol import Op

#: Device roles (docs/sync.md, "Devices"): a field laptop works its grids; an office device a
#: community (or every grid); the administrator's device also manages workers, devices, grids.
FIELD_DEVICE, OFFICE_DEVICE, ADMIN_DEVICE = "field", "office", "admin"
#: a community's resident self-service counter: reads its community's cases, sends only a
#: resident's rating and anonymous suggestions (:func:`counter_may_send`)
COUNTER_DEVICE = "counter"
DEVICE_ROLES = (FIELD_DEVICE, OFFICE_DEVICE, ADMIN_DEVICE, COUNTER_DEVICE)
_RANK = {FIELD_DEVICE: 0, OFFICE_DEVICE: 1, ADMIN_DEVICE: 2, COUNTER_DEVICE: 0}
#: the ``source`` of a rating a resident gave at the counter (kiosk/security/roles.py)
RESIDENT_SOURCE = "resident kiosk"
#: what a counter pulls: enough to show a slip's case and to check an administrator's PIN,
#: never a household, member, visit or questionnaire answer
COUNTER_PULLS = ("grid", "worker", "department", "case_rule", "case", "case_event", "label")
_NEEDS = {OFFICE: OFFICE_DEVICE, ADMIN: ADMIN_DEVICE}
INSERTS = frozenset({"insert", "append"})

Key = tuple[str, str]
#: What the hub knows of a record: its grid (None: global). A key absent from the map is a
#: record the hub does not hold.
Scope = dict[Key, str | None]


@dataclass(frozen=True)
class Reach:
    """What a device may touch: its role and the ids of its grids (None: every grid)."""

    role: str
    grids: frozenset[str] | None

    @classmethod
    def everything(cls) -> Reach:
        """An administrator's import on the hub itself (a seed, a bundle read by hand)."""
        return cls(ADMIN_DEVICE, None)

    def holds(self, grid: str | None) -> bool:
        return grid is None or self.grids is None or grid in self.grids


class Refused(Exception):
    """One operation refused: a stable code (``sync.hub_error.<code>``) and its parameters."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = {k: str(v) for k, v in params.items()}


class Verdict(NamedTuple):
    """An accepted operation: the grid it is tagged with, and what it teaches the hub. (A
    named tuple: one is made for every operation of every push.)"""

    grid: str | None
    #: a new record: (entity, id, grid, owner entity, owner id) for ``hub_scope``
    new: tuple[str, str, str | None, str | None, str | None] | None = None
    #: an update naming its record's owner: (entity, id, new grid, owner, old grid); the
    #: record, and what belongs to it when the grid changed, follow the owner
    moved: tuple[str, str, str | None, Key, str | None] | None = None
    #: the record is held already (an insert sent again): acknowledge it, store nothing
    held: bool = False


def ref_values(ent: Entity, payload: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(field, entity, id) of the records a payload names through its declared fields."""
    for fname, target in ent.refs:
        value = payload.get(fname)
        if isinstance(value, str) and value:
            yield fname, target, value


def keys_of(ops: Iterable[Op]) -> set[Key]:
    """Every record a batch touches or names: what the store must look up first."""
    keys: set[Key] = set()
    add, entities = keys.add, ENTITIES
    for op in ops:  # the hot loop of a push: ref_values inlined
        add((op.entity, op.entity_id))
        ent = entities.get(op.entity)
        if ent is not None:
            payload = op.payload
            for fname, target in ent.refs:
                value = payload.get(fname)
                if value and isinstance(value, str):
                    add((target, value))
    return keys


#: the rank a device needs for an entity's records, by entity (0: any device)
_NEED_RANK = {name: _RANK[_NEEDS[e.managed]] if e.managed in _NEEDS else 0
              for name, e in ENTITIES.items()}  # fmt: skip


@dataclass
class Checker:
    """Checks a batch's operations in order, against ``scope`` (updated as the batch creates
    and moves records, so its later operations see them)."""

    reach: Reach
    scope: Scope

    def __post_init__(self) -> None:
        self._rank = _RANK[self.reach.role]

    def check(self, op: Op) -> Verdict:
        """The verdict on one operation (raises :class:`Refused`). The hot loop of a push:
        called for each of its operations."""
        entity = op.entity
        ent = ENTITIES.get(entity)
        if ent is None:
            raise Refused("unknown_entity", entity=entity)
        key = (entity, op.entity_id)
        kind = op.kind
        if entity == "case_event" or self.reach.role == COUNTER_DEVICE:
            _check_source(op, self.reach.role)
        if kind in INSERTS:
            if key in self.scope:
                # An insert of a record the hub holds (sent again, or seeded from the same
                # roster): a set union changes nothing. Acknowledged if the record is in
                # reach.
                grid = self.scope[key]
                if not self.reach.holds(grid):
                    raise Refused("out_of_scope", field="id")
                return Verdict(grid, held=True)
            self._role(entity)
            return self._insert(op, ent, key)
        self._role(entity)
        if kind == "update":
            return self._update(op, ent, key, key in self.scope)
        raise Refused("unsupported", kind=kind)

    def _role(self, entity: str) -> None:
        """Entities ``managed`` by the office or the administrator need a device of that rank."""
        need = _NEED_RANK[entity]
        if need > self._rank:
            raise Refused("role", entity=entity, needs=DEVICE_ROLES[need])

    def _named(self, op: Op, ent: Entity) -> list[tuple[str, str, str, str | None]]:
        """(field, entity, id, grid) of every record ``op`` names; each must be held by the hub
        and lie in reach."""
        out = []
        scope, grids, payload = self.scope, self.reach.grids, op.payload
        for fname, target in ent.refs:
            value = payload.get(fname)
            if not value or not isinstance(value, str):
                continue
            key = (target, value)
            if key not in scope:
                # A grid too is named by its id: the hub knows it once its insert is held.
                raise Refused("unknown_parent", field=fname)
            grid: str | None = value if target == "grid" else scope[key]
            if grid is not None and grids is not None and grid not in grids:  # Reach.holds
                raise Refused("out_of_scope", field=fname)
            out.append((fname, target, value, grid))
        return out

    def _insert(self, op: Op, ent: Entity, key: Key) -> Verdict:
        if op.entity == "grid":
            grid: str | None = op.entity_id
            owner: Key | None = None
        else:
            named = self._named(op, ent)
            grid, owner = (named[0][3], (named[0][1], named[0][2])) if named else (None, None)
            _consistent(named, grid)
        if grid is None and self.reach.role in (FIELD_DEVICE, COUNTER_DEVICE):
            # A field laptop's records belong to its grids: one that names no grid (an
            # anonymous questionnaire answer) belongs to the laptop's first grid, so it
            # reaches that grid's laptops and the office, not every laptop of the district.
            if not ent.global_ok or not self.reach.grids:
                raise Refused("out_of_scope", field=ent.owner[0] if ent.owner else "id")
            grid = min(self.reach.grids)
        if not self.reach.holds(grid):
            raise Refused("out_of_scope", field="id")
        self.scope[key] = grid
        return Verdict(
            grid,
            new=(
                op.entity,
                op.entity_id,
                grid,
                owner[0] if owner else None,
                owner[1] if owner else None,
            ),
        )

    def _update(self, op: Op, ent: Entity, key: Key, known: bool) -> Verdict:
        if not known:
            raise Refused("unknown_record")
        if ent.policy != "lww":
            raise Refused("unsupported", kind=op.kind)
        grid = self.scope[key]
        if not self.reach.holds(grid):
            raise Refused("out_of_scope", field="id")
        named = self._named(op, ent)
        if not named:  # most updates change fields of the record itself
            return Verdict(grid)
        owner_field = ent.refs[0][0] if ent.refs else None
        for fname, target, value, new_grid in named:
            if fname == owner_field:
                if new_grid is None and self.reach.role == FIELD_DEVICE and not ent.global_ok:
                    raise Refused("out_of_scope", field=fname)
                self.scope[key] = new_grid
                return Verdict(
                    new_grid, moved=(op.entity, op.entity_id, new_grid, (target, value), grid)
                )
        _consistent(named, grid)
        return Verdict(grid)


def _consistent(named: list[tuple[str, str, str, str | None]], grid: str | None) -> None:
    """A record that names a grid besides its owner (a visit's ``grid_id``) names its own."""
    for fname, target, _value, ref_grid in named[1:]:
        if target == "grid" and ref_grid != grid:
            raise Refused("out_of_scope", field=fname)


def _resident_rating(op: Op) -> bool:
    """Is ``op`` a new ``rate`` event marked as given by the resident at the counter?"""
    import json

    payload = op.payload
    if op.entity != "case_event" or payload.get("type") != "rate":
        return False
    data = payload.get("data")
    try:
        parsed = json.loads(data) if isinstance(data, str) else None
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("source") == RESIDENT_SOURCE


def _check_source(op: Op, role: str) -> None:
    """A counter sends a resident's rating of a case and anonymous feedback, nothing else; and
    a rating marked as the resident's comes from a counter only (a laptop cannot pass its own
    off as one)."""
    resident = _resident_rating(op)
    if role != COUNTER_DEVICE:
        if resident and op.kind in INSERTS:
            raise Refused("counter_only", entity=op.entity)
        return
    if op.kind in INSERTS and (resident or op.entity == "feedback"):
        if op.entity == "feedback" and not op.payload.get("anonymous"):
            raise Refused("counter", entity=op.entity)
        return
    raise Refused("counter", entity=op.entity)

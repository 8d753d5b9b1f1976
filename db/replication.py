"""Which entities replicate, into which table, how they merge, and where they belong.

Every ``ctx.emit(entity, ...)`` names an entity listed here. ``lww`` entities merge field by
field, last writer wins by (HLC, device id), concurrent edits of one field become conflicts;
``append`` entities are immutable rows merged as a set union (INSERT OR IGNORE by id).

**Where a record belongs** is declared here too, once for the laptop and the hub: ``refs``
lists the fields that name other records, ``(field, entity)``, the owner first. A record's
grid is its owner's grid (a ``grid`` record is its own grid); a record whose owner field is
empty belongs to no grid (it is global). Every record a row names must lie in the writer's
scope, whoever checks: the laptop before it writes (kiosk/security/scope.py), the hub before it
stores an operation (kiosk/hub/store/base.py), each from its own knowledge of the named records,
never from what a payload claims about itself.

``managed`` says which kind of device may write an entity at all: ``grid`` (any device whose
scope holds the record's grid), ``office`` (office and administrator devices: questionnaires)
or ``admin`` (the administrator's device only: workers, devices, grids).
``global_ok``: a field laptop may create records of this entity that belong to no grid
(an anonymous questionnaire answer).
"""

from __future__ import annotations

from dataclasses import dataclass

GRID, OFFICE, ADMIN = "grid", "office", "admin"


@dataclass(frozen=True)
class Entity:
    table: str
    policy: str  # "lww" or "append"
    key: str = "id"
    refs: tuple[tuple[str, str], ...] = ()
    managed: str = GRID
    global_ok: bool = False

    @property
    def owner(self) -> tuple[str, str] | None:
        """The field naming the record this one belongs to, and its entity (None: global)."""
        return self.refs[0] if self.refs else None


ENTITIES: dict[str, Entity] = {
    "device": Entity("devices", "lww", managed=ADMIN),
    "worker": Entity("workers", "lww", managed=ADMIN),
    "grid": Entity("grids", "lww", managed=ADMIN),
    "compound": Entity("compounds", "lww", refs=(("grid_id", "grid"),)),
    "household": Entity(
        "households", "lww", refs=(("grid_id", "grid"), ("compound_id", "compound"))
    ),
    "member": Entity("members", "lww", refs=(("household_id", "household"),)),
    # visits: immutable records, merged as a set union
    "visit": Entity("visits", "append", refs=(("household_id", "household"), ("grid_id", "grid"))),
    "visit_item": Entity(
        "visit_items", "append", refs=(("visit_id", "visit"), ("case_id", "case"))
    ),
    "feedback": Entity("feedback", "append", refs=(("grid_id", "grid"),)),
    "survey": Entity("surveys", "append", managed=OFFICE),
    # a community's responsible departments (责任单位): kept by its office, read everywhere
    "department": Entity("departments", "lww", managed=OFFICE),
    # a community's case rules (a category group's resolution needs a photo): its office's
    "case_rule": Entity("case_rules", "lww", managed=OFFICE),
    "survey_response": Entity(
        "survey_responses",
        "append",
        refs=(("household_id", "household"), ("survey_id", "survey")),
        global_ok=True,
    ),
    # cases: registration, households involved and events are immutable
    "case": Entity("cases", "append", refs=(("grid_id", "grid"), ("visit_id", "visit"))),
    "case_household": Entity(
        "case_households", "append", refs=(("case_id", "case"), ("household_id", "household"))
    ),
    "case_event": Entity("case_events", "append", refs=(("case_id", "case"),)),
    # photos on a case's events: the record replicates; the picture (photo_blobs) moves apart
    "photo": Entity("photos", "append", refs=(("case_id", "case"), ("event_id", "case_event"))),
    # photos on community feedback: owned by the feedback, so held to its grid (a field
    # laptop's to its grids; the whole community's feedback, no grid, an office device's)
    "feedback_photo": Entity("feedback_photos", "append", refs=(("feedback_id", "feedback"),)),
    # QR labels: inserted once, later only retired (retired_at NULL -> time)
    "label": Entity("labels", "lww", refs=(("household_id", "household"), ("case_id", "case"))),
}

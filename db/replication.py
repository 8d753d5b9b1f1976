"""Which entities replicate, into which table, and how they merge.

Every ``ctx.emit(entity, ...)`` names an entity listed here. ``lww`` entities merge field by
field, last writer wins by (HLC, device id), concurrent edits of one field become conflicts;
``append`` entities are immutable rows merged as a set union (INSERT OR IGNORE by id).
Each feature adds its entities to :data:`ENTITIES`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    table: str
    policy: str  # "lww" or "append"
    key: str = "id"


ENTITIES: dict[str, Entity] = {
    "device": Entity("devices", "lww"),
    "worker": Entity("workers", "lww"),
    "grid": Entity("grids", "lww"),
    "compound": Entity("compounds", "lww"),
    "household": Entity("households", "lww"),
    "member": Entity("members", "lww"),
    # visits (issue 3): immutable records, merged as a set union
    "visit": Entity("visits", "append"),
    "visit_item": Entity("visit_items", "append"),
    "feedback": Entity("feedback", "append"),
    "survey": Entity("surveys", "append"),
    "survey_response": Entity("survey_responses", "append"),
    # cases (issue 4): registration, households involved and events are immutable
    "case": Entity("cases", "append"),
    "case_household": Entity("case_households", "append"),
    "case_event": Entity("case_events", "append"),
    # QR labels (issue 5): inserted once, later only retired (retired_at NULL -> time)
    "label": Entity("labels", "lww"),
}

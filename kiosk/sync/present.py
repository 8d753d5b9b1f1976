"""How conflicts read to a person (CLI and screens): phone and ID numbers masked."""

from __future__ import annotations

from typing import Any

from db.normalize import mask_id_number, mask_phone
from db.sync import Conflict
from kiosk.i18n import has, t

_MASKS = {"phone": mask_phone, "id_number": mask_id_number}


def show_value(field: str, value: Any) -> str:
    if value is None:
        return ""
    mask = _MASKS.get(field)
    return mask(str(value)) if mask else str(value)


def field_label(field: str) -> str:
    return t(f"col.{field}") if has(f"col.{field}") else field


def conflict_row(c: Conflict) -> dict[str, Any]:
    return {
        "id": c.id,
        "entity": c.entity,
        "entity_id": c.entity_id,
        "record": f"{c.entity} {c.entity_id[-8:]}",
        "field": field_label(c.field),
        "mine": show_value(c.field, c.local_value),
        "theirs": show_value(c.field, c.remote_value),
        "applied": t("sync.winner_local" if c.winner == "local" else "sync.winner_remote"),
        "detected_at": c.detected_at,
    }

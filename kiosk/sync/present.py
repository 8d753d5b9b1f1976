"""How conflicts read to a person (CLI and screens): phone and ID numbers masked."""

from __future__ import annotations

from typing import Any

from db.sync import Conflict
from kiosk.i18n import has, t
from kiosk.privacy import mask


def show_value(field: str, value: Any) -> str:
    return mask(field, value)


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

"""Masking: how phone and ID numbers show in every list, screen and export, and what a
forgotten household shows instead of its people (docs/security.md "Privacy")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from db.normalize import mask_id_number, mask_phone
from kiosk.core.i18n import t

#: Fields shown masked, and how. Everything that shows a member goes through :func:`mask`.
MASKS: dict[str, Callable[[str], str]] = {"phone": mask_phone, "id_number": mask_id_number}


def mask(field: str, value: Any) -> str:
    """``value`` as a list, screen or export shows ``field``: phone and ID numbers masked
    (138****5678, 230102********1234), anything else as text."""
    if value is None:
        return ""
    masker = MASKS.get(field)
    return masker(str(value)) if masker else str(value)


def forgotten_label() -> str:
    """What a forgotten household shows instead of its people and address."""
    return t("privacy.forgotten")

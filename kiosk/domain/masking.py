"""Masking: how phone and ID numbers show in every list, screen and export, and what a
forgotten household shows instead of its people (docs/security.md "Privacy")."""

from __future__ import annotations

import re
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


#: A mainland mobile number or an 18-character ID number typed into free text (a case's
#: summary, a note, who raised it), not run into other digits.
_NUMBERS_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:[1-9][0-9]{16}[0-9Xx]|1[3-9][0-9]{9})(?![0-9])")


def mask_numbers_in_text(text: str | None) -> str:
    """``text`` with the phone and ID numbers in it masked as lists mask them (a worker may
    type "王阿姨 13812345678" into who raised a case): for what leaves the laptop as a file."""
    if not text:
        return ""

    def masked(m: re.Match[str]) -> str:
        number = m.group(0)
        return mask("id_number" if len(number) == 18 else "phone", number)

    return _NUMBERS_IN_TEXT.sub(masked, text)

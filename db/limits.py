"""How big a replicated record may be: one table for the laptop and the hub.

Every operation's payload is checked against it before it is written on a laptop (the write
guard, kiosk/security/roles.py) and before the hub stores it (kiosk/hub/store/base.py ``op_checks``): a
15 MB note must not reach the hub, nor from the hub every laptop of the grid. The limits are
generous for people (a visit's note of 2,000 characters is a long page) and small for
machines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

#: characters in a text field not listed below
DEFAULT_TEXT = 4_000
#: ids, stamps, codes: every ``id`` and ``*_id`` field
ID_TEXT = 64
#: per field name, whatever the entity (characters)
FIELD_TEXT = {
    "name": 64,
    "head_name": 64,
    "raised_by": 64,
    "relation": 32,
    "gender": 8,
    "phone": 32,
    "id_number": 32,
    "to_verify": 64,
    "building": 32,
    "unit": 32,
    "room": 32,
    "number": 32,
    "code": 32,
    "category": 64,
    "category_group": 64,
    "kind": 32,
    "type": 32,
    "visit_type": 32,
    "source": 32,
    "role": 32,
    "community": 64,
    "street": 64,
    "district": 64,
    "title": 200,
    "version": 64,
    "pinyin": 200,
    "initials": 64,
    "place": 200,
    "address_key": 200,
    "note": 2_000,
    "text": 2_000,
    "summary": 2_000,
    # JSON carried as text
    "tags": 1_000,
    "grids": 4_000,
    "met": 4_000,
    "data": 8_000,
    "answers": 32_000,
    "field_bases": 8_000,
    "definition": 1_000_000,
    "pin_hash": 256,
    "sha256": 64,
}
#: an operation's payload, encoded (bytes); a questionnaire carries its whole form
MAX_PAYLOAD_BYTES = 64 * 1024
PAYLOAD_BYTES = {"survey": 2 * 1024 * 1024}
#: nesting of a payload's values (the payload itself is level 1)
MAX_DEPTH = 4
#: fields in one payload
MAX_KEYS = 64
#: integers a JSON reader anywhere reads exactly
MAX_INT = 2**53


@dataclass(frozen=True)
class Violation:
    """What is wrong with a payload: ``code`` is ``too_long`` (a field, in characters),
    ``too_large`` (the whole payload, in bytes), ``too_deep``, ``too_many`` (fields) or
    ``bad_value`` (a number out of range, a value of no JSON type)."""

    code: str
    field: str
    limit: int


def text_limit(field: str) -> int:
    limit = _TEXT_LIMITS.get(field)
    if limit is None:
        if field == "id" or field.endswith("_id") or field in ("hlc", "base_version"):
            limit = ID_TEXT
        else:
            limit = FIELD_TEXT.get(field, DEFAULT_TEXT)
        if len(_TEXT_LIMITS) < 4096:  # field names come from outside at the hub: bounded
            _TEXT_LIMITS[field] = limit
    return limit


# field name -> its limit, as text_limit() decided it (every operation asks, per field)
_TEXT_LIMITS: dict[str, int] = {}


def _value(field: str, value: Any, depth: int) -> Violation | None:
    if isinstance(value, str):
        limit = text_limit(field)
        return Violation("too_long", field, limit) if len(value) > limit else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if -MAX_INT <= value <= MAX_INT else Violation("bad_value", field, MAX_INT)
    if isinstance(value, float):
        return None if value == value and abs(value) <= 1e300 else Violation("bad_value", field, 0)
    if isinstance(value, (list, dict)):
        if depth >= MAX_DEPTH:
            return Violation("too_deep", field, MAX_DEPTH)
        items = value.values() if isinstance(value, dict) else value
        if len(value) > DEFAULT_TEXT:
            return Violation("too_long", field, DEFAULT_TEXT)
        for item in items:
            bad = _value(field, item, depth + 1)
            if bad is not None:
                return bad
        return None
    return Violation("bad_value", field, 0)


def check_payload(entity: str, payload: Any, *, size: int | None = None) -> Violation | None:
    """The first thing wrong with ``payload`` for a record of ``entity``, or None. Never
    raises, whatever it is given. ``size``: the payload's length encoded as JSON, when the
    caller has encoded it already (the hub stores that text)."""
    if not isinstance(payload, dict):
        return Violation("bad_value", "payload", 0)
    if len(payload) > MAX_KEYS:
        return Violation("too_many", "payload", MAX_KEYS)
    limits = _TEXT_LIMITS
    for field, value in payload.items():
        if type(value) is str and type(field) is str:  # most fields: text, checked here
            limit = limits.get(field)  # a name remembered there was of a length allowed
            if limit is None:
                if len(field) > ID_TEXT:
                    return Violation("bad_value", "payload", ID_TEXT)
                limit = text_limit(field)
            if len(value) > limit:
                return Violation("too_long", field, limit)
            continue
        if not isinstance(field, str) or len(field) > ID_TEXT:
            return Violation("bad_value", "payload", ID_TEXT)
        bad = _value(field, value, 1)
        if bad is not None:
            return bad
    limit = PAYLOAD_BYTES.get(entity, MAX_PAYLOAD_BYTES)
    if size is None:
        try:
            size = len(msgspec.json.encode(payload))
        except (TypeError, ValueError, OverflowError):
            return Violation("bad_value", "payload", 0)
    return Violation("too_large", "payload", limit) if size > limit else None

"""Turning names, addresses and phone numbers into search keys.

These functions run at write time (to fill ``search_terms``) and at query time (to build the
lookup), so both sides always agree. They are pure and cached: the demo calls them millions
of times.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache

MAX_QUERY_CHARS = 64
MAX_SURNAME_READINGS = 4

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[a-z]")


def is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


@lru_cache(maxsize=65536)
def char_readings(ch: str) -> tuple[str, ...]:
    """Every pinyin reading of one character (toneless, ü written as v), default first."""
    if not is_cjk(ch):
        return (ch.lower(),) if ch.isalnum() else ("",)
    # Imported on first use (searching by address or phone, and starting the app, never need
    # it), and without its phrase dictionary: readings are asked for one character at a time,
    # which the phrases never change (checked for all 41,923 characters of its dictionary),
    # and they took 34 of its 55 MB and most of its 0.2 s import.
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
    os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
    from pypinyin import Style, pinyin

    readings = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    out: list[str] = []
    for r in readings[0] if readings else []:
        r = r.replace("ü", "v")
        if r and r not in out:
            out.append(r)
    return tuple(out) or ("",)


def name_pinyin(name: str) -> list[tuple[str, str]]:
    """(full pinyin, initials) for each reading of the surname's first character.

    Surnames such as 曾 (zeng/ceng) and 单 (shan/dan) are read differently as surnames than in
    ordinary words, so every reading of the first character is indexed; the rest of the name
    takes each character's default reading.
    """
    chars = [c for c in name if not c.isspace()]
    if not chars:
        return []
    rest_full, rest_init = _default_pinyin("".join(chars[1:]))
    out = []
    for first in char_readings(chars[0])[:MAX_SURNAME_READINGS]:
        out.append((first + rest_full, first[:1] + rest_init))
    return out


@lru_cache(maxsize=65536)
def _default_pinyin(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of ``text`` read with each character's default reading (a
    name's given part: a district has a few thousand, shared by a million people)."""
    readings = [char_readings(c)[0] for c in text]
    return "".join(readings), "".join(r[:1] for r in readings)


def clean_query(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), lower case, trimmed, capped."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(ch for ch in text if ch.isprintable())
    return text.strip().lower()[:MAX_QUERY_CHARS]


def digits(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text or "") if ch.isdigit())


# Address markers in the spellings street offices use: 3栋2单元501, 3号楼2单元501室,
# 3幢2单元501号, 3#2-501, 3-2-501, 3 2 501.
_BUILDING = r"(?:号楼|栋|幢|座|号院|楼)"
_UNIT = r"(?:单元|门)"
_ROOM = r"(?:室|号|户)"
_ADDRESS_CHARS = re.compile(r"^[0-9a-z\-#/\s\.栋幢座号楼单元门室户院]+$")
_HAS_ADDRESS_MARKER = re.compile(r"[0-9](?:号楼|栋|幢|座|楼|单元|门|室|#|-|/|\s)")


def _component(c: str) -> str:
    c = c.strip()
    return str(int(c)) if c.isdigit() else c


def address_key(building: str, unit: str, room: str) -> str:
    """The canonical ``building-unit-room`` key stored for a household."""
    parts = (str(building), str(unit), str(room))
    if all(p.isascii() and p.isdigit() and p[0] != "0" for p in parts):
        return "-".join(parts)  # fast path: plain numbers are already canonical
    return "-".join(_component(clean_query(x)) for x in parts)


def split_address(text: str) -> tuple[list[str], bool]:
    """Split an address fragment into components.

    Returns the components and whether the last one is complete (followed by a marker such
    as 栋 or 单元), in which case a search may require the next separator after it.
    """
    t = clean_query(text)
    t = re.sub(_BUILDING, "-", t)
    t = re.sub(_UNIT, "-", t)
    t = re.sub(_ROOM, "-", t)
    t = re.sub(r"[#/\s\._]+", "-", t)
    complete = t.endswith("-")
    parts = [p for p in t.split("-") if p]
    return [_component(p) for p in parts], complete


def parse_address(text: str) -> tuple[str, str, str] | None:
    """A full address fragment as (building, unit, room), or None if it is not one."""
    parts, _ = split_address(text)
    if len(parts) != 3 or not all(p.isalnum() for p in parts):
        return None
    return parts[0], parts[1], parts[2]


def looks_like_address(text: str) -> bool:
    t = clean_query(text)
    return bool(t) and bool(_HAS_ADDRESS_MARKER.search(t)) and bool(_ADDRESS_CHARS.match(t))


def split_compound_prefix(text: str) -> tuple[str, str]:
    """'阳光小区3栋2单元501' -> ('阳光小区', '3栋2单元501'); no address part -> (text, '')."""
    t = clean_query(text)
    # The address is the longest tail that reads as one; a compound's own name may hold
    # digits or letters (阳光小区12期, A区), so try each split point from the left.
    for m in re.finditer(r"[0-9a-z]", t):
        head, tail = t[: m.start()], t[m.start() :]
        if head and is_cjk(head[0]) and looks_like_address(tail):
            return head, tail
    return "", t


# --- search terms stored per household -------------------------------------------------

_PLAIN_NAME = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]+$")


def is_plain_name(name: str) -> bool:
    """A name of CJK characters only (most are): its ``n:`` key is the name itself."""
    return _PLAIN_NAME.match(name) is not None


@lru_cache(maxsize=262144)
def name_terms(name: str) -> tuple[str, ...]:
    """The keys of one person's name: the name itself, and full pinyin and initials for each
    reading of the surname. Cached: a district's million households share far fewer names."""
    if not _PLAIN_NAME.match(name):  # fast path: most names are CJK characters only
        name = clean_query(name).replace(" ", "")
    if not name:
        return ()
    terms = ["n:" + name]
    for full, initials in name_pinyin(name):
        if full:
            terms.append("p:" + full)
        if initials:
            terms.append("i:" + initials)
    return tuple(dict.fromkeys(terms))


def member_terms(name: str, phone: str) -> set[str]:
    terms = set(name_terms(name))
    d = phone if phone.isascii() and phone.isdigit() else digits(phone)
    if len(d) >= 4:
        terms.add("t:" + d[-4:])
    return terms


def household_terms(
    building: str, unit: str, room: str, members: list[tuple[str, str]], key: str | None = None
) -> set[str]:
    """All search keys of a household: its address and each member's name and phone."""
    terms = {"a:" + (key or address_key(building, unit, room))}
    for name, phone in members:
        terms.update(name_terms(name))
        d = phone if phone.isascii() and phone.isdigit() else digits(phone)
        if len(d) >= 4:
            terms.add("t:" + d[-4:])
    return terms


def compound_pinyin(name: str) -> tuple[str, str]:
    return _default_pinyin("".join(c for c in name if not c.isspace()))


def mask_phone(phone: str) -> str:
    """138****5678: enough to confirm with the resident, not enough to misuse."""
    d = phone.strip()
    if not d:
        return ""
    if len(d) <= 4:
        return "*" * len(d)
    if len(d) <= 7:
        return "*" * (len(d) - 4) + d[-4:]
    return d[:3] + "*" * (len(d) - 7) + d[-4:]


def mask_id_number(id_number: str) -> str:
    """110105********1234: region and last four only."""
    d = id_number.strip()
    if not d:
        return ""
    if len(d) <= 8:
        return "*" * len(d)
    return d[:6] + "*" * (len(d) - 10) + d[-4:]

"""Label payloads: ``HH1:`` (household label) or ``CS1:`` (case slip) + a random 60-bit id in
Crockford base32 (12 characters) + a check character.

The check character is Crockford's mod-37 check symbol with two symbols swapped for QR
alphanumeric ones (Crockford's ``~`` and ``=`` are not in QR alphanumeric mode): values
32..36 are ``* + $ % U`` instead of ``* ~ $ = U``. ``~`` and ``=`` are still accepted when
typed. Everything in a payload is in the QR alphanumeric set, so a payload is a version-1 QR
code at error-correction level M.

Parsing accepts any letter case, hyphens and spaces anywhere, ``I``/``L`` for ``1`` and ``O``
for ``0``, and the colon may be left out. It distinguishes text that is not a label at all
(:class:`NotALabel`) from text that claims to be one but is damaged (:class:`InvalidLabel`:
too short, too long, a character outside the alphabet, or a wrong check character).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.labels import LABEL_ALPHABET, encode_label_id, new_label_code
from kiosk.core.errors import UserError

# The id alphabet and the random ids are the labels' own (db/labels.py).
ALPHABET = LABEL_ALPHABET
encode_id = encode_label_id
new_code = new_label_code
CHECK_SYMBOLS = ALPHABET + "*+$%U"
_VALUE = {ch: i for i, ch in enumerate(CHECK_SYMBOLS)}
# What people (and OCR) type for the digits, and Crockford's own symbols for 33 and 35.
_ALIASES = {"I": "1", "L": "1", "O": "0", "~": "+", "=": "%"}
_SEPARATORS = str.maketrans("", "", " -\t\u3000\u2010\u2011\u2012\u2013\u2014_")

KINDS = {"HH": "household", "CS": "case"}
ID_CHARS = 12  # 60 bits / 5 bits per character
BODY_CHARS = ID_CHARS + 1
#: Longest text worth looking at: a grouped payload with generous separators. Anything longer
#: is refused before any other work (a scanner gone mad, or a paste of a whole document).
MAX_INPUT = 64


class NotALabel(UserError):
    """The text does not start like a label payload (``HH1:`` or ``CS1:``)."""

    def __init__(self) -> None:
        super().__init__("qr.invalid.not_label")


class InvalidLabel(UserError):
    """The text claims to be a label but is damaged: the key names what is wrong."""

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(f"qr.invalid.{reason}", **params)
        self.reason = reason


@dataclass(frozen=True)
class Payload:
    kind: str  # "HH" or "CS"
    code: str  # the 12-character id, canonical (upper case, no aliases)

    @property
    def check(self) -> str:
        return check_symbol(self.code)

    @property
    def text(self) -> str:
        """What the QR code holds: ``HH1:7K3M9QDR2X4B*``."""
        return f"{self.kind}1:{self.code}{self.check}"

    @property
    def readable(self) -> str:
        """What is printed under the code, in groups of four: ``HH1:7K3M-9QDR-2X4B-*``."""
        body = self.code + self.check
        return f"{self.kind}1:" + "-".join(body[i : i + 4] for i in range(0, len(body), 4))


def decode_id(code: str) -> int:
    value = 0
    for ch in code:
        value = value << 5 | _VALUE[ch]
    return value


def check_symbol(code: str) -> str:
    return CHECK_SYMBOLS[decode_id(code) % 37]


def make(kind: str, code: str) -> Payload:
    if kind not in KINDS or len(code) != ID_CHARS or any(ch not in ALPHABET for ch in code):
        raise ValueError((kind, code))
    return Payload(kind, code)


def _normalise(text: str) -> str:
    return text.translate(_SEPARATORS).upper()


_PREFIXES = {f"{k}{v}:" for k in KINDS for v in ("1", "I", "L")}


def looks_like_label(text: str) -> bool:
    """Does this text claim to be a label (``HH1:``/``CS1:`` with the colon, any case)?

    Such text is treated as a scan attempt even when damaged; without the colon only a fully
    valid payload counts (so a search for "hh" stays a search).
    """
    return bool(text) and _normalise(text.strip()[:16])[:4] in _PREFIXES


def parse(text: str) -> Payload:
    """The payload in ``text``, or :class:`NotALabel` / :class:`InvalidLabel` saying why not."""
    if len(text) > MAX_INPUT:
        if _normalise(text.strip()[:16])[:3] in {p[:3] for p in _PREFIXES}:
            raise InvalidLabel("too_long", n=BODY_CHARS)
        raise NotALabel()
    s = _normalise(text.strip())
    kind = s[:2]
    if kind not in KINDS or len(s) < 3 or _ALIASES.get(s[2], s[2]) != "1":
        raise NotALabel()
    body = s[3:]
    if body.startswith(":"):
        body = body[1:]
    if len(body) < BODY_CHARS:
        raise InvalidLabel("too_short", n=BODY_CHARS, got=len(body))
    if len(body) > BODY_CHARS:
        raise InvalidLabel("too_long", n=BODY_CHARS)
    chars = [_ALIASES.get(ch, ch) for ch in body]
    for pos, ch in enumerate(chars[:ID_CHARS], start=1):
        if ch not in _VALUE or _VALUE[ch] >= 32:
            raise InvalidLabel("bad_char", pos=pos, char=body[pos - 1])
    if chars[ID_CHARS] not in _VALUE:
        raise InvalidLabel("bad_char", pos=BODY_CHARS, char=body[ID_CHARS])
    code = "".join(chars[:ID_CHARS])
    if check_symbol(code) != chars[ID_CHARS]:
        raise InvalidLabel("check")
    return Payload(kind, code)


def try_parse(text: str) -> Payload | None:
    try:
        return parse(text)
    except UserError:
        return None


def find_in(text: str) -> tuple[int, str] | None:
    """Where a label starts in ``text`` and that tail: a label may be typed after other text
    in a field. The first position whose tail is a valid label wins (a code may itself contain
    "HH1" or "CS1"); failing that, the first tail that claims to be a label (damaged)."""
    if not text:
        return None
    upper = text[-MAX_INPUT:].upper()
    offset = len(text) - len(upper)
    starts = sorted(
        {
            i
            for prefix in ("HH1", "CS1", "HHI", "HHL", "CSI", "CSL")
            for i in _occurrences(upper, prefix)
        }
    )
    claims = []
    for i in starts:
        tail = text[offset + i :]
        if try_parse(tail) is not None:
            return offset + i, tail
        if looks_like_label(tail):
            claims.append((offset + i, tail))
    return claims[0] if claims else None


def _occurrences(text: str, sub: str) -> list[int]:
    out, i = [], text.find(sub)
    while i >= 0:
        out.append(i)
        i = text.find(sub, i + 1)
    return out

"""The scanner wedge's decisions, pure and clock-driven (no Textual): is this typed text a
label, could a scanner still be typing one, and which keys came in one burst. The app binds
them to its key events (kiosk/app/scanner.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.core.errors import UserError
from kiosk.qr.payload import (
    ALPHABET,
    CHECK_SYMBOLS,
    ID_CHARS,
    MAX_INPUT,
    Payload,
    looks_like_label,
    parse,
    try_parse,
)

ENTER_KEYS = ("enter", "ctrl+j")


@dataclass(frozen=True)
class Verdict:
    """What a piece of typed text is: a label (``payload``), a damaged label (``error``), or
    neither (both None: the keys were meant for the widget)."""

    payload: Payload | None = None
    error: UserError | None = None

    @property
    def is_label(self) -> bool:
        return self.payload is not None or self.error is not None


def classify(text: str) -> Verdict:
    if not text:
        return Verdict()
    payload = try_parse(text)
    if payload is not None:
        return Verdict(payload=payload)
    if looks_like_label(text):
        try:
            parse(text)
        except UserError as exc:
            return Verdict(error=exc)
    return Verdict()


_CODE_CHARS = set(CHECK_SYMBOLS)


def scanner_prefix(text: str) -> bool:
    """Could a scanner still be typing a payload that begins with ``text``? Scanners type the
    QR content verbatim: no separators, ``HH1:``/``CS1:`` then 13 code characters; in upper
    case, or lower case when Caps Lock is on (the keys are then a scan, not shortcuts).
    """
    if not text or len(text) > 4 + ID_CHARS + 1:
        return False
    upper = text.upper()
    if text != upper and text != text.lower():
        return False  # mixed case is a person typing, never a scanner (Caps Lock flips all)
    text = upper
    for prefix in ("HH1:", "CS1:"):
        if prefix.startswith(text):
            return True
        if text.startswith(prefix):
            body = text[len(prefix) :]
            return all(ch in ALPHABET for ch in body[:ID_CHARS]) and all(
                ch in _CODE_CHARS for ch in body[ID_CHARS:]
            )
    return False


@dataclass
class KeyBurst:
    """The printable keys of the current burst: keys that came at most ``gap`` seconds apart."""

    gap: float
    chars: list[str] = field(default_factory=list)
    last: float | None = None
    head: str = ""  # the burst's first characters, kept when a long burst is trimmed
    count: int = 0  # keys in the burst, trimmed or not

    def feed(self, char: str, now: float) -> bool:
        """Add a key; returns True when it starts a new burst (the previous one is dropped)."""
        new = not self.fast(now)
        if new:
            self.chars.clear()
            self.head, self.count = "", 0
        self.chars.append(char)
        self.last = now
        self.count += 1
        if len(self.head) < 16:
            self.head += char
        if len(self.chars) > MAX_INPUT:
            del self.chars[: len(self.chars) - MAX_INPUT]
        return new

    @property
    def overlong_label(self) -> bool:
        """Did the burst start like a label and run on far past one (a scanner gone wrong)?"""
        return self.count > MAX_INPUT and looks_like_label(self.head)

    def fast(self, now: float) -> bool:
        """Is ``now`` still within the burst (a scanner's next key or its Enter)?"""
        return self.last is not None and bool(self.chars) and now - self.last <= self.gap

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def clear(self) -> None:
        self.chars.clear()
        self.last = None
        self.head, self.count = "", 0

"""Finding a font with Chinese glyphs for label sheets and case slips.

Order: the ``label_font`` setting (``KIOSK_LABEL_FONT``); then well-known files of the
Debian/Ubuntu packages ``fonts-wqy-microhei`` (what ``.ci/run`` and ``make fonts`` install)
and ``fonts-wqy-zenhei``, ``fonts-arphic-uming``, and the usual Windows and macOS fonts; then
fontconfig's choice for Simplified Chinese (``fc-match :lang=zh-cn``). A candidate counts only
if its character map covers the characters addresses use, so a Latin fallback that
fontconfig offers is never taken for a CJK font. None found: a clear message naming the
package to install and the setting to use.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kiosk.core.errors import UserError

#: A font is usable for labels when it has these (building, unit, room, compound, case...).
PROBE = "栋单元室小区号事项"

KNOWN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
)


@dataclass(frozen=True)
class CjkFont:
    path: str
    index: int = 0  # face number in a .ttc collection


def _covers(path: str, index: int) -> bool:
    try:
        from fontTools.ttLib import TTFont

        font = TTFont(path, fontNumber=index, lazy=True)
        cmap = font.getBestCmap() or {}
        # CFF outlines (most .otf/.otc CJK fonts) are not embedded by fpdf2 here.
        return "glyf" in font and all(ord(ch) in cmap for ch in PROBE)
    except Exception:  # noqa: BLE001 - an unreadable font is simply not a candidate
        return False


def _fontconfig() -> list[str]:
    exe = shutil.which("fc-match")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, "-f", "%{file}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


@lru_cache(maxsize=8)
def find_cjk_font(configured: str | None = None) -> CjkFont:
    """The font to use, or :class:`UserError` ``qr.font.missing`` / ``qr.font.unusable``."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise UserError("qr.font.configured_missing", path=str(path))
        if not _covers(str(path), 0):
            raise UserError("qr.font.unusable", path=str(path))
        return CjkFont(str(path))
    for candidate in (*KNOWN_FONTS, *_fontconfig()):
        if (
            Path(candidate).is_file()
            and candidate.lower().endswith((".ttf", ".ttc", ".otf"))
            and _covers(candidate, 0)
        ):
            return CjkFont(candidate)
    raise UserError("qr.font.missing")


def font_for(settings: object | None) -> CjkFont:
    return find_cjk_font(getattr(settings, "label_font", None) or None)

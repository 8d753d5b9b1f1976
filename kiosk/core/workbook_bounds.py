"""What a spreadsheet from outside may unpack to, checked before any reader opens it.

An .xlsx is a zip of XML: a 1 MB file may hold one 1 GB cell, or twenty million rows, and
openpyxl (even read-only) or pyxform would take gigabytes before noticing. The zip's own
directory says what each member unpacks to, so the check reads nothing but that.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

#: all members together, unpacked (a 20,000-person roster unpacks to about 15 MB)
MAX_UNPACKED = 200 * 1024 * 1024
#: a member larger than this unpacked must not be packed tighter than MAX_RATIO
RATIO_FLOOR = 8 * 1024 * 1024
MAX_RATIO = 100
MAX_MEMBERS = 2_000


@dataclass(frozen=True)
class TooBig:
    """Why a workbook is refused: ``what`` is ``unpacked`` (MiB), ``ratio`` or ``members``."""

    what: str
    limit: int


def check_workbook(path: Path) -> TooBig | None:
    """None when ``path`` (a zip) is safe to hand to a reader; else what is too big. A file
    that is not a readable zip is left to the reader, which says so in its own words."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if len(members) > MAX_MEMBERS:
        return TooBig("members", MAX_MEMBERS)
    total = 0
    for m in members:
        total += m.file_size
        if m.file_size > RATIO_FLOOR and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            return TooBig("ratio", MAX_RATIO)
    if total > MAX_UNPACKED:
        return TooBig("unpacked", MAX_UNPACKED // (1024 * 1024))
    return None

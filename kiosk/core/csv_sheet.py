"""One sheet written as CSV as its rows stream in: the ledgers and the roster export.

The file is what :class:`csv.writer` writes (the excel dialect: commas, ``\\r\\n``, a field
quoted when it holds a comma, a quote or a line break), as UTF-8 with a byte-order mark so
Excel reads Chinese correctly. Text that a spreadsheet would run as a formula is neutralised
with a leading apostrophe (:func:`kiosk.core.spreadsheet.neutralise`).

``csv.writer`` looks at every character of every cell; a ledger of 100,000 cases has 1.2–2
million cells and most rows need nothing. So a row is joined as it is, and the joined line is
checked once, with a few scans in C: a line with exactly one comma between each two cells,
no quote and no line break needs no quoting, and a line in which no cell starts with a
formula character needs no neutralising. Such a line is written as it is; any other row goes
through the careful path (neutralise each text cell, then ``csv.writer``). The careful path
is also taken when a cell is not text, so the fast path decides nothing the careful one
would decide differently: the tests compare both on generated rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kiosk.core.spreadsheet import DANGEROUS, DATE, DATETIME, INT, LABEL, TEXT, neutralise

#: lines joined before each write
_LINES_AT_ONCE = 512


class _Text(dict):
    """``memo[value]`` is the value's CSV text, worked out once per value: a ledger's days and
    counts repeat across 100,000 rows. ``None`` is an empty cell; a value that is not a number
    or a date (a device's text where a number belongs) is text, and neutralised, as the .xlsx
    writer makes it a text cell."""

    def __missing__(self, value: Any) -> str:
        if value is None:
            text = ""
        elif isinstance(value, (int, date)):
            text = str(value)
        else:
            text = neutralise(str(value))
        self[value] = text
        return text


def _minute(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    return "" if value is None else neutralise(str(value))


def _plain(line: str, commas: int) -> bool:
    """The line as joined needs neither quoting nor neutralising: one comma between each two
    cells (no cell holds one), no quote, no line break, no cell starting with a formula
    character. (Cells that are not text pass through here too; a date or a count never
    starts with one, and if one did, the careful path would only cost time.)"""
    return (
        line.count(",") == commas
        and '"' not in line
        and "\n" not in line
        and "\r" not in line
        and line[:1] not in DANGEROUS
        and ",-" not in line  # a case's id holds "-": looked for as a cell's start at once
        # the others rarely occur at all, and one character is found faster than two
        and ("=" not in line or ",=" not in line)
        and ("+" not in line or ",+" not in line)
        and ("@" not in line or ",@" not in line)
        and ("\t" not in line or ",\t" not in line)
    )


def write_csv(
    path: Path, headers: Sequence[str], kinds: Sequence[str], rows: Iterable[list]
) -> int:
    """Write ``rows`` under ``headers`` to ``path``; returns the rows written, the header not
    counted.

    ``kinds`` gives each column's kind: :data:`TEXT` (neutralised), :data:`LABEL` (words of
    the program's own catalogue, written as they are), :data:`INT`, :data:`DATE` (ISO text),
    :data:`DATETIME` (to the minute). ``None`` is an empty cell. Each row is a list, which
    is changed in place.
    """
    width = len(kinds)
    if width != len(headers):
        raise ValueError(f"{len(headers)} headers for {width} columns")
    texts = [i for i, k in enumerate(kinds) if k == TEXT]
    memos = [(i, _Text()) for i, k in enumerate(kinds) if k in (DATE, INT)]
    times = [i for i, k in enumerate(kinds) if k == DATETIME]
    unknown = set(kinds) - {TEXT, LABEL, DATE, INT, DATETIME}
    if unknown:
        raise ValueError(f"unknown column kinds {sorted(unknown)}")
    # a row of one empty cell is written as "" by csv.writer: rows that narrow take its path
    commas = width - 1 if width > 1 else -1
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("\ufeff")  # once: "utf-8-sig" would encode every line in Python code
        w = csv.writer(fh)
        w.writerow(headers)
        lines: list[str] = []
        for row in rows:
            if len(row) != width:
                raise ValueError(f"a row has {len(row)} cells, not {width}")
            for i, memo in memos:
                row[i] = memo[row[i]]
            for i in times:
                row[i] = _minute(row[i])
            try:
                line = ",".join(row)
            except TypeError:  # a cell that is not text (None, or a device's number)
                line = ""
            n += 1
            if line and _plain(line, commas):
                lines.append(line)
                if len(lines) >= _LINES_AT_ONCE:
                    lines.append("")
                    fh.write("\r\n".join(lines))
                    lines.clear()
                continue
            if lines:
                lines.append("")
                fh.write("\r\n".join(lines))
                lines.clear()
            _neutralise(row, texts)
            w.writerow(row)
        if lines:
            lines.append("")
            fh.write("\r\n".join(lines))
    return n


def _neutralise(row: list, texts: list[int]) -> None:
    for i in texts:
        v = row[i]
        if v.__class__ is not str:
            if v is None:
                continue
            v = row[i] = str(v)
        if v and v[0] in DANGEROUS:
            row[i] = "'" + v  # neutralise()

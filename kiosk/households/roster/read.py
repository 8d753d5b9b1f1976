"""Reading roster files row by row: .xlsx (streamed with openpyxl's read-only mode) and CSV
(UTF-8 with or without BOM, UTF-16, GBK/GB18030, detected).

The file's type is taken from its first bytes, not its name: a CSV saved as ``.xlsx`` or an
old ``.xls`` renamed still gets the right message. Anything that stops the file from being
read at all raises :class:`RosterUnreadable` (the import exits with status 2); nothing here
judges the rows themselves.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("kiosk.cli.households_import")

_ZIP = b"PK\x03\x04"
_EMPTY_ZIP = b"PK\x05\x06"
_OLE = bytes.fromhex("d0cf11e0a1b11ae1")
_ENCRYPTED_MARKERS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))
_CHUNK = 1 << 20


class RosterUnreadable(Exception):
    """The file cannot be read as a roster; ``key`` is a catalogue key under ``roster.file``."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass
class Row:
    """One spreadsheet row: its number as the spreadsheet shows it, its cells, and which
    cells are formulas (.xlsx only; in a CSV every cell is text)."""

    number: int
    values: list[object]
    formulas: frozenset[int] = field(default_factory=frozenset)


@dataclass
class Sheet:
    name: str | None
    rows: Iterator[Row]


@dataclass
class RosterFile:
    path: Path
    format: str  # "xlsx" | "csv"
    encoding: str = ""
    delimiter: str = ""
    _sheets: list[Sheet] = field(default_factory=list)
    _closer: object = None

    def sheets(self) -> Iterator[Sheet]:
        yield from self._sheets

    def close(self) -> None:
        close = getattr(self._closer, "close", None)
        if close:
            close()


def open_roster(path: str | Path) -> RosterFile:
    """Open ``path`` for streaming; raises :class:`RosterUnreadable` when it cannot be read."""
    p = Path(path)
    try:
        if not p.exists():
            raise RosterUnreadable("missing", path=str(p))
        if p.is_dir():
            raise RosterUnreadable("not_a_file", path=str(p))
        size = p.stat().st_size
        with p.open("rb") as fh:
            head = fh.read(8)
    except PermissionError:
        raise RosterUnreadable("permission", path=str(p)) from None
    if size == 0:
        raise RosterUnreadable("empty", path=str(p))
    if head.startswith(_OLE):
        if _contains(p, _ENCRYPTED_MARKERS):
            raise RosterUnreadable("encrypted", path=str(p))
        raise RosterUnreadable("old_xls", path=str(p))
    if head.startswith(_ZIP) or head.startswith(_EMPTY_ZIP):
        return _open_xlsx(p)
    if p.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        # Named like a workbook but not one: cut short before the zip header, or another file.
        raise RosterUnreadable("corrupt_xlsx", path=str(p))
    return _open_csv(p)


def _contains(p: Path, needles: tuple[bytes, ...]) -> bool:
    keep = max(len(n) for n in needles)
    tail = b""
    with p.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            data = tail + chunk
            if any(n in data for n in needles):
                return True
            tail = data[-keep:]
    return False


# --- xlsx -----------------------------------------------------------------------------------

#: rows a roster may have: a large street office's whole roster, 200,000 people, with room
#: for its title and header rows (most are some tens of thousands)
MAX_ROWS = 210_000
#: a run of this many empty rows ends a sheet (formatting dragged to row 1,048,576)
EMPTY_RUN = 1_000
#: characters of one CSV line (a cell with a whole book in it is not a roster)
MAX_LINE = 1 << 20


def _open_xlsx(p: Path) -> RosterFile:
    import openpyxl

    from kiosk.core.workbook_bounds import check_workbook

    too_big = check_workbook(p)
    if too_big is not None:
        raise RosterUnreadable(f"too_big_{too_big.what}", path=str(p), limit=too_big.limit)
    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=False)
        worksheets = [ws for ws in wb.worksheets if hasattr(ws, "iter_rows")]
    except Exception as exc:  # noqa: BLE001 - any failure of the zip/XML layer means "corrupt"
        log.info("xlsx unreadable: %s", type(exc).__name__)
        raise RosterUnreadable("corrupt_xlsx", path=str(p)) from None
    sheets = [Sheet(ws.title, _xlsx_rows(p, ws)) for ws in worksheets]
    return RosterFile(path=p, format="xlsx", _sheets=sheets, _closer=wb)


def _xlsx_rows(p: Path, ws) -> Iterator[Row]:
    it = ws.iter_rows()
    number = empty = 0
    while True:
        try:
            cells = next(it)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - truncated or damaged sheet XML
            log.info("xlsx sheet unreadable after row %d: %s", number, type(exc).__name__)
            raise RosterUnreadable("corrupt_xlsx_at", path=str(p), row=number + 1) from None
        values: list[object] = []
        formulas = []
        at = None
        for i, c in enumerate(cells):
            values.append(c.value)
            if at is None:
                at = getattr(c, "row", None)
            if getattr(c, "data_type", None) == "f":
                formulas.append(i)
        number = at if at is not None else number + 1
        if number > MAX_ROWS:
            raise RosterUnreadable("too_many_rows", path=str(p), limit=MAX_ROWS)
        if all(v is None or v == "" for v in values):
            empty += 1
            if empty >= EMPTY_RUN:
                return  # only formatting from here on
        else:
            empty = 0
        yield Row(number, values, frozenset(formulas))


# --- csv ------------------------------------------------------------------------------------


def detect_encoding(p: Path) -> str:
    """utf-8-sig, utf-16, utf-8 or gb18030 (a superset of GBK and GB2312)."""
    with p.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        try:
            with p.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    text = decoder.decode(chunk)
                    if "\x00" in text:
                        raise UnicodeDecodeError(encoding, b"", 0, 1, "NUL")
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise RosterUnreadable("encoding", path=str(p))


def _sniff_delimiter(sample: str) -> str:
    first = sample.splitlines()[:5]
    counts = {d: sum(line.count(d) for line in first) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _open_csv(p: Path) -> RosterFile:
    encoding = detect_encoding(p)
    with p.open("r", encoding=encoding, newline="") as fh:
        sample = fh.read(64 * 1024)
    if not sample.strip():
        raise RosterUnreadable("empty", path=str(p))
    delimiter = _sniff_delimiter(sample)
    fh = p.open("r", encoding=encoding, newline="")
    return RosterFile(
        path=p,
        format="csv",
        encoding=encoding,
        delimiter=delimiter,
        _sheets=[Sheet(None, _csv_rows(p, fh, delimiter))],
        _closer=fh,
    )


def _bounded_lines(p: Path, fh: io.TextIOBase) -> Iterator[str]:
    """The file's lines, each read at most MAX_LINE characters at a time: a line longer
    than that is refused before it is held in memory whole."""
    while True:
        line = fh.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE:
            raise RosterUnreadable("line_too_long", path=str(p), limit=MAX_LINE)
        yield line


def _csv_rows(p: Path, fh: io.TextIOBase, delimiter: str) -> Iterator[Row]:
    reader = csv.reader(_bounded_lines(p, fh), delimiter=delimiter)
    number = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise RosterUnreadable("csv_broken", path=str(p), row=number + 1) from None
        number += 1
        if number > MAX_ROWS:
            raise RosterUnreadable("too_many_rows", path=str(p), limit=MAX_ROWS)
        yield Row(number, list(values))

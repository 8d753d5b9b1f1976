"""One worksheet written as its rows stream in: the ledgers and the roster export.

openpyxl's write-only mode spends about 13 us on each cell (the value bound through its type
checks, a style looked up for every date, three nested lxml element contexts); a ledger of
100,000 cases has 1.7 million cells, which took 25 s on a field laptop. Here each column's cell
is formatted by a function chosen once for the column, rows are joined as text and deflated
straight into the zip. The file is the plain SpreadsheetML openpyxl writes (inline strings,
dates as serial numbers with a date format, the header frozen); the tests read every file
back with openpyxl.

Text is written as text, never as a formula, and text a spreadsheet would run as a formula once
someone edits the cell is neutralised with a leading apostrophe (:func:`neutralise`, which the
CSV writers share). Characters XML cannot carry (control characters, lone surrogates) become
U+FFFD rather than failing the export.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

DATE, DATETIME, TEXT, INT = "date", "datetime", "text", "int"
#: text the program writes from its own catalogue (a status, 是/否, a rating's name), never
#: from a person or another device: written as TEXT is, and a CSV writer need not check it
#: for formulas (a ledger has 1.2 million cells to check otherwise)
LABEL = "label"

#: a leading character that makes a spreadsheet read a cell as a formula
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Text that a spreadsheet would run as a formula, made inert with a leading apostrophe."""
    if value and value[0] in DANGEROUS:
        return "'" + value
    return value


#: what text needs beyond copying: markup, characters XML 1.0 forbids, and a carriage return
#: (an XML reader turns a bare one into a line feed). Excel's own ``_xHHHH_`` escape is left
#: alone, as openpyxl leaves it: openpyxl, which reads these files back in, would not undo it.
_NEEDS_WORK = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}


def _escape_match(m: re.Match[str]) -> str:
    return _ESCAPES.get(m.group(), "\ufffd")


def xml_text(s: str) -> str:
    """``s`` as XML character data that reads back as ``s`` in Excel and openpyxl."""
    return _NEEDS_WORK.sub(_escape_match, s) if _NEEDS_WORK.search(s) else s


def _attr(s: str) -> str:
    return xml_text(s).replace('"', "&quot;")


#: Excel's serial day 0 (its 1900 calendar, right for every date after February 1900)
_EPOCH = date(1899, 12, 30).toordinal()
#: cell styles in styles.xml below: 1 date, 2 date and time, 3 header
_DATE_STYLE, _DATETIME_STYLE, _HEADER_STYLE = 1, 2, 3


def _text_cell(ref: str, v: Any) -> str:
    s = v if type(v) is str else str(v)
    if not s:
        return ""  # an empty cell, as openpyxl writes one
    if s[0] in DANGEROUS:
        s = "'" + s
    if _NEEDS_WORK.search(s):
        s = _NEEDS_WORK.sub(_escape_match, s)
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{s}</t></is></c>'


def _int_cell(ref: str, v: Any) -> str:
    if type(v) is int:
        return f'<c r="{ref}"><v>{v}</v></c>'
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f'<c r="{ref}"><v>{float(v)!r}</v></c>'
    return _text_cell(ref, v)


def _date_cell(ref: str, v: Any) -> str:
    if isinstance(v, datetime):
        return _datetime_cell(ref, v)
    if isinstance(v, date):
        return f'<c r="{ref}" s="{_DATE_STYLE}"><v>{v.toordinal() - _EPOCH}</v></c>'
    return _text_cell(ref, v)


def _datetime_cell(ref: str, v: Any) -> str:
    if not isinstance(v, datetime):
        return _date_cell(ref, v) if isinstance(v, date) else _text_cell(ref, v)
    if v.tzinfo is not None:  # Excel has no zones: the wall-clock time the ledger shows
        v = v.replace(tzinfo=None)
    seconds = v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
    serial = v.toordinal() - _EPOCH + seconds / 86400
    return f'<c r="{ref}" s="{_DATETIME_STYLE}"><v>{serial!r}</v></c>'


_CELL: dict[str, Callable[[str, Any], str]] = {
    TEXT: _text_cell,
    LABEL: _text_cell,
    INT: _int_cell,
    DATE: _date_cell,
    DATETIME: _datetime_cell,
}


def column_letter(i: int) -> str:
    """``0`` → ``A``, ``25`` → ``Z``, ``26`` → ``AA``."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


_SHEET_NAME_BAD = re.compile("[\\[\\]:*?/\\\\\x00-\x1f\ud800-\udfff\ufffe\uffff]")


def sheet_name(name: str) -> str:
    """A name Excel accepts for a sheet: none of ``[]:*?/\\`` nor a control character, no
    apostrophe at either end, at most 31 characters."""
    return _SHEET_NAME_BAD.sub("_", name)[:31].strip("'") or "Sheet1"


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_CONTENT_TYPES = (
    _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    _XML + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    _XML + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_XF = 'fontId="{font}" fillId="0" borderId="0" xfId="0"'
_STYLES = (
    _XML + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4">'
    f'<xf numFmtId="0" {_XF.format(font=0)}/>'
    f'<xf numFmtId="164" {_XF.format(font=0)} applyNumberFormat="1"/>'
    f'<xf numFmtId="165" {_XF.format(font=0)} applyNumberFormat="1"/>'
    f'<xf numFmtId="0" {_XF.format(font=1)} applyFont="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

#: rows joined before each write into the deflate stream
_ROWS_AT_ONCE = 512


def write_sheet(
    path: Path,
    name: str,
    headers: Sequence[str],
    columns: Sequence[tuple[str, float]],
    rows: Iterable[Sequence[Any]],
) -> int:
    """Write ``rows`` under ``headers`` as the one sheet ``name`` of a new workbook at ``path``.

    ``columns`` gives each column's kind (:data:`TEXT`, :data:`INT`, :data:`DATE`,
    :data:`DATETIME`) and width in characters; ``None`` is an empty cell. Returns the number
    of rows written, the header not counted.
    """
    letters = [column_letter(i) for i in range(len(columns))]
    cells = [_CELL[kind] for kind, _ in columns]
    workbook = (
        _XML + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        "<bookViews><workbookView/></bookViews>"
        f'<sheets><sheet name="{_attr(sheet_name(name))}" sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    )
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{float(w)!r}" customWidth="1"/>'
        for i, (_, w) in enumerate(columns, start=1)
    )
    head = "".join(
        f'<c r="{letter}1" s="{_HEADER_STYLE}" t="inlineStr"><is><t>{xml_text(h)}</t></is></c>'
        for letter, h in zip(letters, headers, strict=True)
    )
    n = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/styles.xml", _STYLES)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                (
                    _XML + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
                    '<sheetViews><sheetView workbookViewId="0">'
                    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
                    "</sheetView></sheetViews>"
                    f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
                    f'<sheetData><row r="1">{head}</row>'
                ).encode()
            )
            chunk: list[str] = []
            r = 1
            for row in rows:
                r += 1
                at = str(r)
                chunk.append(f'<row r="{at}">')
                chunk.extend(
                    cell(letter + at, v)
                    for cell, letter, v in zip(cells, letters, row, strict=True)
                    if v is not None
                )
                chunk.append("</row>")
                if len(chunk) > _ROWS_AT_ONCE * 8:
                    sheet.write("".join(chunk).encode())
                    chunk.clear()
            chunk.append("</sheetData></worksheet>")
            sheet.write("".join(chunk).encode())
            n = r - 1
    return n

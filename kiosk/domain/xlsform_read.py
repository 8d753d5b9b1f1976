"""Reading an XLSForm the way ODK reads it: pyxform converts, we only bound and explain.

:func:`read_xlsform` hands the file to pyxform (the reference XLSForm converter) and returns
the XForm it produces, with the form's name, title, version and languages, the data files the
form needs (read from the workbook's folder), and notes on what the kiosk will not do with
it (columns nobody reads here, media, location and device questions). A form is refused only
when pyxform refuses it, when it uses ODK entities (the kiosk keeps no entity lists), or when
a data file it needs is missing or too large; the refusal says why in the person's language,
carrying pyxform's own words when pyxform is the one refusing.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from lxml import etree

from kiosk.core.i18n import t
from kiosk.core.workbook_bounds import check_workbook
from kiosk.domain.survey_errors import SurveyFormError

log = logging.getLogger(__name__)

FORM_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".md")
MAX_FORM_BYTES = 20 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 20
#: pyxform's reason is English and can run to a paragraph; a line of it is enough to act on
MAX_REASON_CHARS = 300

GEO_TYPES = {"geopoint", "geotrace", "geoshape", "gps", "location"}
MANUAL_TYPES = {"barcode"}
FILE_TYPES = {"image", "photo", "audio", "video", "file", "signature", "osm"}
DEVICE_TYPES = {
    "start-geopoint",
    "background-audio",
    "background-geopoint",
    "audit",
    "deviceid",
    "imei",
    "subscriberid",
    "simserial",
    "phonenumber",
    "username",
    "email",
}
MEDIA_COLUMNS = {"image", "big-image", "audio", "video"}
#: legacy single-colon columns pyxform reads although they are not split like ``label:en``
LEGACY_SURVEY_COLUMNS = {"jr:constraintmsg", "jr:requiredmsg", "jr:count", "jr:noapperrorstring"}
#: pyxform's bookkeeping slots, never a column a form author writes
INTERNAL_SLOTS = {"_dynamic_default", "_itemset_has_ref", "_qtd_defaults", "_qtd_kwargs"}

_PULLDATA = re.compile(r"pulldata\s*\(\s*['\"]([^'\"]+)['\"]")
_ROW = re.compile(r"\[row\s*:\s*(\d+)\]")
_XF = "{http://www.w3.org/2002/xforms}"


@dataclass(frozen=True)
class ReadForm:
    """An XLSForm converted by pyxform, with what the kiosk needs to keep beside it."""

    xform: str
    name: str
    title: str
    version: str
    languages: tuple[str, ...]
    default_language: str | None
    attachments: dict[str, bytes]
    notes: tuple[str, ...]


def read_xlsform(path: str | Path) -> ReadForm:
    """Convert the XLSForm at ``path`` (.xlsx, .xls, .csv or .md); raise
    :class:`SurveyFormError` with a translated reason when it cannot be used."""
    p = Path(path)
    _check_bounds(p)
    book = _read_book(p)
    _refuse_entities(book)
    survey = [row for row in (book.survey or []) if isinstance(row, dict)]
    references = list(_file_references(survey))
    result = _convert(book, survey)
    attachments = _read_attachments(p.parent, references)
    if result.itemsets is not None:
        attachments["itemsets.csv"] = result.itemsets.encode("utf-8")
    _check_attachment_count(attachments)
    data: Mapping[str, Any] = result._pyxform or {}
    languages, default_language = _languages(result.xform)
    notes = [
        *_column_notes("survey", book.survey_header),
        *_column_notes("choices", book.choices_header),
        *_type_notes(survey),
        *_missing_media_notes(p.parent, book),
    ]
    return ReadForm(
        xform=result.xform,
        name=str(data.get("id_string") or data.get("name") or p.stem),
        title=str(data.get("title") or p.stem),
        version=str(data.get("version") or ""),
        languages=languages,
        default_language=default_language,
        attachments=attachments,
        notes=tuple(notes),
    )


# --- the file itself -----------------------------------------------------------------------
def _check_bounds(p: Path) -> None:
    if not p.is_file():
        raise SurveyFormError("visits.survey.error.no_file", path=str(p))
    if p.suffix.lower() not in FORM_SUFFIXES:
        raise SurveyFormError("visits.survey.error.not_xlsform", path=p.name)
    if p.stat().st_size > MAX_FORM_BYTES:
        raise SurveyFormError("visits.survey.error.too_big", path=p.name)
    if p.suffix.lower() in (".xlsx", ".xlsm") and check_workbook(p) is not None:
        raise SurveyFormError("visits.survey.error.too_big", path=p.name)


def _read_book(p: Path) -> Any:
    """pyxform's reading of the sheets (its DefinitionData), before any conversion."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2json_backends import get_xlsform

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's notes on Excel extensions it drops
            return get_xlsform(str(p), file_type=p.suffix.lower())
    except PyXFormError as exc:
        reason = _reason(exc)
        duplicate = re.match(r"Duplicate column header: (.*)", reason)
        if duplicate:
            raise SurveyFormError(
                "visits.survey.error.duplicate_header",
                path=p.name,
                column=duplicate.group(1).strip(),
                reason=reason,
            ) from None
        log.info("pyxform could not read %s", p, exc_info=True)
        raise SurveyFormError("visits.survey.error.unreadable", path=p.name) from None
    except Exception:  # a hostile file can break a reader in ways pyxform does not catch
        log.info("pyxform could not read %s", p, exc_info=True)
        raise SurveyFormError("visits.survey.error.unreadable", path=p.name) from None


def _refuse_entities(book: Any) -> None:
    if book.entities:
        raise SurveyFormError("visits.survey.error.entities", where="entities")
    for header in _headers(book.survey_header):
        if header.strip().lower().replace(" ", "_") == "save_to":
            raise SurveyFormError("visits.survey.error.entities", where="save_to")


def _convert(book: Any, survey: Sequence[dict[str, Any]]) -> Any:
    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    sheets = {f.name: getattr(book, f.name) for f in fields(book)}
    try:
        return convert(sheets, warnings=[], validate=False)
    except PyXFormError as exc:
        raise _translated_refusal(_reason(exc), survey) from None
    except Exception as exc:  # pyxform failing on a form it cannot make sense of: a refusal
        log.info("pyxform failed", exc_info=True)
        raise _translated_refusal(f"{type(exc).__name__}: {exc}", survey) from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > MAX_REASON_CHARS:
        text = text[: MAX_REASON_CHARS - 1].rstrip() + "…"
    return text


# pyxform's commonest refusals, said in our words with the row; the rest pass through as
# pyxform words them. Every one keeps pyxform's text, which names things our words may not.
_KNOWN_REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Unknown question type '(?P<type>[^']*)'"), "unknown_type"),
    (re.compile(r"List name not in (?:external )?choices sheet: (?P<list>\S+)"), "missing_list"),
    (re.compile(r"the 'name' value '(?P<name>[^']*)' is invalid\. Questions, groups"), "duplicate_name"),
    (re.compile(r"Choice names must be unique for each choice list"), "duplicate_choice"),
    (re.compile(r"'(?P<sheet>\w+)'\. Headers that are different names for the same column were found: '(?P<first>[^']*)', '(?P<second>[^']*)'"), "same_column"),
    (re.compile(r"On the '(?P<sheet>\w+)' sheet, the '(?P<column>[^']*)' value is invalid\. Reference variables must contain a name .* Could not find the name '(?P<ref>[^']*)'"), "unknown_reference"),
    (re.compile(r"On the '(?P<sheet>\w+)' sheet, the '(?P<column>[^']*)' value is invalid\. Reference variables must start with"), "bad_reference"),
    (re.compile(r"Unmatched '(?P<control>begin|end)"), "unmatched_group"),
    (re.compile(r"Question or group with no name"), "no_name"),
    (re.compile(r"Missing calculation"), "missing_calculation"),
    (re.compile(r"Choice names with spaces cannot be added to multiple choice selects"), "choice_space"),
)  # fmt: skip


def _translated_refusal(reason: str, survey: Sequence[dict[str, Any]]) -> SurveyFormError:
    row_match = _ROW.search(reason)
    row = row_match.group(1) if row_match else "?"
    for pattern, key in _KNOWN_REFUSALS:
        found = pattern.search(reason)
        if found:
            if row == "?" and "type" in found.groupdict():
                row = _row_of_type(survey, found.group("type"))
            return SurveyFormError(
                f"visits.survey.error.converter.{key}", row=row, reason=reason, **found.groupdict()
            )
    return SurveyFormError("visits.survey.error.pyxform_reason", reason=reason)


def _row_of_type(survey: Sequence[dict[str, Any]], kind: str) -> str:
    """The first survey row of question type ``kind`` (pyxform names the type, not the row)."""
    for index, row in enumerate(survey):
        words = str(_cell(row, "type")).split()
        if words and words[0] == kind:
            return str(index + 2)
    return "?"


# --- files the form needs --------------------------------------------------------------------
@dataclass(frozen=True)
class _FileReference:
    file: str
    row: int


def _file_references(survey: Sequence[dict[str, Any]]) -> Iterator[_FileReference]:
    """Data files named by the survey rows: ``select_one_from_file x.csv``, ``csv-external x``
    and ``pulldata('x', ...)`` (both of the last read ``x.csv``)."""
    seen: set[str] = set()
    for index, row in enumerate(survey):
        number = index + 2  # row 1 holds the headers, as pyxform counts
        words = str(_cell(row, "type")).split()
        kind = words[0].lower() if words else ""
        files: list[str] = []
        if kind in ("select_one_from_file", "select_multiple_from_file") and len(words) > 1:
            files.append(words[1])
        elif kind == "csv-external" and _cell(row, "name"):
            files.append(f"{_cell(row, 'name')}.csv")
        for value in row.values():
            if isinstance(value, str) and "pulldata" in value:
                files.extend(f"{name}.csv" for name in _PULLDATA.findall(value))
        for name in files:
            if name not in seen:
                seen.add(name)
                yield _FileReference(name, number)


def _read_attachments(folder: Path, references: Iterable[_FileReference]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for ref in references:
        # a form names a file next to it; a path could reach anywhere on the machine
        if Path(ref.file).name != ref.file or ref.file in ("", ".", ".."):
            raise SurveyFormError("visits.survey.error.attachment_name", file=ref.file, row=ref.row)
        target = folder / ref.file
        if not target.is_file():
            raise SurveyFormError(
                "visits.survey.error.missing_attachment",
                file=ref.file,
                row=ref.row,
                folder=str(folder),
            )
        if target.stat().st_size > MAX_ATTACHMENT_BYTES:
            raise SurveyFormError(
                "visits.survey.error.attachment_too_big",
                file=ref.file,
                limit=MAX_ATTACHMENT_BYTES // (1024 * 1024),
            )
        found[ref.file] = target.read_bytes()
        _check_attachment_count(found)
    return found


def _check_attachment_count(attachments: Mapping[str, bytes]) -> None:
    if len(attachments) > MAX_ATTACHMENTS:
        raise SurveyFormError("visits.survey.error.too_many_attachments", limit=MAX_ATTACHMENTS)


# --- what the form asks that the kiosk will not do -------------------------------------------
def _headers(sheet_header: Sequence[dict[str, Any]] | None) -> list[str]:
    if not sheet_header:
        return []
    return [str(h) for h in sheet_header[0] if h is not None]


def _column_kind(header: str) -> str:
    """``known``, ``media`` or ``ignored``, by pyxform's own reading of survey headers."""
    from pyxform import aliases
    from pyxform.parsing.sheet_headers import process_header
    from pyxform.question import MultipleChoiceQuestion

    if header.strip().lower() in LEGACY_SURVEY_COLUMNS:
        return "known"
    columns = set(MultipleChoiceQuestion.get_slot_names()) - INTERNAL_SLOTS
    _, tokens = process_header(header, "::" in header, aliases.survey_header, columns)
    first = tokens[0] if tokens else ""
    if first == "media" or str(first).lower() in MEDIA_COLUMNS:
        return "media"
    return "known" if first in columns else "ignored"


def _column_notes(sheet: str, sheet_header: Sequence[dict[str, Any]] | None) -> Iterator[str]:
    for header in _headers(sheet_header):
        base = re.split(r"::|:", header.strip().lower(), maxsplit=1)[0]
        if sheet == "choices":
            # other choice columns are kept as choice attributes (choice_filter reads them)
            if base in MEDIA_COLUMNS or base == "media":
                yield t("visits.survey.note.media_column", sheet=sheet, column=header)
            continue
        kind = _column_kind(header)
        if kind == "media":
            yield t("visits.survey.note.media_column", sheet=sheet, column=header)
        elif kind == "ignored":
            yield t("visits.survey.note.ignored_column", sheet=sheet, column=header)


_TYPE_NOTES = (
    (GEO_TYPES, "visits.survey.note.geo"),
    (MANUAL_TYPES, "visits.survey.note.manual"),
    (FILE_TYPES, "visits.survey.note.file"),
    (DEVICE_TYPES, "visits.survey.note.device"),
)


def _type_notes(survey: Sequence[dict[str, Any]]) -> Iterator[str]:
    rows_by_type: dict[str, list[int]] = {}
    for index, row in enumerate(survey):
        words = str(_cell(row, "type")).lower().split()
        kind = words[0] if words else ""
        if kind == "image" and "signature" in str(_cell(row, "appearance")).lower():
            kind = "signature"
        rows_by_type.setdefault(kind, []).append(index + 2)
    for types, key in _TYPE_NOTES:
        for kind in sorted(types & rows_by_type.keys(), key=lambda k: rows_by_type[k][0]):
            yield t(key, type=kind, rows=_rows_text(rows_by_type[kind]))


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:5])
    return shown + (" …" if len(rows) > 5 else "")


def _missing_media_notes(folder: Path, book: Any) -> Iterator[str]:
    """Media files a form names (shown beside labels in ODK Collect) but that are not next to
    it; the kiosk does not show them either way, so this is a note, not a refusal."""
    names: set[str] = set()
    for rows, header in ((book.survey, book.survey_header), (book.choices, book.choices_header)):
        media = [
            h
            for h in _headers(header)
            if re.split(r"::|:", h.strip().lower(), maxsplit=1)[0] in MEDIA_COLUMNS | {"media"}
        ]
        for row in rows or []:
            for h in media:
                value = row.get(h)
                if isinstance(value, str) and value.strip():
                    names.add(value.strip())
    missing = sorted(
        n
        for n in names
        if not (folder / Path(n).name).is_file() and not (folder / "media" / Path(n).name).is_file()
    )
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        yield t("visits.survey.note.missing_media", n=len(missing), files=shown)


def _cell(row: Mapping[str, Any], column: str) -> Any:
    """A cell by column name whatever its case (pyxform accepts ``TYPE`` and ``Type``)."""
    for key, value in row.items():
        if isinstance(key, str) and key.strip().lower() == column:
            return value if value is not None else ""
    return ""


def _languages(xform: str) -> tuple[tuple[str, ...], str | None]:
    """The itext languages of the XForm, its default (``default="true()"``) first."""
    root = etree.fromstring(xform.encode("utf-8"))
    langs: list[str] = []
    default: str | None = None
    for translation in root.iter(f"{_XF}translation"):
        lang = translation.get("lang")
        if lang is None:
            continue
        if translation.get("default") and default is None:
            default = lang
        else:
            langs.append(lang)
    ordered = ([default] if default is not None else []) + langs
    return tuple(ordered), default

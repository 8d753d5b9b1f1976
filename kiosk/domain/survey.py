"""Questionnaires as XLSForm workbooks (the open standard of ODK and KoboToolbox).

:func:`load_xlsform` reads a workbook with pyxform, checks every row against what Grid Kiosk
supports, and returns a definition (plain JSON) that :mod:`db.surveys` stores. A form using a
feature we do not support is rejected with the row and the feature named; pyxform's own
checks run too, so a form we accept is a valid XLSForm. ``relevant`` and ``constraint`` are
parsed by :mod:`kiosk.domain.xpath_lite` at import (syntax errors name the row) and evaluated by it
at the door.

:func:`check_answers` validates one response; :func:`export_rows` lays responses out as
KoboToolbox and ODK Central export them: one row per response, one column per question
(select_multiple: the space-separated answer plus one 0/1 column per choice, ``name/choice``),
then metadata columns starting with ``_``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from kiosk.core.errors import UserError
from kiosk.core.i18n import language, t
from kiosk.domain import xpath_lite

SUPPORTED_TYPES = ("text", "integer", "decimal", "date", "select_one", "select_multiple", "note")
META_TYPES = ("start", "end", "today")
TYPE_ALIASES = {
    "string": "text",
    "int": "integer",
    "select one": "select_one",
    "select multiple": "select_multiple",
    "select all that apply": "select_multiple",
    "select_one": "select_one",
    "select_multiple": "select_multiple",
}
SURVEY_COLUMNS = {
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
}
LOCALISED_COLUMNS = {"label", "hint", "required_message", "constraint_message"}
COLUMN_ALIASES = {
    "required message": "required_message",
    "constraint message": "constraint_message",
    "jr:requiredmsg": "required_message",
    "jr:constraintmsg": "constraint_message",
}
CHOICE_COLUMNS = {"list_name", "list name", "name", "label"}
SETTINGS = {"form_title", "form_id", "version", "default_language"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_TRUE = {"yes", "true", "true()", "1"}
_FALSE = {"no", "false", "false()", "0", ""}
MAX_TEXT_ANSWER = 2000


class SurveyFormError(UserError):
    """An XLSForm we cannot import; the message names the sheet, row and problem."""

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(key, exit_code=2, **params)


class AnswerInvalid(UserError):
    """An answer that breaks a rule of the form; ``field`` is the question's name."""

    def __init__(self, key: str, /, field: str, **params: object) -> None:
        super().__init__(key, exit_code=2, **params)
        self.field = field


@dataclass(frozen=True)
class Question:
    name: str
    type: str  # one of SUPPORTED_TYPES
    label: Any  # str, or {language: str}
    hint: Any
    required: bool
    required_message: Any
    relevant: str
    constraint: str
    constraint_message: Any
    choices: tuple[dict[str, Any], ...]
    row: int

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Question:
        return cls(
            d["name"],
            d["type"],
            d.get("label", ""),
            d.get("hint", ""),
            bool(d.get("required")),
            d.get("required_message", ""),
            d.get("relevant", ""),
            d.get("constraint", ""),
            d.get("constraint_message", ""),
            tuple(d.get("choices", ())),
            int(d.get("row", 0)),
        )


def text_for(value: Any) -> str:
    """A label that may carry several languages (``label::中文 (zh)``), in the interface's."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not value:
        return ""
    want = ("zh", "中文", "chinese") if language() == "zh" else ("en", "english")
    for key, text in value.items():
        low = key.lower()
        if any(w in low for w in want):
            return str(text)
    return str(value.get("default") or next(iter(value.values())))


# --- import ----------------------------------------------------------------------------------
def _header_key(raw: str) -> tuple[str, str | None]:
    """``"label::中文 (zh)"`` -> ("label", "中文 (zh)")."""
    base, _, lang = raw.partition("::")
    base = base.strip().lower()
    base = COLUMN_ALIASES.get(base, base)
    return base, (lang.strip() or None) if lang else None


def _fail(key: str, **params: object) -> SurveyFormError:
    return SurveyFormError(key, **params)


def _check_survey_rows(rows: list[dict[str, str]], choice_lists: set[str]) -> list[dict[str, Any]]:
    """Check every row of the ``survey`` sheet; returns one record per question or meta field."""
    seen: dict[str, int] = {}
    records: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        rownum = index + 2  # header is row 1
        if not row:
            continue
        for header in row:
            base, lang = _header_key(header)
            if base not in SURVEY_COLUMNS or (lang and base not in LOCALISED_COLUMNS):
                raise _fail("visits.survey.error.column", row=rownum, column=header)
        raw_type = (row.get("type") or "").strip()
        if not raw_type:
            raise _fail("visits.survey.error.no_type", row=rownum)
        parts = raw_type.split()
        low = raw_type.lower()
        list_name = None
        qtype = None
        for alias, canonical in TYPE_ALIASES.items():
            if low == alias or low.startswith(alias + " "):
                rest = raw_type[len(alias) :].split()
                if canonical in ("select_one", "select_multiple"):
                    if len(rest) != 1:
                        if len(rest) > 1:
                            raise _fail(
                                "visits.survey.error.feature",
                                row=rownum,
                                feature=" ".join(rest[1:]),
                            )
                        raise _fail("visits.survey.error.no_list", row=rownum, type=raw_type)
                    list_name = rest[0]
                elif rest:
                    raise _fail("visits.survey.error.type", row=rownum, type=raw_type)
                qtype = canonical
                break
        if qtype is None:
            if len(parts) == 1 and low in SUPPORTED_TYPES + META_TYPES:
                qtype = low
            else:
                raise _fail("visits.survey.error.type", row=rownum, type=raw_type)
        name = (row.get("name") or "").strip()
        if not name:
            raise _fail("visits.survey.error.no_name", row=rownum)
        if not _NAME.match(name):
            raise _fail("visits.survey.error.bad_name", row=rownum, name=name[:40])
        if name in seen:
            raise _fail("visits.survey.error.duplicate", row=rownum, name=name, first=seen[name])
        seen[name] = rownum
        if list_name is not None and list_name not in choice_lists:
            raise _fail("visits.survey.error.missing_list", row=rownum, list=list_name)
        required = (row.get("required") or "").strip().lower()
        if required not in _TRUE | _FALSE:
            raise _fail(
                "visits.survey.error.feature", row=rownum, feature=f"required = {required[:40]}"
            )
        record = {
            "row": rownum,
            "name": name,
            "type": qtype,
            "list_name": list_name,
            "required": required in _TRUE,
            "relevant": (row.get("relevant") or "").strip(),
            "constraint": (row.get("constraint") or "").strip(),
        }
        if qtype in META_TYPES or qtype == "note":
            for col in ("required", "relevant", "constraint"):
                if row.get(col) and not (qtype == "note" and col == "relevant"):
                    raise _fail(
                        "visits.survey.error.feature", row=rownum, feature=f"{qtype} + {col}"
                    )
        if qtype not in META_TYPES and not any(_header_key(h)[0] == "label" for h in row):
            raise _fail("visits.survey.error.no_label", row=rownum, name=name)
        records.append(record)
    names = {r["name"] for r in records}
    for r in records:
        for col in ("relevant", "constraint"):
            expr = r[col]
            if not expr:
                continue
            try:
                tree = xpath_lite.parse(expr)
            except xpath_lite.XPathError as exc:
                raise _fail(
                    "visits.survey.error.expression",
                    row=r["row"],
                    column=col,
                    detail=exc.detail,
                    position=exc.position + 1,
                ) from None
            for ref in sorted(xpath_lite.references(tree)):
                if ref not in names:
                    raise _fail(
                        "visits.survey.error.unknown_ref", row=r["row"], column=col, ref=ref
                    )
    return records


def _check_choices(rows: list[dict[str, str]]) -> set[str]:
    lists: dict[str, set[str]] = {}
    for index, row in enumerate(rows):
        rownum = index + 2
        if not row:
            continue
        for header in row:
            base, lang = _header_key(header)
            if base not in CHOICE_COLUMNS or (lang and base != "label"):
                raise _fail("visits.survey.error.choice_column", row=rownum, column=header)
        list_name = (row.get("list_name") or row.get("list name") or "").strip()
        name = (row.get("name") or "").strip()
        if not list_name or not name:
            raise _fail("visits.survey.error.choice_row", row=rownum)
        if " " in name:
            raise _fail("visits.survey.error.choice_space", row=rownum, name=name[:40])
        names = lists.setdefault(list_name, set())
        if name in names:
            raise _fail(
                "visits.survey.error.choice_duplicate", row=rownum, list=list_name, name=name
            )
        names.add(name)
    return set(lists)


def load_xlsform(path: str | Path) -> dict[str, Any]:
    """Read and check an XLSForm workbook; returns the definition to store."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform

    p = Path(path)
    if not p.is_file():
        raise UserError("visits.survey.error.no_file", exit_code=2, path=str(p))
    if p.suffix.lower() not in (".xlsx", ".xls"):
        raise _fail("visits.survey.error.not_workbook", path=p.name)
    from kiosk.core.workbook_bounds import check_workbook

    if p.stat().st_size > 20 * 1024 * 1024 or check_workbook(p) is not None:
        raise _fail("visits.survey.error.too_big", path=p.name)
    try:
        book = get_xlsform(str(p))
    except PyXFormError as exc:
        raise _fail("visits.survey.error.not_workbook", path=p.name) from exc
    sheets = [s.lower() for s in (book.sheet_names or [])]
    if "survey" not in sheets:
        raise _fail(
            "visits.survey.error.no_survey", sheets="、".join(book.sheet_names or []) or "-"
        )
    for sheet in sheets:
        if sheet in ("external_choices", "entities", "osm"):
            raise _fail("visits.survey.error.sheet", sheet=sheet)
    choice_lists = _check_choices(list(book.choices or []))
    records = _check_survey_rows(list(book.survey or []), choice_lists)
    if not any(r["type"] not in META_TYPES and r["type"] != "note" for r in records):
        raise _fail("visits.survey.error.empty")
    settings = (book.settings or [{}])[0] if book.settings else {}
    for key in settings:
        if key.lower() not in SETTINGS:
            raise _fail("visits.survey.error.setting", setting=key)
    try:
        parsed = workbook_to_json(
            workbook_dict=book, form_name=p.stem, fallback_form_name=p.stem, warnings=[]
        )
    except PyXFormError as exc:
        raise _fail("visits.survey.error.pyxform", detail=str(exc)[:300]) from None
    by_name = {r["name"]: r for r in records}
    questions = []
    meta = []
    for child in parsed.get("children", []):
        name = child.get("name")
        if child.get("type") == "group" and name == "meta":
            continue
        record = by_name.get(name)
        if record is None:  # pyxform never adds anything else; refuse rather than guess
            raise _fail("visits.survey.error.feature", row="?", feature=str(child.get("type")))
        if record["type"] in META_TYPES:
            meta.append(record["type"])
            continue
        bind = child.get("bind", {})
        questions.append(
            {
                "name": name,
                "type": record["type"],
                "row": record["row"],
                "label": child.get("label", ""),
                "hint": child.get("hint", ""),
                "required": record["required"],
                "required_message": bind.get("jr:requiredMsg", ""),
                "relevant": record["relevant"],
                "constraint": record["constraint"],
                "constraint_message": bind.get("jr:constraintMsg", ""),
                "choices": [
                    {"name": c["name"], "label": c.get("label", "")}
                    for c in child.get("choices", [])
                ],
            }
        )
    version = str(parsed.get("version") or "1")
    return {
        "name": str(parsed.get("id_string") or p.stem),
        "title": text_for(parsed.get("title") or p.stem),
        "version": version,
        "meta": meta,
        "questions": questions,
    }


def questions(definition: dict[str, Any]) -> list[Question]:
    return [Question.from_json(q) for q in definition.get("questions", [])]


# --- answering --------------------------------------------------------------------------------
def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def coerce(q: Question, raw: Any) -> Any:
    """A typed answer from what the form holds (text from an input, a list for multiples)."""
    if _is_empty(raw):
        return None
    if q.type == "integer":
        text = str(raw).strip()
        if not re.fullmatch(r"[+-]?\d{1,15}", text):
            raise AnswerInvalid(
                "visits.survey.answer.integer", field=q.name, label=text_for(q.label)
            )
        return int(text)
    if q.type == "decimal":
        text = str(raw).strip()
        if not re.fullmatch(r"[+-]?(\d{1,15}(\.\d*)?|\.\d+)", text):
            raise AnswerInvalid(
                "visits.survey.answer.decimal", field=q.name, label=text_for(q.label)
            )
        value = float(text)
        if not math.isfinite(value):
            raise AnswerInvalid(
                "visits.survey.answer.decimal", field=q.name, label=text_for(q.label)
            )
        return value
    if q.type == "date":
        text = str(raw).strip()
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError(text)
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise AnswerInvalid(
                "visits.survey.answer.date", field=q.name, label=text_for(q.label)
            ) from None
    names = [c["name"] for c in q.choices]
    if q.type == "select_one":
        if str(raw) not in names:
            raise AnswerInvalid(
                "visits.survey.answer.choice", field=q.name, label=text_for(q.label)
            )
        return str(raw)
    if q.type == "select_multiple":
        picked = raw.split() if isinstance(raw, str) else [str(x) for x in raw]
        if any(p not in names for p in picked):
            raise AnswerInvalid(
                "visits.survey.answer.choice", field=q.name, label=text_for(q.label)
            )
        return [n for n in names if n in picked] or None
    text = str(raw)
    if len(text) > MAX_TEXT_ANSWER:
        raise AnswerInvalid(
            "visits.survey.answer.too_long",
            field=q.name,
            label=text_for(q.label),
            max=MAX_TEXT_ANSWER,
        )
    return text.strip() or None


def relevant(q: Question, answers: dict[str, Any], today: date | None = None) -> bool:
    if not q.relevant:
        return True
    day = today or date.today()
    return xpath_lite.truth(xpath_lite.parse(q.relevant), _xpath_view(answers), today=lambda: day)


def _xpath_view(answers: dict[str, Any]) -> dict[str, Any]:
    return {k: (" ".join(v) if isinstance(v, list) else v) for k, v in answers.items()}


def _broken_rule(q: Question, value: Any, typed: dict[str, Any], day: date) -> str | None:
    """Why a given, relevant answer breaks its question's rules (required, constraint), if it
    does: the form's own message, or ours."""
    if _is_empty(value):
        if q.required:
            return text_for(q.required_message) or t(
                "visits.survey.answer.required", label=text_for(q.label)
            )
        return None
    if q.constraint:
        current = " ".join(value) if isinstance(value, list) else value
        ok = xpath_lite.truth(
            xpath_lite.parse(q.constraint), _xpath_view(typed), current, today=lambda: day
        )
        if not ok:
            return text_for(q.constraint_message) or t(
                "visits.survey.answer.constraint", label=text_for(q.label)
            )
    return None


def answers_so_far(qs: list[Question], raw: dict[str, Any]) -> dict[str, Any]:
    """Typed answers as far as they parse: one still being typed counts as unanswered."""
    typed: dict[str, Any] = {}
    for q in qs:
        try:
            typed[q.name] = coerce(q, raw.get(q.name)) if q.type != "note" else None
        except AnswerInvalid:
            typed[q.name] = None
    return typed


def check_answers(
    definition: dict[str, Any], raw: dict[str, Any], *, today: date | None = None
) -> dict[str, Any]:
    """Validate a response; returns the typed answers (irrelevant questions dropped).

    Raises :class:`AnswerInvalid` for the first question that breaks a rule, in form order.
    """
    day = today or date.today()
    qs = questions(definition)
    typed: dict[str, Any] = {}
    for q in qs:
        if q.type != "note":
            typed[q.name] = coerce(q, raw.get(q.name))
    out: dict[str, Any] = {}
    for q in qs:
        if q.type == "note":
            continue
        if not relevant(q, typed, day):
            typed[q.name] = None
            continue
        message = _broken_rule(q, typed[q.name], typed, day)
        if message is not None:
            raise AnswerInvalid("visits.survey.answer.message", field=q.name, message=message)
        if not _is_empty(typed[q.name]):
            out[q.name] = typed[q.name]
    return out


def broken_while_typing(
    definition: dict[str, Any], raw: dict[str, Any], *, today: date | None = None
) -> tuple[str, str] | None:
    """The first answer already given that breaks its constraint, as (question, message).

    Checked at every change, so a rule such as 最多选三项 speaks at the fourth tick, not at
    save; unanswered required questions and answers still being typed wait for the save.
    """
    day = today or date.today()
    qs = questions(definition)
    typed = answers_so_far(qs, raw)
    for q in qs:
        if q.type == "note" or _is_empty(typed[q.name]) or not relevant(q, typed, day):
            continue
        message = _broken_rule(q, typed[q.name], typed, day)
        if message is not None:
            return q.name, message
    return None


def still_broken(
    definition: dict[str, Any], raw: dict[str, Any], name: str, *, today: date | None = None
) -> bool:
    """Whether question ``name`` still breaks a rule (an error shown at save goes away once
    its answer is put right, or once the question is no longer asked)."""
    day = today or date.today()
    qs = questions(definition)
    q = next((q for q in qs if q.name == name), None)
    if q is None or q.type == "note":
        return False
    typed = answers_so_far(qs, raw)
    if not relevant(q, typed, day):
        return False
    try:
        value = coerce(q, raw.get(name))
    except AnswerInvalid:
        return True
    return _broken_rule(q, value, typed, day) is not None


# --- export -----------------------------------------------------------------------------------
META_COLUMNS = ["_household_id", "_submission_time", "_submitted_by", "_uuid", "_version", "_index"]


def export_header(definition: dict[str, Any]) -> list[str]:
    cols = list(definition.get("meta", []))
    for q in questions(definition):
        if q.type == "note":
            continue
        cols.append(q.name)
        if q.type == "select_multiple":
            cols += [f"{q.name}/{c['name']}" for c in q.choices]
    return cols + META_COLUMNS


def export_rows(
    definition: dict[str, Any], responses: Iterable[Any], versions: dict[str, str]
) -> Iterator[list[Any]]:
    """One row per response, matching :func:`export_header`."""
    qs = [q for q in questions(definition) if q.type != "note"]
    meta = list(definition.get("meta", []))
    for index, r in enumerate(responses, start=1):
        row: list[Any] = []
        for m in meta:
            if m == "start":
                row.append(r.started_at or "")
            elif m == "end":
                row.append(r.submitted_at)
            else:
                row.append(r.submitted_at[:10])
        for q in qs:
            value = r.answers.get(q.name)
            if q.type == "select_multiple":
                picked = value or []
                row.append(" ".join(picked))
                row += [
                    ("" if value is None else (1 if c["name"] in picked else 0)) for c in q.choices
                ]
            else:
                row.append("" if value is None else value)
        row += [
            r.household_id or "",
            r.submitted_at,
            r.worker_id or "",
            r.id,
            versions.get(r.survey_id, ""),
            index,
        ]
        yield row


def import_survey(ctx, definition: dict) -> tuple[str, bool]:
    """Store a checked definition (inside the caller's transaction).

    Returns (survey id, created). Importing the same name and version again is a no-op when
    the content is identical and refused when it differs (responses point at a version).
    """
    from db.surveys import find_survey, save_survey

    existing = find_survey(ctx.conn, definition["name"], definition["version"])
    if existing is not None:
        same = json.dumps(existing.definition, sort_keys=True) == json.dumps(
            definition, sort_keys=True
        )
        if same:
            return existing.id, False
        raise UserError(
            "visits.survey.version_clash",
            exit_code=2,
            name=definition["name"],
            version=definition["version"],
        )
    sid = save_survey(
        ctx,
        name=definition["name"],
        title=definition["title"],
        version=definition["version"],
        definition=definition,
    )
    return sid, True

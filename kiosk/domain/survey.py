"""Questionnaires as XLSForm workbooks (the open standard of ODK and KoboToolbox).

:func:`load_xlsform` reads a workbook as pyxform reads it (:mod:`kiosk.domain.xlsform_read`),
turns it into an XForm, and returns a definition (plain JSON) that :mod:`db.surveys` stores:
the XForm itself, the files shipped with it (CSV choice lists), its languages and the notes
the import made. Every expression of the form is parsed at import (a syntax error names the
question); :mod:`kiosk.domain.form_session` fills the form as ODK Collect does.

Definitions stored before XForms (a flat list of questions) are still read: they are turned
into the XForm they stand for (:func:`legacy_xform`), so their responses keep their meaning.

:func:`export_tables` lays responses out as KoboToolbox exports them: one row per response,
one column per question (``group/question``; select_multiple: the space-separated answer
plus one 0/1 column per choice, ``name/choice``), metadata columns starting with ``_``, and
one more table per repeat, each row pointing at its response (``_parent_index``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from kiosk.core.errors import UserError
from kiosk.core.i18n import language, t
from kiosk.domain import xpath
from kiosk.domain.form_session import AnswerInvalid, FormSession, pick_language
from kiosk.domain.survey_errors import SurveyFormError
from kiosk.domain.xform import Control, FormDef, Group, XFormError, parse_xform

FORMAT = 2
MAX_TEXT_ANSWER = 2000

__all__ = ["AnswerInvalid", "SurveyFormError", "load_xlsform", "form_of", "session_for"]


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
def load_xlsform(path: str | Path) -> dict[str, Any]:
    """Read and check an XLSForm (.xlsx, .xls, .csv, .md); returns the definition to store."""
    from kiosk.domain.xlsform_read import read_xlsform

    read = read_xlsform(path)
    return definition_from_xform(
        read.xform,
        read.attachments,
        name=read.name,
        title=read.title,
        version=read.version,
        notes=read.notes,
    )


def definition_from_xform(
    xml: str,
    attachments: dict[str, bytes],
    *,
    name: str,
    title: str,
    version: str,
    notes: Iterable[str] = (),
) -> dict[str, Any]:
    try:
        form = parse_xform(xml, attachments)
    except XFormError as exc:
        raise SurveyFormError("visits.form.error.xform", detail=str(exc)[:300]) from None
    _check_expressions(form)
    n = question_count_of(form)
    if n == 0:  # ODK takes such a form (a calculation, a note): so do we, and say so
        notes = [*notes, t("visits.form.nothing_to_answer")]
    FormSession(form)  # builds: a form that cannot start is refused here, not at the door
    definition = {
        "format": FORMAT,
        "name": name or form.name,
        "title": title or form.title or name,
        "version": version or form.version or "1",
        "xform": xml,
        "attachments": {k: base64.b64encode(v).decode() for k, v in sorted(attachments.items())},
        "languages": list(form.languages),
        "notes": list(notes),
        "questions": n,
    }
    from db.limits import PAYLOAD_BYTES

    size = len(json.dumps(definition, ensure_ascii=False, separators=(",", ":")).encode())
    if size > PAYLOAD_BYTES["survey"]:
        # it travels to every laptop as one operation: bounded like every operation
        raise SurveyFormError(
            "visits.form.error.too_big",
            size=f"{size / 1e6:.1f}",
            limit=f"{PAYLOAD_BYTES['survey'] / 1e6:.1f}",
        )
    return definition


def _expressions(form: FormDef) -> Iterator[tuple[str, str, str]]:
    """Every expression of the form: (question path, what it is, the expression)."""
    for bind in form.binds.values():
        for col in ("relevant", "constraint", "calculate", "required", "readonly"):
            expr = getattr(bind, col)
            if expr and expr not in ("true()", "false()"):
                yield bind.path, col, expr
    for control in form.controls.values():
        if control.itemset is not None:
            yield control.ref, "choice_filter", control.itemset.nodeset
    for texts in form.itext.values():
        for tid, parts in texts.items():
            for p in parts:
                if not isinstance(p, str):
                    yield tid.split(":")[0], "label", p[1]


def _check_expressions(form: FormDef) -> None:
    for path, col, expr in _expressions(form):
        try:
            xpath.parse(expr)
        except xpath.XPathError as exc:
            raise SurveyFormError(
                "visits.form.error.expression",
                question=path.rsplit("/", 1)[-1],
                column=col,
                detail=exc.detail,
                position=exc.position + 1,
                expression=expr[:120],
            ) from None


def _controls(items: Iterable[Any]) -> Iterator[Control]:
    for item in items:
        if isinstance(item, Group):
            yield from _controls(item.children)
        elif isinstance(item, Control):
            yield item


def question_count_of(form: FormDef) -> int:
    """Questions a worker answers (notes and read-only calculations not counted)."""
    n = 0
    for c in _controls(form.body):
        bind = form.binds.get(c.ref)
        if bind is not None and bind.readonly in ("true()", "true") and c.kind == "input":
            continue
        n += 1
    return n


def question_count(definition: dict[str, Any]) -> int:
    if definition.get("format") == FORMAT:
        return int(definition.get("questions") or 0)
    return len([q for q in definition.get("questions", []) if q.get("type") != "note"])


# --- the form behind a stored definition ------------------------------------------------------
def form_of(definition: dict[str, Any]) -> FormDef:
    """The parsed form (cached: a form is parsed once per version, not at every keystroke)."""
    if definition.get("format") == FORMAT:
        xml = definition["xform"]
        files = tuple(sorted((definition.get("attachments") or {}).items()))
    else:
        xml, files = legacy_xform(definition), ()
    key = hashlib.sha256(xml.encode()).hexdigest()
    return _parsed(key, xml, files)


@lru_cache(maxsize=16)
def _parsed(key: str, xml: str, files: tuple[tuple[str, str], ...]) -> FormDef:
    return parse_xform(xml, {k: base64.b64decode(v) for k, v in files})


def session_for(
    definition: dict[str, Any],
    *,
    today: date | None = None,
    username: str = "",
    deviceid: str = "",
    answers: dict[str, Any] | None = None,
    form_language: str | None = None,
    last_saved: dict[str, Any] | None = None,
) -> FormSession:
    form = form_of(definition)
    chosen = form_language or pick_language(form, language())
    return FormSession(
        form,
        language=chosen,
        today=today,
        username=username,
        deviceid=deviceid,
        answers=answers,
        last_saved=last_saved,
    )


_LEGACY_TYPES = {
    "text": ("input", "string"),
    "integer": ("input", "int"),
    "decimal": ("input", "decimal"),
    "date": ("input", "date"),
    "select_one": ("select1", "string"),
    "select_multiple": ("select", "string"),
    "note": ("input", "string"),
}


def legacy_xform(definition: dict[str, Any]) -> str:
    """The XForm a definition of the first, flat format stands for."""
    import re

    langs: list[str] = []

    def note_langs(value: Any) -> None:
        if isinstance(value, dict):
            for k in value:
                if k not in langs:
                    langs.append(k)

    for q in definition.get("questions", []):
        for key in ("label", "hint", "required_message", "constraint_message"):
            note_langs(q.get(key))
        for c in q.get("choices", []):
            note_langs(c.get("label"))
    itext: dict[str, dict[str, str]] = {lang: {} for lang in langs}

    def label(tag: str, tid: str, value: Any) -> str:
        if isinstance(value, dict):
            for lang in langs:
                itext[lang][tid] = str(value.get(lang) or next(iter(value.values()), ""))
            return f"<{tag} ref=\"jr:itext('{tid}')\"/>"
        return f"<{tag}>{escape(str(value or ''))}</{tag}>" if value else ""

    def paths(expr: str) -> str:
        return re.sub(r"\$\{\s*([A-Za-z_][\w.-]*)\s*\}", r" /data/\1 ", expr or "")

    nodes, binds, body = [], [], []
    for meta in definition.get("meta", []):
        nodes.append(f"<{meta}/>")
        kind = {"start": "timestamp", "end": "timestamp", "today": "date"}[meta]
        typ = "date" if meta == "today" else "dateTime"
        binds.append(
            f'<bind nodeset="/data/{meta}" type="{typ}" jr:preload="{kind}"'
            f' jr:preloadParams="{meta}"/>'
        )
    for q in definition.get("questions", []):
        name, qtype = q["name"], q["type"]
        control, typ = _LEGACY_TYPES.get(qtype, ("input", "string"))
        nodes.append(f"<{name}/>")
        attrs = [f'nodeset="/data/{name}"', f'type="{typ}"']
        if q.get("required"):
            attrs.append('required="true()"')
        if q.get("relevant"):
            attrs.append(f"relevant={quoteattr(paths(q['relevant']))}")
        if q.get("constraint"):
            attrs.append(f"constraint={quoteattr(paths(q['constraint']))}")
        if qtype == "note":
            attrs.append('readonly="true()"')
        for key, attr in (
            ("constraint_message", "jr:constraintMsg"),
            ("required_message", "jr:requiredMsg"),
        ):
            msg = q.get(key)
            if isinstance(msg, dict):
                tid = f"/data/{name}:{key}"
                for lang in langs:
                    itext[lang][tid] = str(msg.get(lang) or next(iter(msg.values()), ""))
                attrs.append(f"{attr}=\"jr:itext('{tid}')\"")
            elif msg:
                attrs.append(f"{attr}={quoteattr(str(msg))}")
        binds.append(f"<bind {' '.join(attrs)}/>")
        inner = label("label", f"/data/{name}:label", q.get("label"))
        inner += label("hint", f"/data/{name}:hint", q.get("hint"))
        for i, c in enumerate(q.get("choices", [])):
            inner += (
                "<item>"
                + label("label", f"{name}-{i}", c.get("label") or c["name"])
                + f"<value>{escape(c['name'])}</value></item>"
            )
        body.append(f'<{control} ref="/data/{name}">{inner}</{control}>')
    itext_xml = ""
    if langs:
        parts = []
        for i, lang in enumerate(langs):
            texts = "".join(
                f"<text id={quoteattr(tid)}><value>{escape(v)}</value></text>"
                for tid, v in itext[lang].items()
            )
            default = ' default="true()"' if i == 0 else ""
            parts.append(f"<translation lang={quoteattr(lang)}{default}>{texts}</translation>")
        itext_xml = f"<itext>{''.join(parts)}</itext>"
    form_id = quoteattr(str(definition.get("name") or "form"))
    version = quoteattr(str(definition.get("version") or "1"))
    return (
        '<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"'
        ' xmlns:jr="http://openrosa.org/javarosa">'
        f"<h:head><h:title>{escape(str(definition.get('title') or ''))}</h:title><model>"
        f"{itext_xml}<instance><data id={form_id} version={version}>{''.join(nodes)}"
        f"</data></instance>{''.join(binds)}</model></h:head>"
        f"<h:body>{''.join(body)}</h:body></h:html>"
    )


# --- answering (the command line, the demo) ---------------------------------------------------
def check_answers(
    definition: dict[str, Any], raw: dict[str, Any], *, today: date | None = None
) -> dict[str, Any]:
    """Validate a response given as answers by question name (top-level questions, the
    command line's and the demo's way); returns what is stored.

    Raises :class:`AnswerInvalid` (``field``: the question's name) for the first question
    that breaks a rule, in form order: first an answer of the wrong kind, then the rules.
    """
    session = session_for(definition, today=today)
    top = {n.name: n for n in session.root.children}
    for name, value in raw.items():
        node = top.get(name)
        prompt = session.prompt_for(node) if node is not None else None
        if node is None or prompt is None:
            continue
        try:
            node.value = session.coerce(prompt, value)
        except AnswerInvalid as exc:
            raise AnswerInvalid(
                "visits.survey.answer.message", field=name, message=exc.message()
            ) from None
        session.recalculate()  # a choice list may follow this answer
    session.recalculate()
    broken = session.broken()
    if broken is not None:
        prompt, message = broken
        raise AnswerInvalid("visits.survey.answer.message", field=prompt.node.name, message=message)
    session.finish()
    return session.answers()


# --- export -----------------------------------------------------------------------------------
META_COLUMNS = ["_household_id", "_submission_time", "_submitted_by", "_uuid", "_version", "_index"]


def _leaves(form: FormDef) -> Iterator[tuple[str, str | None, Control | None]]:
    """Every answer the instance holds, in form order: (path below the root, the repeat it
    is in or None, its control)."""
    from kiosk.domain.xform import _local

    root_path = "/" + _local(form.template.tag)

    def visit(el: Any, path: str, repeat: str | None) -> Iterator[tuple[str, str | None, Any]]:
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = _local(child.tag)
            p = f"{path}/{name}"
            if p in form.repeats:
                if child is form.repeats[p]:
                    yield from visit(child, p, p)
                continue
            if len([c for c in child if isinstance(c.tag, str)]):
                yield from visit(child, p, repeat)
                continue
            control, bind = form.controls.get(p), form.binds.get(p)
            if (
                control is not None
                and bind is not None
                and control.kind == "input"
                and bind.readonly in ("true()", "true")
                and not bind.calculate
            ):
                continue  # a note carries no answer
            yield p, repeat, control

    yield from visit(form.template, root_path, None)


def export_tables(
    definitions: list[dict[str, Any]],
    responses: Iterable[Any],
    versions: dict[str, str],
    *,
    labels: str | None = None,
) -> Iterator[tuple[str, list[str], Iterator[list[Any]]]]:
    """The tables of an export: the responses, then one per repeat.

    ``definitions``: every version of the form, the newest first (its columns lead; a
    question only an older version asked follows). ``labels``: the form language whose
    labels head the columns and name the chosen options (None: names, as Kobo's default).
    """
    forms = [form_of(d) for d in definitions]
    newest = forms[0]
    session = FormSession(newest, language=labels if labels in newest.languages else None)
    root = "/" + newest.template.tag.split("}")[-1]
    columns: dict[str | None, list[tuple[str, Control | None]]] = {}
    for form in forms:
        for path, repeat, control in _leaves(form):
            table = columns.setdefault(repeat, [])
            if all(p != path for p, _ in table):
                table.append((path, control if form is newest else control))
    rows: dict[str | None, list[list[Any]]] = {r: [] for r in columns}

    def label_of(path: str, control: Control | None) -> str:
        if labels and control is not None:
            text = session.render(control.label, session.root)
            if text:
                return text
        return path[len(root) + 1 :]

    every: dict[str, list[tuple[str, str]]] = {}

    def options(control: Control) -> list[tuple[str, str]]:
        """Every choice a question offers, whatever a choice_filter would leave."""
        if control.ref not in every:
            from dataclasses import replace

            shown = control
            if control.itemset is not None:
                whole = control.itemset.nodeset.split("[", 1)[0]
                shown = replace(control, itemset=replace(control.itemset, nodeset=whole))
            every[control.ref] = session.choices(shown, session.root)
        return every[control.ref]

    def header(repeat: str | None) -> list[str]:
        out = []
        for path, control in columns[repeat]:
            out.append(label_of(path, control))
            if control is not None and control.kind == "select":
                base = label_of(path, control)
                out += [f"{base}/{v}" for v, _ in options(control)]
        if repeat is None:
            return out + META_COLUMNS
        return out + ["_index", "_parent_index"]

    def value_of(value: Any, control: Control | None) -> Any:
        if value is None:
            return ""
        if labels and control is not None and control.kind in ("select1", "select"):
            names = dict(options(control))
            if isinstance(value, list):
                return " ".join(names.get(str(v)) or str(v) for v in value)
            return names.get(str(value), value)
        if isinstance(value, list):
            return " ".join(str(v) for v in value)
        return value

    def lookup(data: Any, rel: list[str]) -> Any:
        for step in rel:
            if not isinstance(data, dict):
                return None
            data = data.get(step)
        return data

    meta: dict[str, Any] | None = None

    def cells(data: dict[str, Any], base: str, repeat: str | None) -> list[Any]:
        out: list[Any] = []
        for path, control in columns[repeat]:
            rel = path[len(base) + 1 :].split("/")
            value = lookup(data, rel)
            if value is None and repeat is None and meta is not None:
                value = meta.get(path)  # a response of the first format kept these apart
            out.append(value_of(value, control))
            if control is not None and control.kind == "select":
                picked = value if isinstance(value, list) else str(value or "").split()
                out += [
                    ("" if value in (None, "", []) else (1 if v in picked else 0))
                    for v, _ in options(control)
                ]
        return out

    counters: dict[str | None, int] = {}

    def repeats_in(data: dict[str, Any], base: str, parent_index: int) -> None:
        for repeat in columns:
            if repeat is None or repeat.rsplit("/", 1)[0] != base:
                continue
            entries = data.get(repeat.rsplit("/", 1)[-1]) if isinstance(data, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, dict):
                    continue
                counters[repeat] = counters.get(repeat, 0) + 1
                index = counters[repeat]
                rows[repeat].append([*cells(entry, repeat, repeat), index, parent_index])
                repeats_in(entry, repeat, index)

    def nested(data: dict[str, Any], base: str, parent_index: int) -> None:
        repeats_in(data, base, parent_index)
        # repeats inside non-repeat groups
        for key, value in (data or {}).items():
            if isinstance(value, dict):
                nested(value, f"{base}/{key}", parent_index)

    for index, r in enumerate(responses, start=1):
        answers = r.answers if isinstance(r.answers, dict) else {}
        meta = {
            f"{root}/start": r.started_at or None,
            f"{root}/end": r.submitted_at,
            f"{root}/today": (r.submitted_at or "")[:10] or None,
        }
        row = cells(answers, root, None)
        row += [
            r.household_id or "",
            r.submitted_at,
            r.worker_id or "",
            r.id,
            versions.get(r.survey_id, ""),
            index,
        ]
        rows[None].append(row)
        nested(answers, root, index)
    name = str(definitions[0].get("name") or "data")
    yield name, header(None), iter(rows[None])
    for repeat in columns:
        if repeat is not None:
            yield repeat.rsplit("/", 1)[-1], header(repeat), iter(rows[repeat])


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

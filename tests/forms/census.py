"""The corpus census: every form in tests/forms, what pyxform makes of it and what
:func:`kiosk.domain.xlsform_read.read_xlsform` makes of it. Run from the repository root:

    .venv/bin/python tests/forms/census.py        # rewrites tests/forms/CENSUS.md

tests/test_xlsform_read.py uses :func:`corpus_forms` and :func:`census_row` for its checks.
"""

from __future__ import annotations

import csv
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:  # run as a script, the package installed elsewhere must not win
    sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from kiosk.domain.survey import SurveyFormError  # noqa: E402
from kiosk.domain.xlsform_read import ReadForm, read_xlsform  # noqa: E402

FORM_SUFFIXES = (".xlsx", ".xls", ".md", ".csv")
_XF = "{http://www.w3.org/2002/xforms}"
_H = "{http://www.w3.org/1999/xhtml}"
QUESTION_TAGS = {"input", "select1", "select", "upload", "range", "trigger", "rank"}


def corpus_forms() -> list[Path]:
    """Form files under tests/forms/<origin>/; a .csv counts as a form only when it is an
    XLSForm written as CSV (its first cell names the survey sheet), not a choice list."""
    found = []
    for path in sorted(HERE.glob("*/*")):
        if path.parent.name == "LICENSES" or path.suffix.lower() not in FORM_SUFFIXES:
            continue
        if path.suffix.lower() == ".csv" and not _is_csv_form(path):
            continue
        found.append(path)
    return found


def _is_csv_form(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        first = next(csv.reader(fh), [""])
    return bool(first) and first[0].strip().lower() == "survey"


@dataclass(frozen=True)
class CensusRow:
    form: Path
    pyxform_error: str | None  # None: pyxform converts it
    read: ReadForm | None
    refusal: SurveyFormError | None

    @property
    def name(self) -> str:
        return self.form.relative_to(HERE).as_posix()


def census_row(form: Path) -> CensusRow:
    return CensusRow(form, pyxform_verdict(form), *_our_verdict(form))


def pyxform_verdict(form: Path) -> str | None:
    """pyxform's own conversion of the file: None, or the reason it refuses."""
    from pyxform.xls2xform import convert

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            convert(str(form), warnings=[], validate=False)
    except Exception as exc:  # pyxform refuses with PyXFormError, and fails with others
        text = " ".join(str(exc).split())
        return text if type(exc).__name__ == "PyXFormError" else f"{type(exc).__name__}: {text}"
    return None


def _our_verdict(form: Path) -> tuple[ReadForm | None, SurveyFormError | None]:
    try:
        return read_xlsform(form), None
    except SurveyFormError as exc:
        return None, exc


@dataclass(frozen=True)
class Shape:
    questions: int
    groups: int
    repeats: int


def shape(xform: str) -> Shape:
    """Questions shown (body controls), groups and repeats of an XForm."""
    root = etree.fromstring(xform.encode("utf-8"))
    body = root.find(f"{_H}body")
    if body is None:
        return Shape(0, 0, 0)
    tags = [etree.QName(e).localname for e in body.iter() if isinstance(e.tag, str)]
    return Shape(
        sum(tag in QUESTION_TAGS for tag in tags), tags.count("group"), tags.count("repeat")
    )


def fill_outcome(form: Path) -> tuple[str, str]:
    """What the kiosk makes of a form at the door: ("filled", "") once imported, filled
    through the screen's logic with answers its rules accept (tests/form_filler.py) and
    exported; else ("refused" | "unfilled", why)."""
    from types import SimpleNamespace

    from kiosk.core.errors import UserError
    from kiosk.domain.survey import export_tables, load_xlsform, session_for
    from tests.form_filler import TODAY, fill

    try:
        definition = load_xlsform(form)
    except UserError as exc:
        return "refused", exc.message()
    session = session_for(definition, today=TODAY, username="测试网格员", deviceid="test")
    left = fill(session)
    if left:
        return "unfilled", "; ".join(left)
    session.finish()
    response = SimpleNamespace(
        id="r1",
        survey_id="s1",
        household_id=None,
        answers=session.answers(),
        started_at=None,
        submitted_at="2026-12-03T10:00:00+08:00",
        worker_id="w",
    )
    tables = [(n, h, list(r)) for n, h, r in export_tables([definition], [response], {"s1": "1"})]
    if not tables[0][2] or len(tables[0][1]) != len(tables[0][2][0]):
        return "unfilled", "the export has no row, or a row of another width than its header"
    return "filled", ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_census(path: Path) -> str:
    from kiosk.core.i18n import set_language

    set_language("en")
    rows = [census_row(form) for form in corpus_forms()]
    converts = sum(r.pyxform_error is None for r in rows)
    read = sum(r.read is not None for r in rows)
    fills = {r.form: fill_outcome(r.form) for r in rows if r.read is not None}
    filled = sum(state == "filled" for state, _ in fills.values())
    lines = [
        "# Corpus census",
        "",
        "Written by `tests/forms/census.py`; sources and licences in `SOURCES.md`.",
        "",
        f"- forms: {len(rows)}",
        f"- pyxform converts: {converts}",
        f"- read by `read_xlsform`: {read}",
        f"- refused: {len(rows) - read}",
        f"- imported, filled with answers its rules accept and exported: {filled}, "
        f"{filled / converts:.0%} of the forms pyxform converts",
        "",
        "| form | pyxform | read_xlsform | questions | groups | repeats | languages | notes"
        " | filled |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pyx = "converts" if r.pyxform_error is None else f"refuses: {_cell(r.pyxform_error[:160])}"
        if r.read is not None:
            s = shape(r.read.xform)
            ours = "read"
            figures = [str(s.questions), str(s.groups), str(s.repeats)]
            langs = ", ".join(r.read.languages) or "-"
            notes = str(len(r.read.notes))
            state, why = fills[r.form]
            done = "yes" if state == "filled" else f"{state}: {_cell(why[:160])}"
        else:
            assert r.refusal is not None
            detail = str(r.refusal.params.get("reason") or r.refusal.message())
            detail = detail.replace(str(HERE), "tests/forms")
            ours = f"refused ({r.refusal.key.rsplit('.', 1)[-1]}): {_cell(detail[:200])}"
            figures = ["", "", ""]
            langs = notes = done = ""
        lines.append(
            f"| {r.name} | {pyx} | {ours} | {' | '.join(figures)} | {_cell(langs)} | {notes}"
            f" | {done} |"
        )
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    write_census(HERE / "CENSUS.md")

"""Questionnaires: XLSForm import (and its refusals), the XPath subset, answering, export."""

from __future__ import annotations

import csv
import json
import math
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.demo.district import DEMO_ACCOUNTS
from kiosk.domain import xpath_lite
from kiosk.domain.survey import AnswerInvalid, SurveyFormError, check_answers, load_xlsform

EXAMPLE = Path(__file__).resolve().parent.parent / "kiosk" / "examples" / "satisfaction_survey.xlsx"
HEADER = ["type", "name", "label", "required", "relevant", "constraint", "constraint_message"]
BASE = [
    ["text", "who", "您的称呼", "yes", None, None, None],
    ["select_one yn", "ok", "满意吗？", "yes", None, None, None],
    ["text", "why", "原因", None, "${ok} = 'no'", None, None],
    ["integer", "age", "年龄", None, None, ". >= 0 and . <= 120", "年龄须在0到120之间"],
]
CHOICES = [["list_name", "name", "label"], ["yn", "yes", "满意"], ["yn", "no", "不满意"]]


def workbook(
    tmp_path: Path,
    rows=None,
    *,
    survey_sheet="survey",
    choices=CHOICES,
    header=HEADER,
    settings_rows=None,
) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = survey_sheet
    ws.append(header)
    for r in rows if rows is not None else BASE:
        ws.append(r)
    if choices:
        c = wb.create_sheet("choices")
        for r in choices:
            c.append(r)
    if settings_rows:
        s = wb.create_sheet("settings")
        for r in settings_rows:
            s.append(r)
    path = tmp_path / "form.xlsx"
    wb.save(path)
    return path


def refused(path: Path) -> str:
    with pytest.raises(SurveyFormError) as info:
        load_xlsform(path)
    return info.value.message()


def test_example_form_loads_with_chinese_labels():
    d = load_xlsform(EXAMPLE)
    assert d["name"] == "satisfaction_2026" and d["title"] == "社区服务满意度调查"
    types = {q["type"] for q in d["questions"]}
    assert types == {"note", "select_one", "text", "select_multiple", "integer", "decimal", "date"}
    assert d["meta"] == ["start", "end"]


def test_bad_forms_are_refused_naming_row_and_feature(tmp_path):
    assert "survey" in refused(workbook(tmp_path, survey_sheet="questions", choices=CHOICES))
    dup = BASE + [["text", "who", "再问一次", None, None, None, None]]
    msg = refused(workbook(tmp_path, dup))
    assert "第 6 行" in msg and "who" in msg and "第 2 行" in msg
    msg = refused(
        workbook(tmp_path, BASE + [["select_one colours", "c", "颜色", None, None, None, None]])
    )
    assert "第 6 行" in msg and "colours" in msg
    bad = [r[:] for r in BASE]
    bad[2][4] = "${ok} = = 'no'"
    msg = refused(workbook(tmp_path, bad))
    assert "第 4 行" in msg and "relevant" in msg
    bad = [r[:] for r in BASE]
    bad[3][5] = "${nope} > 1"
    assert "nope" in refused(workbook(tmp_path, bad))
    msg = refused(
        workbook(tmp_path, BASE + [["geopoint", "where", "位置", None, None, None, None]])
    )
    assert "第 6 行" in msg and "geopoint" in msg
    msg = refused(workbook(tmp_path, BASE + [["begin group", "g", "组", None, None, None, None]]))
    assert "begin group" in msg
    msg = refused(
        workbook(
            tmp_path,
            [r + [None] for r in BASE] + [["text", "x", "x", None, None, None, None, "abc"]],
            header=HEADER + ["calculation"],
        )
    )
    assert "calculation" in msg and "第 6 行" in msg
    msg = refused(
        workbook(tmp_path, BASE + [["select_one yn or_other", "o", "o", None, None, None, None]])
    )
    assert "or_other" in msg
    msg = refused(workbook(tmp_path, settings_rows=[["form_id", "instance_name"], ["f", "x"]]))
    assert "instance_name" in msg
    bad = [r[:] for r in BASE]
    bad[0][3] = "${ok} = 'yes'"
    assert "required" in refused(workbook(tmp_path, bad))


def test_not_a_workbook(tmp_path):
    p = tmp_path / "form.xlsx"
    p.write_text("not a zip")
    assert "form.xlsx" in refused(p)


def test_answers_required_relevant_constraint(tmp_path):
    d = load_xlsform(workbook(tmp_path))
    assert check_answers(d, {"who": "王", "ok": "yes", "why": "ignored", "age": "30"}) == {
        "who": "王",
        "ok": "yes",
        "age": 30,
    }  # why is irrelevant when ok = yes: dropped
    with pytest.raises(AnswerInvalid) as info:
        check_answers(d, {"who": "王", "ok": "yes", "age": "300"})
    assert info.value.field == "age" and info.value.message() == "年龄须在0到120之间"
    with pytest.raises(AnswerInvalid) as info:
        check_answers(d, {"ok": "yes"})
    assert info.value.field == "who"
    with pytest.raises(AnswerInvalid) as info:
        check_answers(d, {"who": "王", "ok": "maybe"})
    assert info.value.field == "ok"
    with pytest.raises(AnswerInvalid) as info:
        check_answers(d, {"who": "王", "ok": "no", "age": "3.5"})
    assert info.value.field == "age"


def test_example_constraints_use_other_answers_and_today():
    d = load_xlsform(EXAMPLE)
    base = {"overall": "satisfied", "household_size": "2"}
    with pytest.raises(AnswerInvalid) as info:
        check_answers(d, {**base, "elderly": "3"})
    assert info.value.field == "elderly"
    with pytest.raises(AnswerInvalid) as info:
        check_answers(d, {**base, "last_contact": "2099-01-01"}, today=date(2026, 5, 1))
    assert info.value.field == "last_contact"
    with pytest.raises(AnswerInvalid):
        check_answers(d, {**base, "concerns": ["parking", "noise", "heating", "sanitation"]})
    with pytest.raises(AnswerInvalid) as info:
        check_answers(d, {"overall": "dissatisfied", "household_size": "2"})
    assert info.value.field == "why_not"


# --- the XPath subset -------------------------------------------------------------------------
def test_xpath_examples():
    ev = lambda e, a=None, cur=None: xpath_lite.evaluate(xpath_lite.parse(e), a or {}, cur)  # noqa: E731
    assert ev("1 + 2 * 3") == 7
    assert ev("7 mod 3 = 1 and 9 div 3 = 3")
    assert ev("selected(${x}, 'b')", {"x": "a b"}) is True
    assert ev("count-selected(.)", cur="a b c") == 3
    assert ev(". > 3", cur="") is False and ev(". != 3", cur="") is True
    assert ev("${d} < today()", {"d": "2000-01-01"})
    assert ev("if(${a} = 'x', 1, 2)", {"a": "x"}) == 1
    assert ev("not(string-length(.) > 2)", cur="ab")
    for bad in ("", "1 +", "foo(1)", "${a", "'open", "selected(1)", "1 2", "__import__('os')"):
        with pytest.raises(xpath_lite.XPathError):
            xpath_lite.parse(bad)


_num = st.integers(min_value=-1000, max_value=1000)


@st.composite
def arith(draw, depth=0):
    if depth > 3 or draw(st.booleans()):
        n = draw(_num)
        return str(n) if n >= 0 else f"({n})", float(n)
    op = draw(st.sampled_from(["+", "-", "*"]))
    (a, x), (b, y) = draw(arith(depth + 1)), draw(arith(depth + 1))
    value = {"+": x + y, "-": x - y, "*": x * y}[op]
    return f"({a} {op} {b})", value


@given(arith())
@settings(max_examples=200, deadline=None)
def test_xpath_arithmetic_matches_python(case):
    text, value = case
    assert xpath_lite.evaluate(xpath_lite.parse(text), {}) == value


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_xpath_parser_never_crashes_on_garbage(text):
    try:
        tree = xpath_lite.parse(text)
    except xpath_lite.XPathError:
        return
    result = xpath_lite.evaluate(tree, {"a": "1"}, "x")
    assert isinstance(result, bool | float | str) or (
        isinstance(result, float) and math.isnan(result)
    )


# --- CLI: import and export ------------------------------------------------------------------
SUP = "演示主管"


def test_cli_import_fill_export(kiosk, demo_db, tmp_path):
    db = str(demo_db)
    boss = DEMO_ACCOUNTS["supervisor"][0]  # questionnaires are a supervisor's
    r = kiosk("survey", "import", str(EXAMPLE), "--db", db, "--json", as_worker=boss)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["name"] == "satisfaction_2026"
    again = kiosk("survey", "import", str(EXAMPLE), "--db", db, as_worker=boss)
    assert again.returncode == 0 and "未作改动" in again.stderr
    from db.connection import transaction
    from db.surveys import find_survey, save_response
    from kiosk.runtime import load, open_runtime

    rt = open_runtime(load(db=db))
    rt.ctx.verified = True  # the default grid worker, signed in
    s = find_survey(rt.conn, "satisfaction_2026")
    hid = rt.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    with transaction(rt.conn):
        rt.conn.execute("DELETE FROM survey_responses")  # the demo's responses aside
        save_response(
            rt.ctx,
            s.id,
            check_answers(
                s.definition,
                {"overall": "basic", "household_size": "3", "concerns": ["noise", "parking"]},
            ),
            household_id=hid,
        )
        save_response(
            rt.ctx,
            s.id,
            check_answers(
                s.definition,
                {"overall": "dissatisfied", "why_not": "暖气不热", "household_size": "1"},
            ),
        )
    rt.close()
    out = tmp_path / "out.csv"
    r = kiosk("survey", "export", "satisfaction_2026", "--out", str(out), "--db", db, as_worker=SUP)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(rows) == 2
    assert rows[0]["concerns"] == "parking noise" and rows[0]["concerns/noise"] == "1"
    assert rows[0]["concerns/heating"] == "0" and rows[1]["concerns/noise"] == ""
    assert rows[0]["_household_id"] == hid and rows[1]["_household_id"] == ""
    assert rows[1]["why_not"] == "暖气不热" and rows[0]["household_size"] == "3"
    assert "intro" not in rows[0]  # notes carry no answer
    xlsx = tmp_path / "out.xlsx"
    assert (
        kiosk(
            "survey", "export", "satisfaction_2026", "--out", str(xlsx), "--db", db, as_worker=SUP
        ).returncode
        == 0
    )
    ws = openpyxl.load_workbook(xlsx).active
    values = list(ws.values)
    assert list(values[0]) == list(rows[0].keys()) and len(values) == 3
    bad = kiosk("survey", "export", "nope", "--out", str(xlsx), "--db", db, as_worker=SUP)
    refused = kiosk(
        "survey",
        "export",
        "satisfaction_2026",
        "--out",
        str(tmp_path / "w.csv"),
        "--db",
        db,
        as_worker="演示网格员",
    )
    assert refused.returncode == 3 and "只有社区主管可以" in refused.stderr
    assert not (tmp_path / "w.csv").exists()
    assert (
        bad.returncode == 2 and "satisfaction_2026" in bad.stderr and "Traceback" not in bad.stderr
    )


def test_cli_import_refusal_is_a_message(kiosk, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "sheet1"
    wb.active.append(["type", "name"])
    wb.create_sheet("choices")
    p = tmp_path / "bad.xlsx"
    wb.save(p)
    r = kiosk("survey", "import", str(p), "--db", str(tmp_path / "k.db"))
    assert r.returncode == 2 and "survey" in r.stderr and "Traceback" not in r.stderr

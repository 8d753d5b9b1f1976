"""Questionnaires: XLSForm import (and its refusals), the XPath subset, answering, export."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from kiosk.demo.district import DEMO_ACCOUNTS
from kiosk.domain.survey import (
    AnswerInvalid,
    SurveyFormError,
    check_answers,
    load_xlsform,
    session_for,
)

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
    assert d["format"] == 2 and d["questions"] == 8
    assert d["languages"] == ["中文 (zh)", "English (en)"]
    session = session_for(d)
    kinds = {p.node.name: p.kind for page in session.pages() for p in page.prompts}
    assert kinds["overall"] == "select1" and kinds["concerns"] == "select"
    assert kinds["household_size"] == "integer" and kinds["last_contact"] == "date"
    assert kinds["intro"] == "note"
    labels = {p.node.name: p.label for page in session.pages() for p in page.prompts}
    assert labels["household_size"] and all("\u4e00" <= ch for ch in labels["overall"][:1])


def test_what_odk_accepts_is_not_refused(tmp_path):
    """Groups, geopoints, a calculation column, or_other, dynamic required, an instance_name:
    pyxform converts them, so they import (the first importer refused each)."""
    rows = BASE + [
        ["begin group", "g", "组", None, None, None, None],
        ["geopoint", "where", "位置", None, None, None, None],
        ["select_one yn or_other", "o", "o", "${ok} = 'yes'", None, None, None],
        ["end group", None, None, None, None, None, None],
    ]
    d = load_xlsform(
        workbook(
            tmp_path,
            rows,
            settings_rows=[["form_id", "instance_name"], ["f", "concat('x', ${who})"]],
        )
    )
    session = session_for(d)
    kinds = {p.node.name: p.kind for page in session.pages() for p in page.prompts}
    assert kinds["where"] == "geopoint" and kinds["o"] == "select1"


def test_bad_forms_are_refused_with_the_reason(tmp_path):
    assert "survey" in refused(workbook(tmp_path, survey_sheet="questions", choices=CHOICES))
    dup = BASE + [["text", "who", "再问一次", None, None, None, None]]
    assert "who" in refused(workbook(tmp_path, dup))
    msg = refused(
        workbook(tmp_path, BASE + [["select_one colours", "c", "颜色", None, None, None, None]])
    )
    assert "colours" in msg
    bad = [r[:] for r in BASE]
    bad[2][4] = "${ok} = = 'no'"
    msg = refused(workbook(tmp_path, bad))
    assert "why" in msg and "relevant" in msg
    bad = [r[:] for r in BASE]
    bad[3][5] = "${nope} > 1"
    assert "nope" in refused(workbook(tmp_path, bad))


def test_not_a_workbook(tmp_path):
    p = tmp_path / "form.xlsx"
    p.write_text("not a zip")
    assert "form.xlsx" in refused(p)


def test_answers_required_relevant_constraint(tmp_path):
    d = load_xlsform(workbook(tmp_path))
    answers = check_answers(d, {"who": "王", "ok": "yes", "why": "ignored", "age": "30"})
    assert answers.pop("meta")["instanceID"].startswith("uuid:")
    assert answers == {
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


# --- a form with groups, a repeat, calculations and languages ---------------------------------
HOUSEHOLD_FORM = Path(__file__).resolve().parent / "survey_forms" / "household_members.md"


def test_repeats_calculations_and_filters():
    from kiosk.domain.survey import definition_from_xform

    d = load_xlsform(HOUSEHOLD_FORM)
    assert d["languages"] == ["Chinese (zh)", "English (en)"]
    s = session_for(d, today=date(2026, 12, 3), username="王网格")
    assert s.answers()["username"] == "王网格"
    first = s.pages()[0]
    assert [p.node.name for p in first.prompts] == ["head", "prov", "city"]
    prov, city = first.prompts[1], first.prompts[2]
    assert city.choices == []  # cascading: nothing until a province is chosen
    s.set_answer(prov, "a")
    city = s.pages()[0].prompts[2]
    assert city.choices == [("x", "甲市")]
    members = [p for p in s.pages() if p.repeat]
    assert len(members) == 1 and members[0].count == 1
    s.set_answer(members[0].prompts[1], "40")
    s.add_repeat(members[0].repeat, members[0].instance.parent, after=members[0].instance)
    members = [p for p in s.pages() if p.repeat]
    assert [(m.index, m.count) for m in members] == [(1, 2), (2, 2)]
    s.set_answer(members[1].prompts[1], "12")
    note = next(p for pg in s.pages() for p in pg.prompts if p.node.name == "show")
    assert note.label == "共52岁"
    with pytest.raises(AnswerInvalid):
        s.coerce(members[1].prompts[1], "twelve")
    s.set_answer(members[1].prompts[1], "200")
    assert s.broken_rule(s.pages()[2].prompts[1]) is not None  # . < 130
    s.remove_repeat(members[1].instance)
    assert s.answers()["total"] == "40"
    day = next(p for pg in s.pages() for p in pg.prompts if p.node.name == "d")
    s.set_answer(day, "2026-11-20")
    assert s.broken_rule(day) is None  # within 30 days of today: `. >= today() - 30`
    s.set_answer(day, "2026-10-20")
    assert s.broken_rule(day) is not None
    assert s.broken()[0].node.name == "head"  # required, on the first page
    s.language = "English (en)"
    assert s.pages()[0].prompts[0].label == "Head"
    saved = s.answers()
    again = session_for(d, answers=saved)
    assert again.answers() == saved
    assert definition_from_xform  # the import path the CLI and the demo share


def test_legacy_definitions_still_fill():
    """A definition stored by the first importer (flat questions) is read as the XForm it
    stands for: its rules hold and its answers keep their shape."""
    legacy = {
        "name": "old",
        "title": "旧问卷",
        "version": "1",
        "meta": ["start"],
        "questions": [
            {
                "name": "ok",
                "type": "select_one",
                "label": {"中文 (zh)": "满意吗", "English (en)": "OK?"},
                "required": True,
                "choices": [{"name": "yes", "label": "满意"}, {"name": "no", "label": "不满意"}],
            },
            {"name": "why", "type": "text", "label": "原因", "relevant": "${ok} = 'no'"},
            {
                "name": "n",
                "type": "integer",
                "label": "人数",
                "constraint": ". <= 9",
                "constraint_message": "最多 9 人",
            },
        ],
    }
    answers = check_answers(legacy, {"ok": "yes", "why": "x", "n": "3"})
    assert answers.pop("start") and answers == {"ok": "yes", "n": 3}
    with pytest.raises(AnswerInvalid) as info:
        check_answers(legacy, {"ok": "no", "n": "10"})
    assert info.value.field == "n" and info.value.message() == "最多 9 人"


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


def test_a_new_version_keeps_the_old_responses(tmp_path):
    """Version 2 drops a question and adds one: the response to version 1 still opens in
    version 1, and the export has both versions' columns, the newest first."""
    from types import SimpleNamespace

    from kiosk.domain.survey import export_tables

    def version(n: int, rows: list[str]) -> dict:
        path = tmp_path / f"v{n}.md"
        path.write_text(
            "| survey |\n| | type | name | label |\n"
            + "\n".join(rows)
            + f"\n| settings |\n| | form_id | version |\n| | visit_form | {n} |\n",
            encoding="utf-8",
        )
        return load_xlsform(path)

    v1 = version(1, ["| | text | old | 旧题 |", "| | integer | n | 人数 |"])
    v2 = version(2, ["| | integer | n | 人数 |", "| | text | new | 新题 |"])
    first = session_for(v1)
    first.set_answer(first.pages()[0].prompts[0], "旧答")
    first.set_answer(first.pages()[0].prompts[1], "3")
    second = session_for(v2)
    second.set_answer(second.pages()[0].prompts[1], "新答")
    old = session_for(v1, answers=first.answers())
    assert old.answers()["old"] == "旧答"  # reopened in its own version

    def response(rid: str, sid: str, answers: dict) -> SimpleNamespace:
        return SimpleNamespace(
            id=rid, survey_id=sid, household_id=None, answers=answers,
            started_at=None, submitted_at="2026-12-03T10:00:00", worker_id="w",
        )  # fmt: skip

    tables = list(
        export_tables(
            [v2, v1],
            [response("r1", "s1", first.answers()), response("r2", "s2", second.answers())],
            {"s1": "1", "s2": "2"},
        )
    )
    name, header, rows = tables[0]
    rows = [dict(zip(header, r, strict=True)) for r in rows]
    assert header.index("n") < header.index("new") < header.index("old")
    assert (rows[0]["old"], rows[0]["n"], rows[0]["new"], rows[0]["_version"]) == (
        "旧答",
        3,
        "",
        "1",
    )
    assert (rows[1]["old"], rows[1]["new"], rows[1]["_version"]) == ("", "新答", "2")


def test_dynamic_defaults_new_repeats_and_the_last_saved_response(tmp_path):
    """``default`` as an expression (setvalue on first load), on each new member
    (odk-new-repeat), a setvalue when an answer changes, and ``${last-saved#town}``."""
    path = tmp_path / "dyn.md"
    path.write_text(
        "| survey |\n"
        "| | type | name | label | default | trigger | calculation |\n"
        "| | date | d | 日期 | today() | | |\n"
        "| | text | town | 镇 | ${last-saved#town} | | |\n"
        "| | integer | n | 人数 | | | |\n"
        "| | text | stamp | 记录 | | ${n} | concat('n=', ${n}) |\n"
        "| | begin repeat | r | 成员 | | | |\n"
        "| | text | x | 编号 | concat('a', position(..)) | | |\n"
        "| | end repeat | | | | | |\n",
        encoding="utf-8",
    )
    d = load_xlsform(path)
    s = session_for(d, today=date(2026, 12, 3), last_saved={"town": "东镇"})
    assert (s.answers()["d"], s.answers()["town"]) == ("2026-12-03", "东镇")
    n = next(p for page in s.pages() for p in page.prompts if p.node.name == "n")
    s.set_answer(n, "4")
    assert s.answers()["stamp"] == "n=4"  # set when n changed
    members = next(p for p in s.pages() if p.repeat)
    s.add_repeat(members.repeat, members.instance.parent, after=members.instance)
    assert [m["x"] for m in s.answers()["r"]] == ["a1", "a2"]
    assert session_for(d, today=date(2026, 12, 3)).answers().get("town") is None

"""A questionnaire is a file from outside, and its definition reaches every laptop through
the hub: written to break things. Markup in its words never reaches Textual's markup parser;
calculations that feed each other, a repeat count of a billion and a nest of repeats end in
bounded time; an expression too long is refused at import naming its question; an XForm
carrying an entity that reads a file, or a network DTD, reads nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from db.connection import transaction
from kiosk.domain.survey import (
    SurveyFormError,
    definition_from_xform,
    import_survey,
    load_xlsform,
    session_for,
)
from kiosk.domain.xform import XFormError, parse_xform
from screens.visits.survey_fill import SurveyFillScreen
from tests.conftest import SUPERVISOR, acting_as
from tests.pilot_helpers import choose_survey, settle, signed_in_app

MARKUP = "[bold red]x[/] [/] [link=file:///etc/passwd]y"


def md_form(tmp_path: Path, rows: list[str], choices: list[str] = (), settings: str = "") -> Path:
    text = "| survey |\n" + "\n".join(rows) + "\n"
    if choices:
        text += "| choices |\n" + "\n".join(choices) + "\n"
    if settings:
        text += settings
    path = tmp_path / "hostile.md"
    path.write_text(text, encoding="utf-8")
    return path


async def test_markup_in_a_forms_words_is_shown_as_written(runtime, tmp_path):
    form = md_form(
        tmp_path,
        [
            "| | type | name | label | hint | constraint | constraint_message |",
            f"| | integer | n | {MARKUP} | {MARKUP} | . < 3 | {MARKUP} |",
            f"| | select_one yn | c | {MARKUP} | | | |",
            f"| | note | shown | {MARKUP} ${{n}} | | | |",
        ],
        ["| | list_name | name | label |", f"| | yn | y | {MARKUP} |", "| | yn | n | 否 |"],
        f"| settings |\n| | form_title | form_id |\n| | {MARKUP} | hostile |\n",
    )
    with acting_as(runtime, SUPERVISOR), transaction(runtime.conn):
        import_survey(runtime.ctx, load_xlsform(form))
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.push_screen(SurveyFillScreen(None, form="hostile"))
        await settle(app, pilot)
        await choose_survey(app, pilot, "hostile")
        screen = app.screen
        assert MARKUP in str(screen.query_one("#survey-title").render())
        screen.query_one("#q-n").value = "7"  # breaks `. < 3`: the form's message, as written
        await settle(app, pilot)
        assert MARKUP in str(screen.query_one("#survey-error").render())
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen  # refused, and still standing


def test_calculations_that_feed_each_other_end(tmp_path):
    form = md_form(
        tmp_path,
        [
            "| | type | name | label | calculation |",
            "| | calculate | a | | ${b} + 1 |",
            "| | calculate | b | | ${a} + 1 |",
            "| | integer | n | 数 | |",
        ],
    )
    session = session_for(load_xlsform(form))
    started = time.perf_counter()
    prompt = session.pages()[0].prompts[0]
    session.set_answer(prompt, "1")
    assert time.perf_counter() - started < 1
    assert session.answers()["n"] == 1


def test_a_repeat_count_of_a_billion_is_bounded(tmp_path):
    form = md_form(
        tmp_path,
        [
            "| | type | name | label | repeat_count |",
            "| | integer | n | 数 | |",
            "| | begin repeat | r | 重复 | ${n} |",
            "| | text | x | 内容 | |",
            "| | end repeat | | | |",
        ],
    )
    session = session_for(load_xlsform(form))
    started = time.perf_counter()
    session.set_answer(session.pages()[0].prompts[0], "1000000000")
    assert len([p for p in session.pages() if p.repeat]) == 500
    assert time.perf_counter() - started < 10


def test_an_expression_past_the_limit_is_refused_naming_its_question(tmp_path):
    long = " + ".join(["1"] * 1500)  # 6,000 characters
    form = md_form(
        tmp_path,
        ["| | type | name | label | relevant |", f"| | integer | n | 数 | {long} > 1 |"],
    )
    with pytest.raises(SurveyFormError) as info:
        load_xlsform(form)
    assert "n" in info.value.message() and "relevant" in info.value.message()


XXE = """<?xml version="1.0"?>
<!DOCTYPE h:html [<!ENTITY secret SYSTEM "file:///etc/passwd">
  <!ENTITY remote SYSTEM "http://127.0.0.1:9/x.dtd">]>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">
<h:head><h:title>&secret;</h:title><model><instance><data id="x"><q/></data></instance>
<bind nodeset="/data/q" type="string"/></model></h:head>
<h:body><input ref="/data/q"><label>&secret;&remote;</label></input></h:body></h:html>"""


def test_an_xform_with_entities_reads_no_file():
    try:
        form = parse_xform(XXE)
    except XFormError:
        return  # refused outright: fine too
    assert "root:" not in form.title
    session_for(
        definition_from_xform(XXE, {}, name="x", title="x", version="1")
    )  # builds, reads nothing
    assert all("root:" not in str(c.label) for c in form.controls.values())


def test_a_response_from_another_laptop_cannot_replace_one(runtime):
    """``meta.deprecatedID`` replaces a response only when the replacement comes from the
    laptop (and form) that made it: a device naming someone else's response in its own
    hides nothing."""
    from db.surveys import iter_responses, save_response

    with acting_as(runtime, SUPERVISOR), transaction(runtime.conn):
        sid, _ = import_survey(
            runtime.ctx,
            load_xlsform(Path(__file__).parents[1] / "survey_forms" / "household_members.md"),
        )
    with transaction(runtime.conn):
        victim = save_response(runtime.ctx, sid, {"hh": {"head": "真实"}})
        forged = save_response(
            runtime.ctx, sid, {"hh": {"head": "伪造"}, "meta": {"deprecatedID": victim}}
        )
        runtime.conn.execute(
            "UPDATE survey_responses SET device_id = 'another-laptop' WHERE id = ?", (forged,)
        )
    shown = {r.id for r in iter_responses(runtime.conn, "hh")}
    assert {victim, forged} <= shown  # the forged replacement hid nothing

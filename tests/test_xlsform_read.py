"""read_xlsform against real public XLSForms (tests/forms) and hostile files.

The promise: a form pyxform converts is read (a data file it needs being missing, or ODK
entities, are the only other refusals), a form pyxform refuses is refused with pyxform's
reason in our message, and no ignored column, media column, choice name with spaces or
location/media question is ever a reason to refuse.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import Workbook

from kiosk.core.i18n import set_language
from kiosk.domain.survey import SurveyFormError
from kiosk.domain.xlsform_read import MAX_ATTACHMENT_BYTES, read_xlsform

FORMS = Path(__file__).parent / "forms"
_spec = importlib.util.spec_from_file_location("forms_census", FORMS / "census.py")
assert _spec is not None and _spec.loader is not None
census = importlib.util.module_from_spec(_spec)
sys.modules["forms_census"] = census  # its dataclasses look their module up by name
_spec.loader.exec_module(census)

#: refusals of our own, on forms pyxform converts
OWN_REFUSALS = {"visits.survey.error.entities", "visits.survey.error.missing_attachment"}
XF = "{http://www.w3.org/2002/xforms}"
#: a placeholder left in a message (``${name}`` is a form reference, and fine)
UNFILLED = re.compile(r"(?<!\$)\{\w+\}")


@pytest.mark.parametrize(
    "form", census.corpus_forms(), ids=lambda p: p.relative_to(FORMS).as_posix()
)
def test_corpus_form_is_read_exactly_when_pyxform_converts_it(form: Path) -> None:
    row = census.census_row(form)
    if row.pyxform_error is None:
        if row.refusal is not None:
            assert row.refusal.key in OWN_REFUSALS, row.refusal.message()
            return
        assert row.read is not None
        root = etree.fromstring(row.read.xform.encode("utf-8"))
        itext = {t.get("lang") for t in root.iter(f"{XF}translation")}
        assert set(row.read.languages) == itext
        assert row.read.name
        assert all(note and not UNFILLED.search(note) for note in row.read.notes)
    else:
        assert row.read is None, f"pyxform refuses but we read it: {row.pyxform_error}"
        assert row.refusal is not None
        if row.refusal.key == "visits.survey.error.entities":
            return
        # pyxform's words reach the person (trimmed to a line)
        assert row.pyxform_error[:80] in str(row.refusal.params.get("reason", ""))


def test_corpus_covers_what_the_importer_must_never_refuse() -> None:
    """The corpus holds forms with each thing today's importer refused; all are read."""
    read = {
        row.name: row.read
        for row in map(census.census_row, census.corpus_forms())
        if row.read is not None
    }
    household = read["project/grid_household_zh.xlsx"]
    assert household.languages == ("中文 (zh)", "English (en)")
    assert household.default_language == "中文 (zh)"
    assert household.version == "2026120501"
    assert household.title == "入户走访登记"
    assert set(household.attachments) == {"communities.csv"}
    assert "幸福社区" in household.attachments["communities.csv"].decode("utf-8")
    assert "head of household" in household.xform  # a choice name with spaces
    assert read["project/single_colon_labels.xlsx"].languages == ("English", "Chinese")
    assert "fruits.csv" in read["pyxform/pull_data.xlsx"].attachments
    assert "itemsets.csv" in read["pyxform/choice_name_as_type.xls"].attachments
    assert "waterpoints.geojson" in read["osm-fieldwork/waterpoints.xls"].attachments
    notes = "\n".join(read["pyxform/xlsform_spec_test.xlsx"].notes)
    for word in ("geopoint", "barcode", "image", "audio", "video", "deviceid", "buttonText"):
        assert word in notes
    assert any("tutorial notes" in n for n in read["pyxform/tutorial.xls"].notes)


def test_notes_and_refusals_are_worded_in_both_languages() -> None:
    form = FORMS / "project" / "grid_household_zh.xlsx"
    set_language("zh")
    chinese = read_xlsform(form).notes
    set_language("en")
    english = read_xlsform(form).notes
    assert any("手动输入坐标" in n for n in chinese)
    assert any("typed in by hand" in n for n in english)
    with pytest.raises(SurveyFormError) as refused:
        read_xlsform(FORMS / "project" / "entities_save_to.md")
    assert "entities" in refused.value.message()
    set_language("zh")
    assert "实体" in refused.value.message()


def test_census_file_is_current() -> None:
    """CENSUS.md is committed; a change to the reader or the corpus must rewrite it."""
    committed = (FORMS / "CENSUS.md").read_text(encoding="utf-8")
    written = census.write_census(Path("/dev/null"))
    assert written == committed, "run .venv/bin/python tests/forms/census.py"


# --- hostile files ---------------------------------------------------------------------------
def _refusal(path: Path) -> SurveyFormError:
    with pytest.raises(SurveyFormError) as refused:
        read_xlsform(path)
    assert not UNFILLED.search(refused.value.message())
    return refused.value


def _workbook(
    path: Path, survey: list[list[object]], choices: list[list[object]] | None = None
) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    for row in survey:
        sheet.append(row)
    if choices:
        extra = book.create_sheet("choices")
        for row in choices:
            extra.append(row)
    book.save(path)
    return path


def test_a_file_that_is_not_a_workbook_is_said_to_be_unreadable(tmp_path: Path) -> None:
    fake = tmp_path / "form.xlsx"
    fake.write_text("这不是工作簿，只是一段文字。\n" * 50, encoding="utf-8")
    assert _refusal(fake).key == "visits.survey.error.unreadable"
    other = tmp_path / "photo.jpg"
    other.write_bytes(b"\xff\xd8\xff")
    assert _refusal(other).key == "visits.survey.error.not_xlsform"


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    assert bomb.stat().st_size < 1024 * 1024
    assert _refusal(bomb).key == "visits.survey.error.too_big"


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_30_mb_file_is_refused_unread(tmp_path: Path, suffix: str) -> None:
    big = tmp_path / f"big{suffix}"
    with big.open("wb") as fh:
        fh.truncate(30 * 1024 * 1024)
    assert _refusal(big).key == "visits.survey.error.too_big"


def test_a_duplicate_column_header_is_named_not_called_unreadable(tmp_path: Path) -> None:
    form = _workbook(
        tmp_path / "dup.xlsx", [["type", "name", "label", "label"], ["text", "q1", "A", "B"]]
    )
    refusal = _refusal(form)
    assert refusal.key == "visits.survey.error.duplicate_header"
    assert refusal.params["column"] == "label"
    assert "Duplicate column header" in str(refusal.params["reason"])


def test_a_missing_select_one_from_file_csv_is_named_with_where_it_was_looked_for(
    tmp_path: Path,
) -> None:
    form = tmp_path / "grid_household_zh.xlsx"
    shutil.copy(FORMS / "project" / "grid_household_zh.xlsx", form)
    refusal = _refusal(form)
    assert refusal.key == "visits.survey.error.missing_attachment"
    assert refusal.params["file"] == "communities.csv"
    assert str(tmp_path) in refusal.message()


def test_a_data_file_outside_the_form_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.csv").write_text("name,label\na,A\n")
    inner = tmp_path / "forms"
    inner.mkdir()
    form = _workbook(
        inner / "escape.xlsx",
        [["type", "name", "label"], ["select_one_from_file ../secret.csv", "q1", "Q"]],
    )
    assert _refusal(form).key == "visits.survey.error.attachment_name"


def test_a_data_file_over_5_mb_is_refused(tmp_path: Path) -> None:
    form = _workbook(
        tmp_path / "lists.xlsx",
        [["type", "name", "label"], ["select_one_from_file places.csv", "q1", "Q"]],
    )
    row = "p" * 1000 + ",Place\n"
    count = MAX_ATTACHMENT_BYTES // len(row) + 10
    (tmp_path / "places.csv").write_text("name,label\n" + row * count)
    assert _refusal(form).key == "visits.survey.error.attachment_too_big"


def test_a_csv_form_with_a_huge_row_is_refused_in_words(tmp_path: Path) -> None:
    form = tmp_path / "huge.csv"
    form.write_text(
        "survey,,,\n,type,name,label\n,text,q1," + "长" * 400_000 + "\n", encoding="utf-8"
    )
    # the csv module's field limit, said as a file that cannot be read, not a traceback
    assert _refusal(form).key == "visits.survey.error.unreadable"


def test_what_odk_allows_is_read_with_notes(tmp_path: Path) -> None:
    form = _workbook(
        tmp_path / "allowed.xlsx",
        [
            [
                "type",
                "name",
                "label:English",
                "label:Chinese",
                "image",
                "appearance",
                "remarks",
                "x-extra",
            ],
            ["select_one rel", "rel", "Relation", "关系", "rel.png", None, "ignored", "1"],
            ["geotrace", "path", "Path", "路线", None, None, None, None],
            ["image", "sign", "Signature", "签名", None, "signature", None, None],
            ["file", "doc", "Document", "文件", None, None, None, None],
            ["osm", "building", "Building", "建筑", None, None, None, None],
            ["background-audio", "bg", None, None, None, None, None, None],
        ],
        [
            ["list_name", "name", "label:English", "label:Chinese", "image"],
            ["rel", "head of household", "Head", "户主", "head.png"],
            ["rel", "other relative", "Other", "其他", None],
        ],
    )
    set_language("en")
    read = read_xlsform(form)
    notes = "\n".join(read.notes)
    for word in (
        "remarks",
        "x-extra",
        '"image"',
        "geotrace",
        "signature",
        "file",
        "osm",
        "background-audio",
        "rel.png",
    ):
        assert word in notes, word
    assert {"English", "Chinese"} <= set(
        read.languages
    )  # "default" too: the image column has no language


@pytest.mark.parametrize(
    ("survey", "choices", "key"),
    [
        ([["type", "name", "label"], ["text", "q1", "A"], ["foo_type", "q2", "B"]], None, "converter.unknown_type"),
        ([["type", "name", "label"], ["select_one nolist", "q1", "A"]], [["list_name", "name", "label"], ["other", "a", "A"]], "converter.missing_list"),
        ([["type", "name", "label"], ["text", "q1", "A"], ["integer", "q1", "B"]], None, "converter.duplicate_name"),
        ([["type", "name", "label"], ["text", "q1", "${nope}"]], None, "converter.unknown_reference"),
        ([["type", "name", "label"], ["begin group", "g", "G"], ["text", "q1", "A"]], None, "converter.unmatched_group"),
        ([["type", "name", "label"], ["select_multiple m", "q1", "A"]], [["list_name", "name", "label"], ["m", "a b", "AB"]], "converter.choice_space"),
    ],
)  # fmt: skip
def test_common_pyxform_refusals_are_said_in_our_words_with_the_row(
    tmp_path: Path, survey: list[list[object]], choices: list[list[object]] | None, key: str
) -> None:
    refusal = _refusal(_workbook(tmp_path / "bad.xlsx", survey, choices))
    assert refusal.key == f"visits.survey.error.{key}"
    assert refusal.params["reason"]
    if key != "converter.choice_space":
        assert refusal.params["row"] not in ("?", None)
    set_language("zh")
    assert str(refusal.params["reason"]) in refusal.message()

"""The streaming sheet writer, read back by openpyxl: any text, number, date and date-time
comes back as written (text neutralised, characters XML cannot carry as U+FFFD), in both of
openpyxl's reading modes, with the header frozen and the columns as wide as asked."""

from __future__ import annotations

import re
from datetime import date, datetime

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.core.spreadsheet import (
    DATE,
    DATETIME,
    INT,
    TEXT,
    column_letter,
    neutralise,
    sheet_name,
    write_sheet,
)

_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _expected_text(v: str) -> str | None:
    if v == "":
        return None
    return _UNWRITABLE.sub("\ufffd", neutralise(v))


def _read(path, *, read_only: bool) -> list[tuple]:
    wb = openpyxl.load_workbook(path, read_only=read_only)
    try:
        return [tuple(r) for r in wb.active.iter_rows(values_only=True)]
    finally:
        wb.close()


COLUMNS = [(TEXT, 20), (INT, 8), (DATE, 12), (DATETIME, 18), (TEXT, 30)]

texts = st.one_of(
    st.text(),
    st.sampled_from(["=SUM(A1)", "+1", "-1", "@x", "\t=1", " lead", "trail ", "_x0041_", "a\r\nb"]),
    st.text(alphabet="网格通入户走访<>&\"'_x0123456789ABCDEF \r\n\t\x00\x1f\ud800", max_size=12),
)
rows = st.lists(
    st.tuples(
        st.one_of(st.none(), texts),
        st.one_of(st.none(), st.integers(min_value=-(2**53), max_value=2**53)),
        st.one_of(st.none(), st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31))),
        st.one_of(
            st.none(),
            st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2200, 1, 1)).map(
                lambda d: d.replace(microsecond=0)
            ),
        ),
        st.one_of(st.none(), texts),
    ),
    max_size=8,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=rows, title=st.text(max_size=40))
def test_every_value_reads_back_as_written(tmp_path, body, title):
    out = tmp_path / "s.xlsx"
    headers = ["名称", "次数", "日期", "时间", "说明<&>"]
    assert write_sheet(out, title, headers, COLUMNS, iter(body)) == len(body)
    expected = [tuple(headers)]
    for text, number, day, at, note in body:
        expected.append(
            (
                None if text is None else _expected_text(text),
                number,
                None if day is None else datetime(day.year, day.month, day.day),
                at,
                None if note is None else _expected_text(note),
            )
        )
    for read_only in (False, True):
        got = _read(out, read_only=read_only)
        # read-only mode drops trailing empty rows and cells: compare what is there
        got = [tuple(list(r) + [None] * (5 - len(r))) for r in got]
        got += [(None,) * 5] * (len(expected) - len(got))
        assert got == expected
    assert openpyxl.load_workbook(out).active.title == sheet_name(title)


def test_sheet_looks_like_a_ledger(tmp_path):
    out = tmp_path / "l.xlsx"
    write_sheet(
        out, "化解台账", ["编号", "登记日期"], [(TEXT, 18), (DATE, 12)], [["A-1", date(2026, 2, 3)]]
    )
    ws = openpyxl.load_workbook(out).active
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["A"].width == 18 and ws.column_dimensions["B"].width == 12
    assert ws["A1"].font.b and not ws["A2"].font.b
    assert ws["B2"].is_date and ws["B2"].number_format == "yyyy-mm-dd"
    assert ws["A2"].data_type == "s"


def test_a_formula_is_never_written(tmp_path):
    out = tmp_path / "f.xlsx"
    write_sheet(out, "x", ["a"], [(TEXT, 10)], [["=1+1"], ['=HYPERLINK("x")']])
    ws = openpyxl.load_workbook(out).active
    assert [c.value for c in ws["A"]][1:] == ["'=1+1", '\'=HYPERLINK("x")']
    assert all(c.data_type != "f" for c in ws["A"])


def test_sheet_names_and_column_letters():
    assert sheet_name("a/b[c]:d*e?f\\g") == "a_b_c__d_e_f_g"
    assert sheet_name("x" * 40) == "x" * 31 and sheet_name("") == "Sheet1"
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]

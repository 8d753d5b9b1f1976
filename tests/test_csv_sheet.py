"""The CSV sheet writer writes exactly what ``csv.writer`` writes after each text cell is
neutralised, whichever of its two paths a row takes, and every value reads back as written."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.core.csv_sheet import write_csv
from kiosk.core.spreadsheet import DATE, DATETIME, INT, LABEL, TEXT, neutralise

KINDS = [TEXT, INT, DATE, LABEL, DATETIME, TEXT, TEXT]
HEADERS = ["编号", "户数", "登记日期", "状态", "时间", "诉求", "地址"]

# what a cell may hold: anything a person or a device typed, and the characters each check of
# the fast path looks for, at the start of a cell and inside it
texts = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
    st.sampled_from(["=SUM(A1)", "+1", "-1", "@x", "\t=1", "\r=1", "a,b", 'say "hi"', "a\r\nb"]),
    st.text(alphabet='网格=+-@\t\r\n,"\x00 a1', max_size=8),
)
cells = [
    st.one_of(st.none(), texts),
    st.one_of(st.none(), st.integers(min_value=-(10**6), max_value=10**6), texts),
    st.one_of(st.none(), st.dates(), texts),
    st.one_of(st.none(), st.sampled_from(["已登记", "是", "否", "满意"])),
    st.one_of(st.none(), st.datetimes(), texts),
    st.one_of(st.none(), texts, st.integers()),  # a device's value where text belongs
    st.one_of(st.none(), texts),
]
rows = st.lists(st.tuples(*cells).map(list), max_size=30)


def _expected(headers: list[str], body: list[list]) -> str:
    """The careful way, cell by cell: what the ledgers wrote before the fast path."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(headers)
    for row in body:
        line = []
        for kind, v in zip(KINDS, row, strict=True):
            if v is None:
                line.append("")
            elif kind == TEXT:
                line.append(neutralise(str(v)))
            elif kind == DATETIME and isinstance(v, datetime):
                line.append(v.isoformat(sep=" ", timespec="minutes"))
            elif kind in (INT, DATE) and isinstance(v, int | date):
                line.append(str(v))
            elif kind == LABEL:
                line.append(v)
            else:  # a device's text where a number or a date belongs: text, as in .xlsx
                line.append(neutralise(str(v)))
        w.writerow(line)
    return "\ufeff" + out.getvalue()


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=rows)
def test_both_paths_write_what_csv_writer_writes(tmp_path, body):
    path = tmp_path / "sheet.csv"
    expected = _expected(HEADERS, body)
    assert write_csv(path, HEADERS, KINDS, [list(r) for r in body]) == len(body)
    written = path.read_bytes().decode("utf-8")
    assert written == expected
    back = list(csv.reader(io.StringIO(written.removeprefix("\ufeff"), newline="")))
    assert back[0] == HEADERS and len(back) == len(body) + 1
    for row, read in zip(body, back[1:], strict=True):
        for kind, v, got in zip(KINDS, row, read, strict=True):
            if kind == TEXT and v is not None:
                assert got == neutralise(str(v))
                assert not got or got[0] not in "=+-@\t\r"


def test_a_formula_after_plain_cells_is_neutralised(tmp_path):
    """Each formula character, as the start of a cell in the middle of a line otherwise
    plain: the line the fast path would write as it is."""
    path = tmp_path / "f.csv"
    body = [
        ["A-1", 2, date(2026, 12, 5), "是", datetime(2026, 12, 5, 9, 30), start + "1", "x"]
        for start in "=+-@\t"
    ]
    write_csv(path, HEADERS, KINDS, [list(r) for r in body])
    read = list(csv.reader(path.open(encoding="utf-8-sig", newline="")))
    assert [r[5] for r in read[1:]] == ["'=1", "'+1", "'-1", "'@1", "'\t1"]
    assert read[1][:5] == ["A-1", "2", "2026-12-05", "是", "2026-12-05 09:30"]


def test_a_row_of_the_wrong_width_stops_the_export(tmp_path):
    with pytest.raises(ValueError, match="3 cells, not 7"):
        write_csv(tmp_path / "w.csv", HEADERS, KINDS, [["a", 1, None]])

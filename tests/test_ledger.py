"""The three ledgers, opened with real spreadsheet readers: headers, rows, types, filters and
neutralised formulas."""

from __future__ import annotations

import csv
import sqlite3
from datetime import date, datetime

import openpyxl
import pytest

from db.cases import append_event, register_case
from db.connection import transaction
from kiosk.cases.ledger import COLUMNS, LedgerQuery, export, neutralise
from kiosk.core.i18n import catalogue
from tests.conftest import SUPERVISOR, acting_as


@pytest.fixture
def runtime(runtime):
    """The community's supervisor sets the scene: cases and visits in both demo grids."""
    with acting_as(runtime, SUPERVISOR):
        yield runtime


ZH = catalogue("zh")


def zh_headers(kind: str) -> list[str]:
    return [ZH[f"ledger.col.{c.key}"] for c in COLUMNS[kind]]


@pytest.fixture
def ledger_db(runtime):
    """The demo ledger plus one case whose text tries formula injection."""
    conn, ctx = runtime.conn, runtime.ctx
    hh = conn.execute("SELECT id FROM households ORDER BY rid LIMIT 1").fetchone()[0]
    with transaction(conn):
        cid = register_case(
            ctx,
            household_ids=[hh],
            category="noise",
            summary='=HYPERLINK("http://x.invalid","点我")',
            raised_by="@SUM(A1)",
            at="2026-02-03T10:00:00+08:00",
        )
        append_event(
            ctx, cid, "assign", {"department": "+派出所", "due": "2026-02-20", "note": "-1+2"}
        )
    return runtime


def _counts(conn: sqlite3.Connection) -> tuple[int, int]:
    return (
        conn.execute("SELECT count(*) FROM cases").fetchone()[0],
        conn.execute("SELECT count(*) FROM case_events").fetchone()[0],
    )


@pytest.mark.parametrize("kind", ["original", "progress", "resolution"])
def test_xlsx_headers_rows_and_types(ledger_db, tmp_path, kind):
    conn = ledger_db.conn
    out = tmp_path / f"{kind}.xlsx"
    n = export(conn, LedgerQuery(kind), out)
    cases, events = _counts(conn)
    assert n == (events if kind == "progress" else cases)
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    assert ws.title == ZH[f"ledger.name.{kind}"]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == zh_headers(kind)
    assert len(rows) == n + 1
    cols = {c.key: i for i, c in enumerate(COLUMNS[kind])}
    body = rows[1:]
    if kind == "progress":
        assert all(isinstance(r[cols["at"]], datetime) for r in body)
        dues = [r[cols["due"]] for r in body if r[cols["due"]] is not None]
        assert dues and all(isinstance(d, datetime) for d in dues)  # date cells
        cell = next(c for c in ws.iter_rows(min_row=2) if c[cols["due"]].value is not None)[
            cols["due"]
        ]
        assert cell.is_date and "yy" in cell.number_format
    else:
        assert all(isinstance(r[cols["registered"]], datetime) for r in body)
        assert all(isinstance(r[cols["number"]], str) for r in body)
    if kind == "original":
        assert all(isinstance(r[cols["households"]], int) for r in body)
        assert max(r[cols["households"]] for r in body) > 10
    if kind == "resolution":
        assert all(isinstance(r[cols["reopened"]], int) for r in body)
        statuses = {r[cols["status"]] for r in body}
        assert statuses == {
            ZH[f"cases.status.{s}"]
            for s in ("registered", "assigned", "in_progress", "resolved", "closed")
        }
    # nothing a spreadsheet would evaluate
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"


def test_formula_injection_is_neutralised_in_both_formats(ledger_db, tmp_path):
    conn = ledger_db.conn
    export(conn, LedgerQuery("original"), tmp_path / "o.xlsx")
    export(conn, LedgerQuery("progress"), tmp_path / "p.csv")
    ws = openpyxl.load_workbook(tmp_path / "o.xlsx").active
    values = [c.value for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert '\'=HYPERLINK("http://x.invalid","点我")' in values
    assert "'@SUM(A1)" in values
    assert not any(v[0] in "=+-@" for v in values)
    with (tmp_path / "p.csv").open(encoding="utf-8-sig", newline="") as fh:
        cells = [c for row in list(csv.reader(fh))[1:] for c in row]
    assert "'+派出所" in cells and "'-1+2" in cells
    assert not any(c and c[0] in "=+-@" for c in cells)
    assert neutralise("普通文本") == "普通文本" and neutralise("\t=1") == "'\t=1"


@pytest.mark.parametrize("kind", ["original", "progress", "resolution"])
def test_csv_has_bom_headers_rows_and_iso_dates(ledger_db, tmp_path, kind):
    conn = ledger_db.conn
    out = tmp_path / f"{kind}.csv"
    n = export(conn, LedgerQuery(kind), out)
    assert out.read_bytes()[:3] == b"\xef\xbb\xbf"  # Excel reads UTF-8 Chinese with the BOM
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == zh_headers(kind) and len(rows) == n + 1
    cols = {c.key: i for i, c in enumerate(COLUMNS[kind])}
    key = "at" if kind == "progress" else "registered"
    for r in rows[1:]:
        if kind == "progress":
            datetime.fromisoformat(r[cols[key]])
        else:
            date.fromisoformat(r[cols[key]])


def test_cli_filters_by_date_and_grid(kiosk, demo_db, tmp_path):
    db = str(demo_db)
    conn = sqlite3.connect(demo_db)
    grid_id, code = conn.execute("SELECT id, code FROM grids ORDER BY code LIMIT 1").fetchone()
    in_grid = conn.execute("SELECT count(*) FROM cases WHERE grid_id = ?", (grid_id,)).fetchone()[0]
    day = conn.execute(
        "SELECT substr(registered_at, 1, 10) FROM cases ORDER BY registered_at LIMIT 1 OFFSET 10"
    ).fetchone()[0]
    # without --grid, the grids of the acting worker (here the laptop's grid worker, G001)
    on_day = conn.execute(
        "SELECT count(*) FROM cases WHERE substr(registered_at, 1, 10) = ? AND grid_id = ?",
        (day, grid_id),
    ).fetchone()[0]
    conn.close()
    out = tmp_path / "g.xlsx"
    r = kiosk(
        "ledger", "original", "--db", db, "--out", str(out), "--grid", code, as_worker="演示网格员"
    )
    assert r.returncode == 0, r.stderr
    assert openpyxl.load_workbook(out).active.max_row == in_grid + 1
    out = tmp_path / "d.csv"
    r = kiosk(
        "ledger",
        "resolution",
        "--db",
        db,
        "--out",
        str(out),
        "--from",
        day,
        "--to",
        day,
        as_worker="演示网格员",
    )
    assert r.returncode == 0, r.stderr
    with out.open(encoding="utf-8-sig") as fh:
        assert len(list(csv.reader(fh))) == on_day + 1


@pytest.mark.parametrize(
    "args, needle",
    [
        (["original", "--out", "{tmp}/x.pdf"], ".xlsx"),
        (["original", "--out", "{tmp}/x.csv", "--from", "yesterday"], "YYYY-MM-DD"),
        (
            ["original", "--out", "{tmp}/x.csv", "--from", "2026-05-01", "--to", "2026-04-01"],
            "晚于",
        ),
        (["original", "--out", "{tmp}/x.csv", "--grid", "G999"], "找不到网格"),
        (["original", "--out", "{tmp}/missing/x.csv"], "不存在"),
    ],
)
def test_cli_bad_input(kiosk, demo_db, tmp_path, args, needle):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    r = kiosk("ledger", *args, "--db", str(demo_db), as_worker="演示网格员")
    assert r.returncode != 0 and needle in r.stderr and "Traceback" not in r.stderr
    assert not any(tmp_path.glob("x.*"))

"""The three ledgers, opened with real spreadsheet readers: headers, rows, types, filters and
neutralised formulas."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date, datetime

import openpyxl
import pytest

from db.cases import append_event, register_case
from db.connection import transaction
from kiosk.cases.ledger import COLUMNS, LABEL, LedgerQuery, export, neutralise
from kiosk.core.i18n import catalogue
from kiosk.domain.present import address_of
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


def test_each_row_says_what_its_case_records_say(ledger_db, tmp_path):
    """The cells a ledger looks up beside its case (how many households, the first one's door
    in roster order, the grid, the registrar, the case a repeat repeats) checked row by row
    against each case's own records, read one case at a time."""
    conn, ctx = ledger_db.conn, ledger_db.ctx
    # listed last-first, so the door shown (the first in roster order) is not the first listed
    hhs = [r[0] for r in conn.execute("SELECT id FROM households ORDER BY rid DESC LIMIT 3")]
    with transaction(conn):
        first = register_case(
            ctx, household_ids=hhs, category="noise", summary="三户楼上噪音",
            at="2026-02-04T09:00:00+08:00",
        )  # fmt: skip
        again = register_case(
            ctx, household_ids=hhs[:1], category="noise", summary="又报楼上噪音",
            at="2026-02-05T09:00:00+08:00",
        )  # fmt: skip
        append_event(ctx, again, "repeat_of", {"of": first})
    for kind in ("original", "resolution"):
        export(conn, LedgerQuery(kind), tmp_path / f"{kind}.csv")
    with (tmp_path / "original.csv").open(encoding="utf-8-sig", newline="") as fh:
        original = list(csv.DictReader(fh))
    with (tmp_path / "resolution.csv").open(encoding="utf-8-sig", newline="") as fh:
        resolution = {r[ZH["ledger.col.case_id"]]: r for r in csv.DictReader(fh)}
    assert len(original) == len(resolution) == _counts(conn)[0]
    col = {k: ZH[f"ledger.col.{k}"] for k in ("households", "address", "grid", "registrar")}
    for row in original:
        cid = row[ZH["ledger.col.case_id"]]
        doors = conn.execute(
            "SELECT cp.name, h.building, h.unit, h.room, h.forgotten_at IS NOT NULL"
            " FROM case_households l JOIN households h ON h.id = l.household_id"
            " JOIN compounds cp ON cp.id = h.compound_id WHERE l.case_id = ? ORDER BY h.rid",
            (cid,),
        ).fetchall()
        door = address_of(*doors[0][:4], forgotten=bool(doors[0][4]))
        if len(doors) > 1:
            door = ZH["ledger.and_more"].format(address=door, n=len(doors) - 1)
        grid, registrar, repeats = conn.execute(
            "SELECT g.code, w.name, (SELECT r.number FROM case_state s JOIN cases r"
            " ON r.id = s.repeat_of WHERE s.case_id = c.id)"
            " FROM cases c JOIN grids g ON g.id = c.grid_id JOIN workers w ON w.id = c.worker_id"
            " WHERE c.id = ?",
            (cid,),
        ).fetchone()
        assert (
            row[col["households"]], row[col["address"]], row[col["grid"]], row[col["registrar"]]
        ) == (str(len(doors)), door, grid, registrar)  # fmt: skip
        assert resolution[cid][ZH["ledger.col.repeat_of"]] == (repeats or "")
        assert resolution[cid][col["grid"]] == grid
    shown = {r[ZH["ledger.col.case_id"]]: r for r in original}
    assert shown[first][col["households"]] == "3" and "等 2 户" in shown[first][col["address"]]
    number = conn.execute("SELECT number FROM cases WHERE id = ?", (first,)).fetchone()[0]
    assert resolution[again][ZH["ledger.col.repeat_of"]] == number


def test_label_columns_hold_only_the_catalogues_words(ledger_db, tmp_path):
    """The columns the CSV writer does not check for formulas (LABEL: a status, 是/否, a
    rating's name) carry only words of the program's own catalogue, even when an event from a
    device says something else: a rating that is no rating is shown as none, not as sent."""
    conn, ctx = ledger_db.conn, ledger_db.ctx
    cid = conn.execute("SELECT id FROM cases ORDER BY registered_at LIMIT 1").fetchone()[0]
    with transaction(conn):
        append_event(ctx, cid, "resolve", {"note": "=1+1"})
        # as a replica stores what a device sent: no rule checked on the way in
        conn.execute(
            "INSERT INTO case_events(id, case_id, type, at, data, hlc, worker_id, device_id)"
            " VALUES ('remote-rate', ?, 'rate', '2030-01-01T10:00:00+08:00', ?,"
            " '999999999999999.00000', NULL, 'remote-device')",
            (cid, json.dumps({"rating": "=cmd|' /C calc'!A0", "due": "2030-01-02"})),
        )
    words = set(ZH.values()) | {""}
    for kind in ("progress", "resolution"):
        export(conn, LedgerQuery(kind), tmp_path / f"{kind}.csv")
        with (tmp_path / f"{kind}.csv").open(encoding="utf-8-sig", newline="") as fh:
            body = list(csv.reader(fh))[1:]
        labels = [i for i, c in enumerate(COLUMNS[kind]) if c.kind == LABEL]
        assert labels, kind
        for row in body:
            for i in labels:
                word = row[i]
                if COLUMNS[kind][i].key == "valid" and word != ZH["ledger.valid"]:
                    assert word.startswith(ZH["ledger.invalid"].split("{")[0]), word
                else:
                    assert word in words, (kind, COLUMNS[kind][i].key, word)
        assert not any(c and c[0] in "=+-@" for row in body for c in row)


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

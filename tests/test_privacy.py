"""Privacy: masked lists and exports, the supervisor's audited full export, refusals
outside a worker's role or grids, ``households forget`` (erased everywhere on the laptop, in
its sync logs, on other laptops and the hub, figures unchanged), and no personal data in the
log file or QR payloads. The CLI runs as a subprocess (the ``kiosk`` fixture)."""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
from pathlib import Path

import pytest

from db.forget import REDACTED, personal_values, redact, scrub_payload
from kiosk.qr.payload import make
from tests.pilot_helpers import settle, signed_in_app

SUPERVISOR = "演示主管"
WORKER = "演示网格员"
ROLE_REFUSED = "无权"
FORGOTTEN = "已删除个人信息"


# --- helpers --------------------------------------------------------------------------------


def traces(db: Path | str, values: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, value) where a value occurs in any column of any table, read
    with plain sqlite3 (every column as text)."""
    conn = sqlite3.connect(db)
    found = []
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            for col in [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]:
                for v in values:
                    n = conn.execute(
                        f"SELECT count(*) FROM {table} WHERE instr(CAST({col} AS TEXT), ?) > 0",
                        (v,),
                    ).fetchone()[0]
                    if n:
                        found.append((table, col, v))
    finally:
        conn.close()
    return found


def pick_household(db: Path) -> dict:
    """A G001 household with a visit and a case whose members' names (three characters) occur
    nowhere else in the database, so any trace left after a forget is a real one."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code = 'G001'"
            " AND h.id IN (SELECT household_id FROM visits)"
            " AND h.id IN (SELECT household_id FROM case_households) ORDER BY h.rid"
        ).fetchall()
        for (hid,) in rows:
            members = conn.execute(
                "SELECT name, phone, id_number FROM members WHERE household_id = ?", (hid,)
            ).fetchall()
            names = [m[0] for m in members]
            if not all(len(n) == 3 for n in names):
                continue
            if any(
                conn.execute(
                    "SELECT count(*) FROM members WHERE instr(name, ?) > 0", (n,)
                ).fetchone()[0]
                != 1
                or conn.execute(
                    "SELECT count(*) FROM feedback WHERE instr(raised_by, ?) > 0"
                    " OR instr(text, ?) > 0",
                    (n, n),
                ).fetchone()[0]
                for n in names
            ):
                continue
            return {
                "id": hid,
                "names": names,
                "numbers": [v for m in members for v in (m[1], m[2]) if v],
            }
    finally:
        conn.close()
    raise AssertionError("no suitable household in the demo")


def figures(kiosk, db: Path) -> dict:
    """``kiosk stats --json`` without the sync queue length (a forget queues operations)."""
    r = kiosk("stats", "--db", str(db), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    doc.pop("pending_sync")
    return doc


def audited(db: Path, action: str) -> list[tuple[str | None, str | None, dict]]:
    """(entity, entity_id, detail) of the audit entries of ``action``, oldest first."""
    conn = sqlite3.connect(db)
    try:
        return [
            (r[0], r[1], json.loads(r[2]))
            for r in conn.execute(
                "SELECT entity, entity_id, detail FROM audit WHERE action = ? ORDER BY seq",
                (action,),
            )
        ]
    finally:
        conn.close()


def row_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "households",
                "members",
                "visits",
                "visit_items",
                "cases",
                "case_households",
                "case_events",
                "case_state",
                "feedback",
                "survey_responses",
                "outbox",
                "labels",
            )
        }
    finally:
        conn.close()


# --- pure scrubbing -------------------------------------------------------------------------


def test_scrub_payload_erases_personal_fields_and_redacts_kept_text():
    values = personal_values(["魏帅", "司马青衫", "x"], ["15012952615", ""])
    assert values == ["15012952615", "司马青衫", "魏帅"]  # longest first, short ones dropped
    member = {
        "id": "m",
        "household_id": "h",
        "name": "魏帅",
        "phone": "15012952615",
        "id_number": "230104197305011874",
        "birth_year": 1973,
        "relation": "户主",
        "gender": "男",
        "tags": "elderly70",
        "position": 0,
    }
    assert scrub_payload("member", member) == {
        **member,
        "name": "",
        "phone": "",
        "id_number": "",
        "birth_year": None,
        "relation": "",
        "gender": "",
        "tags": "",
    }
    assert scrub_payload(
        "household", {"id": "h", "grid_id": "g", "room": "501", "note": "x"}, forgotten_at="T"
    ) == {"id": "h", "grid_id": "g", "room": "", "note": "", "forgotten_at": "T"}
    visit = scrub_payload(
        "visit",
        {
            "met": json.dumps([{"member_id": "m", "name": "魏帅"}]),
            "note": "魏帅腿脚不便",
            "visit_type": "door",
        },
        values,
    )
    assert json.loads(visit["met"]) == [{"member_id": "m", "name": ""}]
    assert visit["note"] == "" and visit["visit_type"] == "door"
    case = scrub_payload(
        "case",
        {"summary": "魏帅家漏水，电话15012952615", "raised_by": "魏帅", "category": "roof_leak"},
        values,
    )
    assert case == {
        "summary": f"{REDACTED}家漏水，电话{REDACTED}",
        "raised_by": None,
        "category": "roof_leak",
    }
    event = scrub_payload(
        "case_event", {"data": json.dumps({"note": "已联系司马青衫"}, ensure_ascii=False)}, values
    )
    assert json.loads(event["data"]) == {"note": f"已联系{REDACTED}"}
    assert redact("与魏帅无关", []) == "与魏帅无关"


# --- forget ---------------------------------------------------------------------------------


def test_forget_erases_the_household_everywhere_on_the_laptop_and_keeps_the_figures(kiosk, demo_db):
    db = str(demo_db)
    hh = pick_household(demo_db)
    name = hh["names"][0]
    # Work that names the resident, queued in the outbox: a visit (met, note), a case whose
    # summary names them and their phone, a case note.
    r = kiosk(
        "visits",
        "add",
        hh["id"],
        "--db",
        db,
        "--met",
        name,
        "--met",
        "司马青衫",
        "--note",
        f"{name}说腿脚不便",
        "--problem",
        f"roof_leak:{name}家楼顶漏雨",
        as_worker="演示网格员",
    )
    assert r.returncode == 0, r.stderr
    r = kiosk(
        "cases",
        "add",
        "--db",
        db,
        "--household",
        hh["id"],
        "--category",
        "roof_leak",
        "--summary",
        f"{name}反映楼上漏水，电话{hh['numbers'][0]}",
        "--raised-by",
        name,
        "--json",
        as_worker="演示网格员",
    )
    assert r.returncode == 0, r.stderr
    case_id = json.loads(r.stdout)["id"]
    values = [*hh["names"], *hh["numbers"], "司马青衫"]
    assert {t for t, _, _ in traces(demo_db, values)} >= {
        "members",
        "outbox",
        "visits",
        "cases",
        "search_terms",
    }
    before, counts = figures(kiosk, demo_db), row_counts(demo_db)

    r = kiosk("households", "forget", hh["id"], "--db", db, "--yes", "--json", as_worker=SUPERVISOR)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["forgotten"] is True and report["members"] == len(hh["names"])

    # not a name, phone or ID number left in any column of any table
    assert traces(demo_db, values) == []
    # the figures and the anonymous history are unchanged
    assert figures(kiosk, demo_db) == before
    after = row_counts(demo_db)
    assert after["outbox"] > counts["outbox"]  # the erasure travels as operations
    assert {k: v for k, v in after.items() if k != "outbox"} == {
        k: v for k, v in counts.items() if k != "outbox"
    }
    [(entity, entity_id, detail)] = audited(demo_db, "forget")
    assert (entity, entity_id) == ("household", hh["id"])
    assert detail["members"] == len(hh["names"]) and detail["visits"] >= 2

    conn = sqlite3.connect(demo_db)
    try:
        ops = conn.execute(
            "SELECT entity, payload FROM outbox WHERE entity_id = ? AND kind = 'update'",
            (hh["id"],),
        ).fetchall()
        assert ops[-1][0] == "household" and json.loads(ops[-1][1])["forgotten_at"]
        summary, raised_by = conn.execute(
            "SELECT summary, raised_by FROM cases WHERE id = ?", (case_id,)
        ).fetchone()
        # the commitment is kept, not who made the request
        assert summary == f"{REDACTED}反映楼上漏水，电话{REDACTED}" and raised_by is None
    finally:
        conn.close()

    # shows as erased, cannot be found by name or phone, cannot be forgotten twice
    r = kiosk("households", "show", hh["id"], "--db", db)
    assert r.returncode == 0 and FORGOTTEN in r.stdout
    for query in (name, hh["numbers"][0][-4:]):
        r = kiosk("households", "find", query, "--db", db, "--json")
        assert hh["id"] not in r.stdout
    r = kiosk("households", "forget", hh["id"], "--db", db, "--yes", as_worker=SUPERVISOR)
    assert r.returncode == 2 and "已经删除" in r.stderr


def test_a_grid_worker_is_refused_forget_and_full_export_and_nothing_is_written(
    kiosk, demo_db, tmp_path
):
    db = str(demo_db)
    hh = pick_household(demo_db)
    counts = row_counts(demo_db)
    r = kiosk("households", "forget", hh["id"], "--db", db, "--yes", as_worker=WORKER)
    assert r.returncode == 3 and ROLE_REFUSED in r.stderr and "社区主管" in r.stderr
    r = kiosk("households", "forget", hh["id"], "--db", db, "--yes")  # nobody named
    assert r.returncode == 3 and "--worker" in r.stderr
    out = tmp_path / "full.csv"
    r = kiosk(
        "households", "export", "--out", str(out), "--db", db, "--full", "--yes", as_worker=WORKER
    )
    assert r.returncode == 3 and ROLE_REFUSED in r.stderr and "完整导出" in r.stderr
    assert not out.exists() and not list(tmp_path.glob(".*.part"))
    assert "Traceback" not in r.stderr
    assert row_counts(demo_db) == counts
    assert audited(demo_db, "forget") == [] and audited(demo_db, "export") == []
    assert traces(demo_db, hh["numbers"])  # still there


def test_an_export_outside_the_workers_grids_is_refused_and_writes_no_file(
    kiosk, demo_db, tmp_path
):
    db = str(demo_db)
    counts = row_counts(demo_db)
    outdir = tmp_path / "out"
    outdir.mkdir()
    for args in (
        ["households", "export", "--grid", "G002"],
        ["households", "export", "--grid", "G002", "--full", "--yes"],
        ["ledger", "original", "--grid", "G002"],
    ):
        out = outdir / "x.xlsx"
        r = kiosk(*args, "--out", str(out), "--db", db, as_worker=WORKER)
        assert r.returncode == 3, (args, r.stderr)
        assert ROLE_REFUSED in r.stderr and "Traceback" not in r.stderr
        assert not out.exists() and not list(outdir.iterdir())
    r = kiosk(
        "households",
        "export",
        "--grid",
        "G999",
        "--out",
        str(outdir / "y.csv"),
        "--db",
        db,
        as_worker="演示网格员",
    )
    assert r.returncode == 2 and "G999" in r.stderr and not list(outdir.iterdir())
    assert row_counts(demo_db) == counts and audited(demo_db, "export") == []


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def test_exports_are_masked_unless_a_supervisor_asks_for_the_full_export(kiosk, demo_db, tmp_path):
    db = str(demo_db)
    conn = sqlite3.connect(demo_db)
    g1 = conn.execute(
        "SELECT count(*) FROM members m JOIN households h ON h.id = m.household_id"
        " JOIN grids g ON g.id = h.grid_id WHERE g.code = 'G001'"
    ).fetchone()[0]
    phones = {r[0] for r in conn.execute("SELECT phone FROM members WHERE phone != ''")}
    ids = {r[0] for r in conn.execute("SELECT id_number FROM members WHERE id_number != ''")}
    conn.close()

    # a grid worker, no --grid: their own grid, masked
    out = tmp_path / "masked.csv"
    r = kiosk("households", "export", "--out", str(out), "--db", db, as_worker=WORKER)
    assert r.returncode == 0, r.stderr
    rows = _csv(out)
    header, body = rows[0], rows[1:]
    assert len(body) == g1 and {row[0] for row in body} == {"G001"}
    phone, id_number = header.index("电话"), header.index("身份证号")
    assert any(row[phone] for row in body) and any(row[id_number] for row in body)
    for row in body:
        assert row[phone] not in phones and row[id_number] not in ids
        assert not row[phone] or re.fullmatch(r"\d{3}\*{4}\d{4}", row[phone])
        assert not row[id_number] or re.fullmatch(r"\d{6}\*{8}[\dX]{4}", row[id_number])

    # the supervisor's full export: without a terminal it needs --yes; then numbers in clear
    out = tmp_path / "full.xlsx"
    r = kiosk("households", "export", "--out", str(out), "--db", db, "--full", as_worker=SUPERVISOR)
    assert r.returncode == 2 and "--yes" in r.stderr and not out.exists()
    r = kiosk(
        "households",
        "export",
        "--out",
        str(out),
        "--db",
        db,
        "--full",
        "--yes",
        "--json",
        as_worker=SUPERVISOR,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["masked"] is False and doc["grids"] == ["G001", "G002"]
    import openpyxl

    sheet = openpyxl.load_workbook(out).active
    cells = {str(c) for row in sheet.iter_rows(values_only=True) for c in row if c}
    assert phones & cells and ids & cells
    exports = audited(demo_db, "export")
    assert [e[2]["masked"] for e in exports] == [True, False]
    assert exports[-1] == (
        "households",
        None,
        {"masked": False, "rows": doc["rows"], "grids": ["G001", "G002"]},
    )

    # lists show masked numbers too
    hh = pick_household(demo_db)
    r = kiosk("households", "show", hh["id"], "--db", db, "--json")
    members = json.loads(r.stdout)["members_list"]
    for m in members:
        assert m["phone"] not in phones and m["id_number"] not in ids


# --- logs and QR payloads -------------------------------------------------------------------


def test_no_personal_data_in_the_log_file_or_qr_payloads(kiosk, demo_db, tmp_path):
    db = str(demo_db)
    data_dir = Path(os.environ["KIOSK_DATA_DIR"])
    env = {"KIOSK_LOG_LEVEL": "DEBUG"}
    hh = pick_household(demo_db)
    name = hh["names"][0]

    def ok(*args: str, who: str = WORKER) -> str:
        r = kiosk(*args, "--db", db, env=env, as_worker=who)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout

    ok("households", "find", name)
    ok("households", "find", hh["numbers"][0][-4:])
    ok("households", "show", hh["id"], "--json")
    ok("visits", "add", hh["id"], "--met", name, "--note", f"{name} 电话 {hh['numbers'][0]}")
    case = json.loads(
        ok(
            "cases",
            "add",
            "--household",
            hh["id"],
            "--category",
            "roof_leak",
            "--summary",
            f"{name}家漏雨",
            "--raised-by",
            name,
            "--json",
        )
    )
    ok("labels", "--household", hh["id"], "--out", str(tmp_path / "l.pdf"), "--json")
    ok("slip", case["number"], "--out", str(tmp_path / "s.pdf"), "--json")
    conn = sqlite3.connect(demo_db)
    payloads = [
        make(kind, code).text
        for kind, code in conn.execute(
            "SELECT kind, code FROM labels WHERE household_id = ? OR case_id = ?",
            (hh["id"], case["id"]),
        )
    ]
    conn.close()
    assert len(payloads) == 2
    ok("lookup", payloads[0], "--json")
    ok("households", "export", "--out", str(tmp_path / "e.csv"))
    # a bad request too: its message must not carry the person either
    kiosk("households", "show", name, "--db", db, env=env)
    ok("households", "forget", hh["id"], "--yes", who=SUPERVISOR)

    conn = sqlite3.connect(demo_db)
    people = conn.execute("SELECT name, phone, id_number FROM members").fetchall()
    conn.close()
    values = personal_values([p[0] for p in people], [n for p in people for n in p[1:]])
    values += [*hh["names"], *hh["numbers"]]  # erased from the database by now
    log = "".join(p.read_text(encoding="utf-8") for p in data_dir.glob("kiosk.log*"))
    assert "opened database" in log  # the flow did log
    leaked = [v for v in values if v in log]
    assert leaked == []
    assert payloads and all(
        re.fullmatch(r"(HH|CS)1:[0-9A-HJKMNP-TV-Z]{12}[0-9A-Z*+$%]", p) for p in payloads
    )
    for p in payloads:
        assert not any(v in p for v in values)


# --- the screens ----------------------------------------------------------------------------


async def test_a_forgotten_household_reads_as_erased_on_its_screen_and_its_cases(runtime):
    from textual.widgets import Static

    from db.cases import register_case
    from db.connection import transaction
    from db.forget import forget_household
    from screens.cases.case_detail import CaseDetailScreen
    from screens.households.household import HouseholdScreen

    conn = runtime.conn
    hid = conn.execute("SELECT id FROM households WHERE member_count > 1 LIMIT 1").fetchone()[0]
    with transaction(conn):
        cid = register_case(runtime.ctx, household_ids=[hid], category="sewer", summary="下水堵")
        forget_household(runtime.ctx, hid)
    app = signed_in_app(runtime)

    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        assert FORGOTTEN in str(app.screen.query_one("#household-address", Static).render())
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        assert FORGOTTEN in str(app.screen.query_one("#case-households", Static).render())
        assert "下水堵" in str(app.screen.query_one("#case-summary", Static).render())


# --- other laptops and the hub --------------------------------------------------------------

PEOPLE = [
    ("欧阳明远", "13911112222", "230102199001011234"),
    ("司徒静怡", "13933334444", "230102199202022345"),
    ("上官浩然", "13955556666", "230102199303033456"),
]


def _roster(path: Path) -> None:
    """A roster of one grid, one compound and three households of one person each."""
    from db.connection import open_database, transaction
    from db.context import WriteContext
    from db.households import MemberInput, create_household

    db = open_database(path)
    ctx = WriteContext.open(db.conn)
    stamp = "000000000000001.00000"
    with transaction(db.conn):
        db.conn.execute(
            "INSERT INTO grids(id, code, name, community, street, district, hlc,"
            " worker_id, device_id) VALUES ('g1', 'G1', 'G1', '社区', '街道', '区', ?,"
            " NULL, ?)",
            (stamp, ctx.device_id),
        )
        db.conn.execute(
            "INSERT INTO compounds(id, grid_id, name, pinyin, initials, hlc,"
            " worker_id, device_id) VALUES ('c1', 'g1', '小区', 'xiaoqu', 'xq', ?,"
            " NULL, ?)",
            (stamp, ctx.device_id),
        )
        for room, (name, phone, idn) in zip(("101", "102", "103"), PEOPLE, strict=True):
            create_household(
                ctx,
                grid_id="g1",
                compound_id="c1",
                building="1",
                unit="1",
                room=room,
                note=f"{name}家",
                members=[
                    MemberInput(name, relation="户主", phone=phone, id_number=idn, birth_year=1990)
                ],
            )
    db.close()


def test_a_forget_reaches_the_other_laptops_and_the_hub(tmp_path):
    import logging

    from db.connection import open_database, transaction
    from db.context import WriteContext
    from db.forget import forget_household
    from db.households import update_member
    from db.visits import MetPerson, VisitInput, save_visit
    from kiosk.cases.stats import collect
    from kiosk.core.logs import RedactFilter
    from kiosk.hub.store.sqlite import SqliteHubStore
    from kiosk.sync.client import enrol, run_sync
    from kiosk.sync.seed import seed_ops
    from tests.pg import hub_thread

    # The laptops' and the hub's log lines of this flow, as the log file would get them.
    log_path = tmp_path / "sync.log"
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.addFilter(RedactFilter())
    root = logging.getLogger("kiosk")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    _roster(tmp_path / "roster.db")
    store = SqliteHubStore(tmp_path / "hub.db")
    src = open_database(tmp_path / "roster.db")
    for batch in seed_ops(src.conn):
        store.ingest(None, batch)
    src.close()
    name, phone, idn = PEOPLE[0]
    late_phone = "13700009999"
    values = [name, phone, idn, "慕容小雪", late_phone]
    dbs = []
    try:
        with hub_thread(store) as url:
            laptops = []
            for n in ("a", "b"):
                db = open_database(tmp_path / f"{n}.db")
                ctx = WriteContext.open(db.conn)
                enrol(ctx, url, store.add_device(n, None, role="office"))
                run_sync(ctx)
                dbs.append(db)
                laptops.append(ctx)
            a, b = laptops
            hid, mid = a.conn.execute(
                "SELECT household_id, id FROM members WHERE name = ?", (name,)
            ).fetchone()
            # B records a visit naming the resident and someone else met there; A receives it.
            with transaction(b.conn):
                save_visit(
                    b,
                    VisitInput(
                        hid,
                        met=[MetPerson(name, mid), MetPerson("慕容小雪")],
                        note=f"{name}说一切正常",
                    ),
                )
            run_sync(b)
            run_sync(a)
            figures_b = {k: v for k, v in collect(b.conn).items() if k != "pending_sync"}
            # B edits the phone while A, not yet in touch, erases the household.
            with transaction(b.conn):
                update_member(b, mid, phone=late_phone)
            with transaction(a.conn):
                forget_household(a, hid)
            run_sync(a)
            run_sync(b)
            run_sync(a)
            # a laptop enrolled afterwards pulls everything the hub holds
            dc = open_database(tmp_path / "c.db")
            dbs.append(dc)
            c = WriteContext.open(dc.conn)
            enrol(c, url, store.add_device("c", None, role="office"))
            run_sync(c)
    finally:
        for db in dbs:
            db.close()
        store.close()
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()

    for n in ("a", "b", "c"):
        path = tmp_path / f"{n}.db"
        assert traces(path, values) == [], n
        conn = sqlite3.connect(path)
        assert conn.execute(
            "SELECT forgotten_at IS NOT NULL, address_key FROM households WHERE id = ?", (hid,)
        ).fetchone() == (1, "~" + hid), n
        assert (
            conn.execute(
                "SELECT count(*) FROM oplog WHERE status IN ('failed', 'orphan')"
            ).fetchone()[0]
            == 0
        ), n
        # the others are untouched
        assert (
            conn.execute(
                "SELECT count(*) FROM members WHERE name IN (?, ?)", (PEOPLE[1][0], PEOPLE[2][0])
            ).fetchone()[0]
            == 2
        ), n
        assert conn.execute("SELECT count(*) FROM visits").fetchone()[0] == 1, n
        conn.close()
    conn = sqlite3.connect(tmp_path / "b.db")
    conn.row_factory = sqlite3.Row
    try:
        assert {k: v for k, v in collect(conn).items() if k != "pending_sync"} == figures_b
    finally:
        conn.close()
    # no log line carried them; the hub's operation log no longer holds them either
    log = log_path.read_text(encoding="utf-8")
    assert "push" in log and [v for v in values if v in log] == []
    assert traces(tmp_path / "hub.db", values) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_store(request, tmp_path):
    from kiosk.hub.store.sqlite import SqliteHubStore
    from tests.pg import PgServer, pg_bin

    if request.param == "sqlite":
        store = SqliteHubStore(tmp_path / "hub.db")
        yield store
        store.close()
        return
    if pg_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    from kiosk.hub.store.postgres import PostgresHubStore

    server = PgServer()
    try:
        store = PostgresHubStore(server.new_database())
        yield store
        store.close()
    finally:
        server.stop()


def _push(store, ctx) -> None:
    """The laptop's outbox into the hub, as a push would, then acknowledged."""
    from db import sync as dbsync
    from db.connection import transaction
    from kiosk.sync.protocol import Op

    ops = dbsync.outbox_batch(ctx.conn, 10_000)
    result = store.ingest(None, [Op(**op) for op in ops])
    with transaction(ctx.conn):
        dbsync.acknowledge(ctx.conn, result.acked)


def _hub_payloads(store) -> str:
    with store._tx(write=False) as cur:
        cur.execute("SELECT payload FROM hub_ops")
        return "\n".join(r[0] for r in cur.fetchall())


def test_the_hub_scrubs_its_log_and_later_edits_of_a_forgotten_household(hub_store, tmp_path):
    from db.connection import open_database, transaction
    from db.context import WriteContext
    from db.forget import forget_household
    from db.households import update_member
    from db.visits import MetPerson, VisitInput, save_visit
    from kiosk.sync.seed import seed_ops

    _roster(tmp_path / "roster.db")
    db = open_database(tmp_path / "roster.db")
    try:
        for batch in seed_ops(db.conn):
            hub_store.ingest(None, batch)
        ctx = WriteContext.open(db.conn)
        name, phone, idn = PEOPLE[0]
        hid, mid = db.conn.execute(
            "SELECT household_id, id FROM members WHERE name = ?", (name,)
        ).fetchone()
        with transaction(db.conn):
            save_visit(ctx, VisitInput(hid, met=[MetPerson(name, mid)], note=f"{name}在家"))
        # an edit made before the erasure, still in the outbox when the erasure is pushed
        with transaction(db.conn):
            update_member(ctx, mid, phone="13700001111")
        _push(hub_store, ctx)
        assert name in _hub_payloads(hub_store)
        with transaction(db.conn):
            forget_household(ctx, hid)
        _push(hub_store, ctx)
        log = _hub_payloads(hub_store)
        for value in (name, phone, idn, "13700001111"):
            assert value not in log
        assert PEOPLE[1][0] in log and PEOPLE[1][1] in log  # the others are untouched
        # pushed after the erasure (another laptop's offline edit): scrubbed on arrival
        from kiosk.sync.protocol import Op

        late = Op(
            op_id="01a00000-0000-7000-8000-000000000001",
            hlc="999999999999999.00000",
            entity="member",
            entity_id=mid,
            kind="update",
            payload={"phone": "13600002222", "name": name},
            schema_version=6,
            device_id="01a00000-0000-7000-8000-00000000000d",
        )
        hub_store.ingest(None, [late])
        log = _hub_payloads(hub_store)
        assert "13600002222" not in log and name not in log
        assert hub_store.op_count() > 0
    finally:
        db.close()

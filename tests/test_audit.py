"""The audit trail: every create, change, export, print and lookup of a household's
personal data is recorded by worker, time and device; each device's entries form a hash
chain that `kiosk audit verify` checks and the hub checks on arrival; nobody changes an entry
through the app."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db import audit
from db.connection import connect, open_database, transaction
from db.context import WriteContext
from db.households import MemberInput, create_household, update_household, update_member
from db.migrations import migrate
from kiosk.hub.store.base import HubError
from kiosk.hub.store.sqlite import SqliteHubStore
from kiosk.sync.client import SyncError, audit_entry, enrol, run_sync
from tests.pg import build_roster, hub_thread
from tests.pilot_helpers import signed_in_app

SUPERVISOR, GRID_WORKER = "演示主管", "演示网格员"
PHONE = "13912345678"


def _entries(conn) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()


def _household(conn, ctx, room="101", phone=PHONE) -> str:
    grid = conn.execute("SELECT id FROM grids LIMIT 1").fetchone()[0]
    compound = conn.execute("SELECT id FROM compounds WHERE grid_id = ?", (grid,)).fetchone()[0]
    with transaction(conn):
        return create_household(
            ctx,
            grid_id=grid,
            compound_id=compound,
            building="99",
            unit="9",
            room=room,
            members=[MemberInput("测试人", phone=phone)],
        )


def _tamper(path: Path, sql: str, *params) -> None:
    """Edit the file as someone with plain sqlite3 would: drop the guard, change, done."""
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER IF EXISTS audit_no_update")
    raw.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    raw.execute(sql, params)
    raw.commit()
    raw.close()


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


# --- recording -------------------------------------------------------------------------------


def test_creates_and_changes_are_entries_with_field_names_never_values(runtime):
    conn, ctx = runtime.conn, runtime.ctx
    before = len(_entries(conn))
    hid = _household(conn, ctx)
    member = conn.execute("SELECT id FROM members WHERE household_id = ?", (hid,)).fetchone()[0]
    with transaction(conn):
        update_household(ctx, hid, note="门口有狗")
        update_member(ctx, member, phone="13700000000")
    with transaction(conn):
        assert ctx.catch_up_audit() == 3
    rows = _entries(conn)[before:]
    # the household and the member created with it are one entry; each change its own
    assert [(r["action"], r["entity"]) for r in rows] == [
        ("create", "household"),
        ("change", "household"),
        ("change", "member"),
    ]
    assert json.loads(rows[0]["detail"]) == {
        "fields": ["building", "compound_id", "grid_id", "note", "room", "tags", "unit"],
        "with": {"member": [member]},
    }
    # every entry names the household, the acting worker and this device
    assert {r["household_id"] for r in rows} == {hid}
    assert {r["worker_id"] for r in rows} == {ctx.worker_id}
    assert {r["device_id"] for r in rows} == {ctx.device_id}
    assert json.loads(rows[1]["detail"]) == {"fields": ["note"]}
    assert json.loads(rows[2]["detail"]) == {"fields": ["phone"]}
    text = " ".join(r["detail"] for r in rows)
    assert PHONE not in text and "13700000000" not in text and "门口有狗" not in text
    # an entry's id is its (first) operation's id
    ops = [r[0] for r in conn.execute("SELECT op_id FROM outbox ORDER BY seq")][-4:]
    assert [r["id"] for r in rows] == [ops[0], ops[2], ops[3]]
    assert audit.verify(conn).intact


def test_a_visit_with_its_items_and_cases_is_one_entry(runtime):
    from datetime import date

    from kiosk.domain.visits import record_visit

    conn, ctx = runtime.conn, runtime.ctx
    hid, mid = conn.execute("SELECT household_id, id FROM members LIMIT 1").fetchone()
    before = len(_entries(conn))
    with transaction(conn):
        vid = record_visit(
            ctx,
            hid,
            {
                "met_members": [mid],
                "note": "门口有狗",
                "problems": [
                    {"category": "parking", "text": "停车难"},
                    {"category": "noise", "text": "噪音"},
                ],
            },
            today=date.today(),
        )
        ctx.catch_up_audit()
    rows = _entries(conn)[before:]
    assert len(rows) == 1
    entry = rows[0]
    assert (entry["action"], entry["entity"], entry["entity_id"], entry["household_id"]) == (
        "create",
        "visit",
        vid,
        hid,
    )
    together = json.loads(entry["detail"])["with"]
    cases = [r[0] for r in conn.execute("SELECT id FROM cases WHERE visit_id = ?", (vid,))]
    assert sorted(together["case"]) == sorted(cases)
    assert {k: len(v) for k, v in together.items()} == {
        "case": 2,
        "case_event": 2,
        "case_household": 2,
        "visit_item": 2,
    }
    assert "停车难" not in entry["detail"] and "门口有狗" not in entry["detail"]
    # a later event on one of those cases is a change of its own, not folded in
    from db.cases import append_event

    with transaction(conn):
        append_event(ctx, cases[0], "progress", {"note": "已联系物业"})
        ctx.catch_up_audit()
    last = _entries(conn)[-1]
    assert (last["entity"], last["household_id"]) == ("case_event", hid)


def test_entries_are_written_in_batches_inside_the_write_that_reaches_the_count(runtime):
    from db.hlc import HybridClock

    conn, ctx = runtime.conn, runtime.ctx
    now = [2_000_000_000_000]
    ctx.clock = HybridClock(ctx.clock.last, now_ms=lambda: now[0])
    with transaction(conn):
        ctx.catch_up_audit()
    ctx.audit_every = 5
    before = len(_entries(conn))

    def later() -> None:  # the next write, a few seconds on
        now[0] += 3000

    hid = _household(conn, ctx)  # 2 operations
    later()
    with transaction(conn):
        update_household(ctx, hid, note="1")
    later()
    with transaction(conn):
        update_household(ctx, hid, note="2")
    assert len(_entries(conn)) == before  # 4 operations: not yet
    later()
    conn.execute("BEGIN IMMEDIATE")
    # the 5th writes the earlier writes' entries (the member is in its household's), in its
    # own transaction; its own operation waits for the next batch, with the rest of its write
    update_household(ctx, hid, note="3")
    assert len(_entries(conn)) == before + 3
    conn.execute("ROLLBACK")  # ...and they go with it
    assert len(_entries(conn)) == before
    # the committed operations are still waiting: the next batch writes them too
    for n in range(5):
        later()
        with transaction(conn):
            update_household(ctx, hid, note=f"again {n}")
    assert len(_entries(conn)) == before + 3 + 4
    with transaction(conn):
        ctx.catch_up_audit()
    assert len(_entries(conn)) == before + 3 + 5
    assert audit.verify(conn).intact


def test_a_write_in_progress_is_left_whole_to_the_next_batch(runtime):
    from datetime import date

    from kiosk.domain.visits import record_visit

    conn, ctx = runtime.conn, runtime.ctx
    hid, mid = conn.execute("SELECT household_id, id FROM members LIMIT 1").fetchone()
    with transaction(conn):
        ctx.catch_up_audit()
    ctx.audit_every = 4  # reached in the middle of the visit's 13 operations
    before = len(_entries(conn))
    with transaction(conn):
        record_visit(
            ctx,
            hid,
            {
                "met_members": [mid],
                "problems": [
                    {"category": "parking", "text": "停车难"},
                    {"category": "noise", "text": "噪音"},
                    {"category": "roof_leak", "text": "漏雨"},
                ],
            },
            today=date.today(),
        )
    assert len(_entries(conn)) == before
    with transaction(conn):
        ctx.catch_up_audit()
    assert [r["entity"] for r in _entries(conn)[before:]] == ["visit"]


def test_the_writers_own_account_of_its_operations_gives_the_entries_the_outbox_gives(
    runtime, tmp_path
):
    """A batch takes an operation from what its writer knew when it emitted it, unless the
    outbox disagrees: a write rolled back (its seq then reused) and another writer's
    operations are read from the outbox. Both ways write the same trail, byte for byte."""
    from datetime import date

    from db.cases import append_event
    from db.hlc import HybridClock
    from kiosk.domain.visits import record_visit

    conn, ctx = runtime.conn, runtime.ctx
    with transaction(conn):
        ctx.catch_up_audit()
    ctx.audit_every = 10**6  # the batches below are taken by hand
    now = [2_000_000_000_000]
    ctx.clock = HybridClock(ctx.clock.last, now_ms=lambda: now[0])
    other = WriteContext(
        conn=conn, device_id=ctx.device_id, worker_id=None, clock=ctx.clock, audit_every=0
    )
    hid, mid = conn.execute("SELECT household_id, id FROM members LIMIT 1").fetchone()
    with transaction(conn):
        vid = record_visit(
            ctx,
            hid,
            {"met_members": [mid], "problems": [{"category": "parking", "text": "停车难"}]},
            today=date.today(),
        )
    now[0] += 3000  # people write seconds apart
    conn.execute("BEGIN IMMEDIATE")
    update_household(ctx, hid, note="rolled back")
    conn.execute("ROLLBACK")
    with transaction(conn):  # reuses the rolled-back operation's seq
        update_household(other, hid, note="by another writer")
    now[0] += 3000
    new = _household(conn, ctx, room="77")
    now[0] += 3000
    with transaction(conn):
        update_household(ctx, new, note="then this")
        case = conn.execute("SELECT id FROM cases WHERE visit_id = ?", (vid,)).fetchone()[0]
        append_event(ctx, case, "progress", {"note": "已联系"})
    assert ctx._emitted  # the writer's own account is there to be used
    copy = sqlite3.connect(tmp_path / "copy.db")
    conn.backup(copy)
    with transaction(conn):
        written = audit.catch_up(conn, known=ctx._emitted)
    copy.execute("BEGIN IMMEDIATE")
    assert audit.catch_up(copy) == written
    copy.execute("COMMIT")
    assert not ctx._emitted  # used, or left behind by the rollback: forgotten
    query = "SELECT * FROM audit ORDER BY seq"
    mine = [tuple(r) for r in conn.execute(query)]
    assert mine == copy.execute(query).fetchall()
    assert [r[6:8] for r in mine[-written:]] == [
        ("create", "visit"),
        ("change", "household"),
        ("create", "household"),
        ("change", "household"),
        ("create", "case_event"),
    ]
    assert audit.verify(conn).intact
    copy.close()


def test_a_recorded_entry_first_writes_the_changes_before_it(runtime):
    conn, ctx = runtime.conn, runtime.ctx
    hid = _household(conn, ctx)
    with transaction(conn):
        ctx.audit("lookup", "household", hid, household_id=hid, detail={"via": "test"})
    last = _entries(conn)[-2:]
    assert [(r["action"], r["entity"]) for r in last] == [
        ("create", "household"),
        ("lookup", "household"),
    ]
    assert [r["dseq"] for r in last] == sorted(r["dseq"] for r in last)


def test_an_operation_leaves_the_outbox_only_once_it_is_in_the_trail(runtime):
    from db.sync import acknowledge

    conn, ctx = runtime.conn, runtime.ctx
    hid = _household(conn, ctx)
    ops = [r[0] for r in conn.execute("SELECT op_id FROM outbox")]
    created = conn.execute(
        "SELECT op_id FROM outbox WHERE entity = 'household' AND entity_id = ?", (hid,)
    ).fetchone()[0]
    with transaction(conn):
        acknowledge(conn, ops)
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    entry = next(r for r in _entries(conn) if r["id"] == created)  # household + its member
    assert entry["household_id"] == hid
    assert json.loads(entry["detail"])["with"]["member"] == [
        r[0] for r in conn.execute("SELECT id FROM members WHERE household_id = ?", (hid,))
    ]


def test_other_devices_changes_are_not_audited_again_here(runtime):
    from db.sync import apply_ops

    conn = runtime.conn
    hid = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    before = len(_entries(conn))
    op = {
        "op_id": "remote-op-1",
        "hlc": "001999999999999.00000",
        "entity": "household",
        "entity_id": hid,
        "kind": "update",
        "payload": {"note": "x"},
        "base_version": None,
        "field_bases": None,
        "schema_version": 6,
        "worker_id": None,
        "device_id": "other-device",
    }
    with transaction(conn):
        apply_ops(conn, [op])
        runtime.ctx.catch_up_audit()
    assert len(_entries(conn)) == before


def test_an_on_screen_lookup_is_recorded_off_the_screen_s_path(runtime):
    import threading

    from kiosk.security.audit import record_lookup

    conn, ctx = runtime.conn, runtime.ctx
    hid = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    lock = threading.Lock()

    class App:  # what record_lookup needs of the app: its writer
        def write(self, fn):
            with lock, transaction(conn):
                return fn(ctx)

    with lock:  # a write in progress (a sync's page, say): the lookup waits, the caller not
        thread = record_lookup(App(), hid)
        assert thread.is_alive()
    thread.join(10)
    last = _entries(conn)[-1]
    assert (last["action"], last["entity_id"], last["household_id"]) == ("lookup", hid, hid)
    assert json.loads(last["detail"]) == {"via": "screen"}
    assert last["worker_id"] == ctx.worker_id


def test_the_demo_is_one_entry_not_one_per_row(runtime):
    rows = _entries(runtime.conn)
    demo = [r for r in rows if r["entity"] == "demo"]
    assert len(demo) == 1 and demo[0]["action"] == "create"
    assert json.loads(demo[0]["detail"])["households"] == 600
    assert not any(r["entity"] in ("household", "member") for r in rows)


# --- the chain -------------------------------------------------------------------------------

_TEMPLATE: list[sqlite3.Connection] = []


def _fresh() -> sqlite3.Connection:
    """An empty migrated database in memory (copied from one migrated once)."""
    if not _TEMPLATE:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        migrate(conn)
        _TEMPLATE.append(conn)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    _TEMPLATE[0].backup(conn)
    return conn


_text = st.one_of(st.none(), st.text(max_size=12))
_record = st.fixed_dictionaries(
    {
        "device_id": st.sampled_from(["dev-a", "dev-b"]),
        "worker_id": _text,
        "action": st.sampled_from(audit.ACTIONS),
        "entity": _text,
        "entity_id": _text,
        "household_id": _text,
        "detail": st.dictionaries(
            st.text(max_size=5), st.integers() | st.text(max_size=8), max_size=3
        ),
    }
)
_FIELDS = (
    "id",
    "device_id",
    "dseq",
    "at",
    "worker_id",
    "action",
    "entity",
    "entity_id",
    "household_id",
    "detail",
    "prev_hash",
    "hash",
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(_record, min_size=1, max_size=8), data=st.data())
def test_any_sequence_verifies_and_any_single_field_change_is_found(records, data):
    conn = _fresh()
    for r in records:
        audit.record(conn, **r)
    assert audit.verify(conn).intact
    rows = conn.execute(f"SELECT seq, {', '.join(_FIELDS)} FROM audit").fetchall()
    seq, *values = data.draw(st.sampled_from(rows))
    name = data.draw(st.sampled_from(_FIELDS))
    old = values[_FIELDS.index(name)]
    new: object
    if name == "dseq":
        new = old + data.draw(st.integers(1000, 2000))
    else:
        new = data.draw(st.text(min_size=1, max_size=70).filter(lambda v: v != old))
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute(f"UPDATE audit SET {name} = ? WHERE seq = ?", (new, seq))
    assert not audit.verify(conn).intact


def test_chain_problems_say_where_and_what(tmp_path):
    conn = connect(tmp_path / "a.db")
    migrate(conn)
    for n in range(6):
        audit.record(conn, device_id="dev", worker_id="w", action="lookup", entity_id=str(n))
    conn.close()
    _tamper(tmp_path / "a.db", "UPDATE audit SET detail = '{\"x\":1}' WHERE dseq = 2")
    _tamper(tmp_path / "a.db", "DELETE FROM audit WHERE dseq = 4")
    conn = connect(tmp_path / "a.db")
    found = {(p.dseq, p.kind) for p in audit.verify(conn).problems}
    assert found == {(2, "hash"), (5, "gap")}
    conn.close()


def test_every_household_query_runs_on_the_schema(runtime):
    from db.audit import _Households

    for entity, sql in _Households.SQL.items():
        runtime.conn.execute(sql, ("no-such-id",)).fetchall(), entity  # raises if a column is wrong


def test_a_community_feedback_is_audited_and_sign_in_still_works(runtime):
    from db.feedback import FeedbackInput, save_feedback
    from kiosk.security.session import attempt

    conn, ctx = runtime.conn, runtime.ctx
    grid = conn.execute("SELECT id FROM grids WHERE code = 'G001'").fetchone()[0]
    with transaction(conn):
        save_feedback(
            ctx, FeedbackInput(category="环境卫生", text="垃圾桶满了", source="stall", grid_id=grid)
        )

    def write(fn):
        with transaction(conn):
            return fn(ctx)

    # signing in brings the trail up to date (audit.catch_up): the feedback's entry first
    assert attempt(conn, write, "演示网格员", "246810").name == "演示网格员"
    entry = next(e for e in _entries(conn) if e["entity"] == "feedback")
    assert entry["action"] == "create" and entry["household_id"] is None


# --- the command -----------------------------------------------------------------------------


def test_kiosk_audit_lists_filters_and_refuses_grid_workers(demo_db, kiosk):
    db = str(demo_db)
    hid = sqlite3.connect(demo_db).execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    assert kiosk("households", "show", hid, "--db", db).returncode == 0
    assert kiosk("households", "show", hid, "--db", db, as_worker=SUPERVISOR).returncode == 0
    out = kiosk("audit", "--db", db)  # nobody named: refused
    assert out.returncode == 3 and "--as" in out.stderr
    out = kiosk("audit", "--db", db, as_worker="演示网格员")
    assert out.returncode == 3 and "社区主管" in out.stderr, out.stderr
    out = kiosk("audit", "--db", db, "--household", hid, "--json", as_worker=SUPERVISOR)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["count"] == 2
    assert [e["worker"] for e in doc["entries"]] == [SUPERVISOR, "演示网格员"]  # newest first
    entry = doc["entries"][1]
    assert entry["action"] == "lookup" and entry["household_id"] == hid
    assert entry["entity"] == "household" and entry["entity_id"] == hid
    assert entry["detail"] == {"via": "households show"}
    assert entry["device"] == "laptop" and entry["at"][:4].isdigit()
    out = kiosk("audit", "--db", db, "--worker", SUPERVISOR, as_worker=SUPERVISOR)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()[1:]
    looked = [line for line in lines if "查看" in line]
    assert len(looked) == 1 and "via=households show" in looked[0]
    assert any("登录" in line for line in lines)  # the command's PIN is a sign-in, audited
    # --worker W filters by who acted; --as names who reads
    doc = json.loads(
        kiosk(
            "audit",
            "--db",
            db,
            "--worker",
            "演示网格员",
            "--household",
            hid,
            "--json",
            as_worker=SUPERVISOR,
        ).stdout
    )
    assert [e["worker"] for e in doc["entries"]] == ["演示网格员"]
    out = kiosk("audit", "--db", db, "--since", "2999-01-01", as_worker=SUPERVISOR)
    assert out.returncode == 0 and "没有符合条件" in out.stderr
    out = kiosk("audit", "--db", db, "--since", "2026-02-30", as_worker=SUPERVISOR)
    assert out.returncode == 2 and "YYYY-MM-DD" in out.stderr
    out = kiosk("audit", "--db", db, "--by", "无此人", as_worker=SUPERVISOR)
    assert out.returncode == 2 and "无此人" in out.stderr


def test_verify_reports_a_tampered_row_writes_nothing_and_leaks_nothing(demo_db, kiosk):
    db = str(demo_db)
    hid = sqlite3.connect(demo_db).execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    for _ in range(3):
        assert kiosk("households", "show", hid, "--db", db).returncode == 0
    conn = sqlite3.connect(demo_db)
    total = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    lookup = conn.execute(
        "SELECT dseq FROM audit WHERE action = 'lookup' ORDER BY dseq LIMIT 1 OFFSET 1"
    ).fetchone()[0]
    conn.close()
    out = kiosk("audit", "verify", "--db", db, as_worker="演示管理员")
    assert out.returncode == 0, out.stderr
    total += 1  # the administrator's PIN: a sign-in entry, the newest
    assert f"1 台设备共 {total} 条记录" in out.stdout
    _tamper(demo_db, "UPDATE audit SET worker_id = 'someone-else' WHERE dseq = ?", lookup)
    before = _dump(demo_db)
    out = kiosk("audit", "verify", "--db", db, as_worker=SUPERVISOR)
    assert out.returncode == 1
    assert f"第 {lookup} 条的内容与它的校验值不符" in out.stdout, out.stdout
    assert "报告管理员" in out.stderr
    out = kiosk("audit", "verify", "--db", db, "--json", "--lang", "en", as_worker=SUPERVISOR)
    doc = json.loads(out.stdout)
    assert out.returncode == 1 and doc["intact"] is False
    assert [(p["dseq"], p["kind"]) for p in doc["problems"]] == [(lookup, "hash")]
    assert f"entry {lookup} does not match its hash" in doc["problems"][0]["message"]
    assert "someone-else" not in out.stdout + out.stderr
    conn = sqlite3.connect(demo_db)
    added = conn.execute(
        "SELECT action FROM audit WHERE dseq > ? ORDER BY dseq", (total,)
    ).fetchall()
    conn.close()
    assert added == [("signin",), ("signin",)]  # the supervisor's PINs, nothing else
    after = _dump(demo_db)
    assert [
        line
        for line in after
        if line not in before and not line.startswith(('INSERT INTO "audit"', 'INSERT INTO "meta"'))
    ] == []  # verifying wrote nothing else


def test_entries_cannot_be_changed_through_the_app(demo_db, kiosk):
    database = open_database(demo_db)
    conn = database.conn
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        conn.execute("UPDATE audit SET action = 'lookup'")
    with pytest.raises(sqlite3.IntegrityError, match="cannot be deleted"):
        conn.execute("DELETE FROM audit")
    database.close()
    out = kiosk("audit", "delete", "--db", str(demo_db), "--as", SUPERVISOR)
    assert out.returncode == 2  # there is no such command


def test_exports_and_prints_are_audited(demo_db, kiosk, tmp_path):
    db = str(demo_db)
    out = kiosk(
        "ledger", "original", "--out", str(tmp_path / "l.csv"), "--db", db, as_worker=SUPERVISOR
    )
    assert out.returncode == 0, out.stderr
    hid = sqlite3.connect(demo_db).execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    out = kiosk(
        "labels",
        "--household",
        hid,
        "--out",
        str(tmp_path / "l.pdf"),
        "--db",
        db,
        as_worker=GRID_WORKER,
    )
    assert out.returncode == 0, out.stderr
    out = kiosk("audit", "--db", db, "--json", as_worker=SUPERVISOR)
    entries = json.loads(out.stdout)["entries"]
    ledger = next(e for e in entries if e["action"] == "export")
    assert ledger["entity"] == "ledger" and ledger["detail"]["format"] == "csv"
    assert ledger["detail"]["masked"] is True and ledger["detail"]["rows"] >= 1
    assert ledger["detail"]["grids"]
    printed = next(e for e in entries if e["action"] == "print")
    assert printed["household_id"] == hid
    assert printed["detail"] == {
        "format": "pdf",
        "rows": 1,
        "masked": True,
        "layout": "3x8",
        "reprint": False,
        "grids": [printed["detail"]["grids"][0]],
    }


# --- the hub ---------------------------------------------------------------------------------


def _laptop(tmp_path, url, store, name="laptop"):
    database = open_database(tmp_path / f"{name}.db")
    ctx = WriteContext.open(database.conn)
    enrol(ctx, url, store.add_device(name, None, role="office"))
    run_sync(ctx)
    return database, ctx


def _hub_rows(store) -> list[tuple]:
    with store._tx(write=False) as cur:
        cur.execute("SELECT device_id, dseq, hash FROM hub_audit ORDER BY device_id, dseq")
        return [tuple(r) for r in cur.fetchall()]


def test_sync_carries_the_trail_to_the_hub_which_checks_the_chain(tmp_path, kiosk):
    roster = tmp_path / "roster.db"
    build_roster(roster)
    store = SqliteHubStore(tmp_path / "hub.db")
    from kiosk.sync.seed import seed_ops

    src = open_database(roster).conn
    for batch in seed_ops(src):
        store.ingest(None, batch)
    src.close()
    with hub_thread(store) as url:
        database, ctx = _laptop(tmp_path, url, store)
        conn = database.conn
        hid = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
        with transaction(conn):
            update_household(ctx, hid, note="一")
            ctx.audit("lookup", "household", hid, household_id=hid)
        report = run_sync(ctx)
        assert report.audited == 2
        mine = audit.entries_after(conn, ctx.device_id, 0, 100)
        assert _hub_rows(store) == [(e.device_id, e.dseq, e.hash) for e in mine]
        assert run_sync(ctx).audited == 0  # nothing new: nothing sent twice
        hub_db = str(tmp_path / "hub.db")
        out = kiosk("hub", "audit", "--db", hub_db, "--json")
        assert out.returncode == 0, out.stderr
        listed = json.loads(out.stdout)["entries"]
        assert [(e["dseq"], e["action"], e["device"]) for e in listed] == [
            (2, "lookup", "laptop"),
            (1, "change", "laptop"),
        ]
        assert listed[1]["detail"] == {"fields": ["note"]}
        out = kiosk("hub", "audit", "verify", "--db", hub_db)
        assert out.returncode == 0 and "1 台设备共 2 条记录" in out.stdout, out.stderr

        # An entry edited in the file before it was sent: the hub refuses the push whole.
        with transaction(conn):
            update_household(ctx, hid, note="二")
            ctx.audit("lookup", "household", hid, household_id=hid)
        held = _hub_rows(store)
        database.close()
        last = max(e.dseq for e in mine)
        _tamper(
            tmp_path / "laptop.db",
            'UPDATE audit SET detail = \'{"via":"x"}\' WHERE dseq = ?',
            last + 2,
        )
        database = open_database(tmp_path / "laptop.db")
        ctx = WriteContext.open(database.conn)
        with pytest.raises(SyncError) as refused:
            run_sync(ctx)
        assert refused.value.key == "sync.error.audit_chain"
        message = refused.value.message()
        assert f"第 {last + 2} 条" in message and "内容与校验值不符" in message
        assert "kiosk audit verify" in message
        assert _hub_rows(store) == held  # nothing stored
        database.close()
    store.close()
    # the hub's own copy edited in its file: hub audit verify says where
    raw = sqlite3.connect(tmp_path / "hub.db")
    raw.execute("UPDATE hub_audit SET action = 'change' WHERE dseq = 2")
    raw.commit()
    raw.close()
    out = kiosk("hub", "audit", "verify", "--db", str(tmp_path / "hub.db"))
    assert out.returncode == 1
    assert "第 2 条的内容与它的校验值不符" in out.stdout and "报告管理员" in out.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_store(request, tmp_path):
    if request.param == "sqlite":
        s = SqliteHubStore(tmp_path / "hub.db")
    else:
        from kiosk.hub.store.postgres import PostgresHubStore

        s = PostgresHubStore(request.getfixturevalue("pg_server").new_database())
    yield s
    s.close()


def test_both_hub_stores_check_continuity_on_ingest(hub_store):
    conn = _fresh()
    for n in range(5):
        audit.record(conn, device_id="dev-1", worker_id="w", action="lookup", entity_id=str(n))
    entries = [audit_entry(e) for e in audit.entries_after(conn, "dev-1", 0, 100)]
    code = hub_store.add_device("laptop", None, role="office")
    device, _ = hub_store.enrol(code, "dev-1")

    result = hub_store.ingest_audit(device, entries[:2])
    assert (result.stored, result.duplicates, result.last_dseq) == (2, 0, 2)
    # a push that skips entry 3: its first entry does not continue the stored chain
    with pytest.raises(HubError) as gap:
        hub_store.ingest_audit(device, entries[3:])
    assert gap.value.code == "audit_chain" and gap.value.params["dseq"] == 4
    assert gap.value.params["expected"] == 3
    # a first entry whose prev_hash is not the last stored hash
    forged = entries[2].__class__(
        **{
            **{f: getattr(entries[2], f) for f in entries[2].__struct_fields__},
            "prev_hash": "f" * 64,
        }
    )
    with pytest.raises(HubError) as link:
        hub_store.ingest_audit(device, [forged, *entries[3:]])
    assert link.value.code == "audit_chain" and link.value.params["dseq"] == 3
    # an entry the hub holds, sent again with other content
    changed = entries[1].__class__(
        **{**{f: getattr(entries[1], f) for f in entries[1].__struct_fields__}, "detail": '{"x":1}'}
    )
    with pytest.raises(HubError) as mismatch:
        hub_store.ingest_audit(device, [changed, *entries[2:]])
    assert mismatch.value.code == "audit_mismatch"
    # another device's entries
    with pytest.raises(HubError) as other:
        code2 = hub_store.add_device("other", None, role="office")
        other_device, _ = hub_store.enrol(code2, "dev-2")
        hub_store.ingest_audit(other_device, entries[2:])
    assert other.value.code == "other_device"
    assert [r[1] for r in _hub_rows(hub_store)] == [1, 2]  # refusals stored nothing
    result = hub_store.ingest_audit(device, entries[1:])  # a resend overlapping: fine
    assert (result.stored, result.duplicates, result.last_dseq) == (3, 1, 5)
    assert hub_store.verify_audit()[:2] == (5, 1) and not hub_store.verify_audit()[2]


async def test_opening_a_household_on_screen_is_an_audited_lookup(runtime):
    import threading

    from screens.households.household import HouseholdScreen

    conn = runtime.conn
    hid = conn.execute("SELECT id FROM households LIMIT 1 OFFSET 7").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        await app.push_screen(HouseholdScreen(hid))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert type(app.screen).__name__ == "HouseholdScreen"
        for thread in threading.enumerate():
            if thread.name == "audit-lookup":
                thread.join(10)
    rows = [r for r in _entries(conn) if r["action"] == "lookup" and r["household_id"] == hid]
    assert len(rows) == 1
    assert json.loads(rows[0]["detail"]) == {"via": "screen"}
    assert rows[0]["worker_id"] == runtime.worker.id


@pytest.mark.parametrize(
    "zone", ["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(second=st.integers(min_value=0, max_value=4_000_000_000))
def test_an_entrys_local_time_is_what_datetime_writes(zone, second, monkeypatch):
    """Entry times are formatted per quarter hour (offsets change only on quarter hours):
    the same text as datetime's, across daylight saving and half-hour zones."""
    import time as clock
    from datetime import UTC, datetime

    monkeypatch.setenv("TZ", zone)
    clock.tzset()
    try:
        want = datetime.fromtimestamp(second, UTC).astimezone().isoformat(timespec="seconds")
        assert audit._at_of(f"{second * 1000:015d}.00000", {}) == want
    finally:
        monkeypatch.undo()
        clock.tzset()


@settings(max_examples=300)
@given(
    payload=st.dictionaries(
        st.sampled_from(["id", "note", "name", *audit.REF_FIELDS]),
        st.one_of(st.none(), st.integers(), st.text(max_size=3), st.lists(st.integers())),
    )
)
def test_an_operation_names_its_fields_and_only_string_references(payload):
    """What the trail keeps of an operation, worked out once per payload shape: its field
    names (sorted, without ``id``) and its references, only those that are strings (a list in
    a reference field must never reach the batch's lookups). The same shape with other
    values never sees the first payload's references."""
    want_refs = {k: v for k, v in payload.items() if k in audit.REF_FIELDS and isinstance(v, str)}
    for values in (payload, dict.fromkeys(payload, 0)):
        op = audit.operation(1, "op", "hlc", "case", "c1", "insert", "w", "d", values)
        assert op[8] == sorted(k for k in payload if k != "id")
        assert dict(op[9]) == (want_refs if values is payload else {})
    with pytest.raises(TypeError):  # the shared "no references" mapping cannot be written
        audit.operation(1, "op", "h", "household", "h1", "update", "w", "d", {})[9]["x"] = 1

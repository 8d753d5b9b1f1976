"""One test suite, both hub stores: embedded SQLite and a real throwaway PostgreSQL 15 server
(started by tests/pg.py with initdb and pg_ctl; never a mock)."""

from __future__ import annotations

import re

import pytest

from db.connection import open_database, transaction
from db.context import WriteContext
from db.households import update_household
from kiosk.hub.store import HubError
from kiosk.hub.store_sqlite import SqliteHubStore
from kiosk.sync.client import enrol, run_sync
from kiosk.sync.protocol import Op
from kiosk.sync.seed import seed_ops
from tests.pg import PgServer, build_roster, hub_thread, pg_bin


@pytest.fixture(scope="session")
def pg_server():
    if pg_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
                    ".ci/run installs Debian's postgresql package")
    server = PgServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = SqliteHubStore(tmp_path / "hub.db")
    else:
        from kiosk.hub.store_postgres import PostgresHubStore

        s = PostgresHubStore(request.getfixturevalue("pg_server").new_database())
    yield s
    s.close()


@pytest.fixture
def seeded(store, tmp_path):
    roster = tmp_path / "roster.db"
    build_roster(roster)
    src = open_database(roster).conn
    for batch in seed_ops(src):
        store.ingest(None, batch)
    src.close()
    return store


def _device(store, name, device_id, grids):
    code = store.add_device(name, grids)
    device, token = store.enrol(code, device_id)
    return device, token


def _op(n, device_id, entity_id, kind="update", entity="household", payload=None):
    return Op(op_id=f"op-{device_id}-{n}", hlc=f"0017950000{n:05d}.00000", entity=entity,
              entity_id=entity_id, kind=kind, payload=payload or {"note": f"n{n}"},
              schema_version=5, device_id=device_id)


def _household(store, grid):
    with store._tx(write=False) as cur:
        cur.execute(store._q("SELECT entity_id FROM hub_scope WHERE entity = 'household'"
                             " AND grid = ? ORDER BY entity_id"), (grid,))
        return cur.fetchone()[0]


def _pull_all(store, device, limit=1000):
    cursor, ops, pages = None, [], 0
    while True:
        page = store.pull(device, cursor, limit)
        ops += page.ops
        pages += 1
        assert page.cursor is not None
        if not page.more:
            return ops, page.cursor, pages
        cursor = page.cursor


def test_device_lifecycle(store):
    code = store.add_device("王芳的笔记本", ["G1"])
    assert [(d.name, d.grids, d.device_id) for d in store.list_devices()] == [
        ("王芳的笔记本", ["G1"], None)]
    device, token = store.enrol(code.lower().replace("-", ""), "dev-a")  # any case, no hyphens
    assert store.authenticate(token).name == "王芳的笔记本"
    assert token.split(".", 1)[1] not in (device.token_hash or "")
    with pytest.raises(HubError) as err:
        store.authenticate("dev-a.wrong-secret")
    assert err.value.status == 401
    with pytest.raises(HubError) as err:
        store.authenticate("nobody.x")
    assert err.value.status == 401
    with pytest.raises(HubError) as err:
        store.enrol(code, "dev-b")  # a code works once
    assert (err.value.status, err.value.code) == (403, "bad_code")
    with pytest.raises(HubError) as err:
        store.add_device("王芳的笔记本", None)
    assert err.value.status == 409
    code2 = store.add_device("second", None)
    with pytest.raises(HubError) as err:
        store.enrol(code2, "dev-a")  # one device id, one enrolment
    assert err.value.status == 409
    assert store.revoke_device("王芳的笔记本") and not store.revoke_device("missing")
    with pytest.raises(HubError) as err:
        store.authenticate(token)
    assert (err.value.status, err.value.code) == (403, "revoked")


def test_scope_dedupe_and_paging(seeded):
    store = seeded
    total = store.op_count()
    a, _ = _device(store, "a", "dev-a", ["G1"])
    b, _ = _device(store, "b", "dev-b", None)
    h1, h2 = _household(store, "g-one"), _household(store, "g-two")

    # Out of scope, unknown record, another device: refused whole, nothing stored.
    for bad in (_op(2, "dev-a", h2), _op(3, "dev-a", "no-such-household"),
                _op(4, "dev-b", h1)):
        with pytest.raises(HubError) as err:
            store.ingest(a, [_op(1, "dev-a", h1), bad])
        assert err.value.status == 403
        assert store.op_count() == total
    # Moving a household into a grid outside the scope is refused too.
    with pytest.raises(HubError):
        store.ingest(a, [_op(5, "dev-a", h1, payload={"grid_id": "g-two"})])

    assert store.ingest(a, [_op(1, "dev-a", h1)]).stored == 1
    again = store.ingest(a, [_op(1, "dev-a", h1), _op(1, "dev-a", h1)])
    assert (again.stored, again.duplicates, again.acked) == (0, 1, ["op-dev-a-1"])
    # A new member of a g-one household is scoped to g-one through its household_id.
    member = _op(6, "dev-a", "m-new", kind="insert", entity="member",
                 payload={"id": "m-new", "household_id": h1, "name": "李四"})
    store.ingest(a, [member])
    assert store.acked_since(a, None) == ["op-dev-a-1", "op-dev-a-6"]

    # Pulls: a sees g-one and global rows but never its own; b sees everything but its own.
    ops_a, _, _ = _pull_all(store, a)
    ops_b, cursor_b, _ = _pull_all(store, b)
    assert {o.op_id for o in ops_a} & {"op-dev-a-1", "op-dev-a-6"} == set()
    assert {o.op_id for o in ops_b} >= {"op-dev-a-1", "op-dev-a-6"}
    assert len(ops_b) == store.op_count()
    assert all(o.payload.get("grid_id") != "g-two" for o in ops_a if o.entity == "household")
    assert h2 not in {o.entity_id for o in ops_a}
    # Small pages cover the same operations exactly once, in the same order.
    paged, _, pages = _pull_all(store, b, limit=3)
    assert [o.op_id for o in paged] == [o.op_id for o in ops_b] and pages > 3
    # From the last cursor there is nothing more.
    page = store.pull(b, cursor_b, 100)
    assert page.ops == [] and not page.more and page.cursor == cursor_b
    with pytest.raises(HubError) as err:
        store.pull(b, "not-a-cursor", 10)
    assert err.value.status == 400


def test_pull_waits_for_slow_transactions(seeded, request):
    """A row committed after a later-numbered one must still be delivered (xmin watermark)."""
    store = seeded
    if isinstance(store, SqliteHubStore):
        pytest.skip("SQLite serialises writers: log positions are assigned in commit order")
    import psycopg

    b, _ = _device(store, "b", "dev-b", None)
    _, cursor, _ = _pull_all(store, b)
    slow = psycopg.connect(store.url)  # a transaction that took its seq first, commits last
    slow.execute(
        "INSERT INTO hub_ops(op_id, hlc, entity, entity_id, kind, payload, schema_version,"
        " device_id, grid, received_at) VALUES ('slow', '001795000000001.00000', 'visit', 'v1',"
        " 'insert', '{}', 5, 'dev-x', NULL, 'now')")
    a, _ = _device(store, "a", "dev-a", None)
    store.ingest(a, [_op(1, "dev-a", _household(store, "g-one"))])
    page = store.pull(b, cursor, 100)
    assert page.ops == []  # the fast row waits behind the open transaction
    slow.commit()
    slow.close()
    page = store.pull(b, page.cursor, 100)
    assert [o.op_id for o in page.ops] == ["slow", "op-dev-a-1"]


def test_sync_over_http(seeded, tmp_path):
    """Two laptops through the real HTTP app on this store: scope, merge, conflict."""
    store = seeded
    with hub_thread(store) as url:
        laptops = []
        for name, grids in (("a", ["G1"]), ("b", None)):
            db = open_database(tmp_path / f"{name}.db")
            ctx = WriteContext.open(db.conn)
            enrol(ctx, url, store.add_device(name, grids))
            run_sync(ctx, batch_size=4)
            laptops.append((db, ctx))
        (da, a), (db_, b) = laptops
        hid = a.conn.execute("SELECT id FROM households ORDER BY id LIMIT 1").fetchone()[0]
        assert {r[0] for r in a.conn.execute("SELECT grid_id FROM households")} == {"g-one"}
        for ctx, note in ((a, "甲"), (b, "乙")):
            with transaction(ctx.conn):
                update_household(ctx, hid, note=note)
        ra = run_sync(a)
        rb = run_sync(b)
        ra2 = run_sync(a)
        assert (ra.pushed, rb.pushed, rb.pulled, rb.conflicts, ra2.pulled, ra2.conflicts) == (
            1, 1, 1, 1, 1, 1)
        notes = {c.conn.execute("SELECT note FROM households WHERE id = ?", (hid,)).fetchone()[0]
                 for c in (a, b)}
        assert len(notes) == 1
        da.close()
        db_.close()


def _pull_with_backfill(store, device, cursor=None, backfilled=0, limit=2):
    """Pull until empty as a laptop does (small pages), reporting what it applied."""
    got = []
    while True:
        page = store.pull(device, cursor, limit, backfilled=backfilled)
        got += [o.op_id for o in page.ops]
        cursor, backfilled = page.cursor, page.backfill
        if not page.ops and not page.more:
            return got, cursor, backfilled


def test_cases_assigned_to_a_device_reach_it_outside_its_grids(seeded):
    store = seeded
    # 李四's laptop is enrolled for grid G1 only; the case is in G2.
    a, _ = store.enrol(store.add_device("li", ["G1"], worker="李四"), "dev-li")
    other, _ = _device(store, "c", "dev-c", ["G1"])
    s, _ = _device(store, "s", "dev-s", None)
    h2 = _household(store, "g-two")
    _, cursor_a, back_a = _pull_with_backfill(store, a)
    _, cursor_c, _ = _pull_with_backfill(store, other)

    def ev(n, type_, data):
        return _op(n, "dev-s", f"ev-{n}", kind="insert", entity="case_event",
                   payload={"id": f"ev-{n}", "case_id": "case-1", "type": type_,
                            "at": "2026-11-21T10:00:00+08:00", "data": data})

    registered = [
        _op(1, "dev-s", "case-1", kind="insert", entity="case",
            payload={"id": "case-1", "grid_id": "g-two", "summary": "漏雨"}),
        _op(2, "dev-s", "ch-1", kind="insert", entity="case_household",
            payload={"id": "ch-1", "case_id": "case-1", "household_id": h2}),
        ev(3, "register", "{}"),
    ]
    store.ingest(s, registered)
    got, cursor_a, back_a = _pull_with_backfill(store, a, cursor_a, back_a)
    assert got == []  # a case in another grid, not (yet) this laptop's
    store.ingest(s, [ev(4, "assign", '{"person": "李四", "department": "住建"}')])
    got, cursor_a, back_a = _pull_with_backfill(store, a, cursor_a, back_a)
    # the case's earlier operations first (backfill), then the assignment itself
    assert got[:3] == [o.op_id for o in registered] and "op-dev-s-4" in got
    assert back_a > 0
    store.ingest(s, [ev(5, "progress", '{"note": "已联系物业"}')])
    got, cursor_a, back_a = _pull_with_backfill(store, a, cursor_a, back_a)
    assert got == ["op-dev-s-5"]  # later events follow the assignment; no repeats
    got, _, _ = _pull_with_backfill(store, other, cursor_c)
    assert got == []  # another G1 laptop does not receive it
    # 李四 may add to the case assigned to him; the other G1 laptop may not.
    note = _op(6, "dev-li", "ev-6", kind="insert", entity="case_event",
               payload={"id": "ev-6", "case_id": "case-1", "type": "progress",
                        "at": "2026-11-22T10:00:00+08:00", "data": "{}"})
    assert store.ingest(a, [note]).stored == 1
    with pytest.raises(HubError) as err:
        store.ingest(other, [_op(7, "dev-c", "ev-7", kind="insert", entity="case_event",
                                 payload={"id": "ev-7", "case_id": "case-1", "type": "progress"})])
    assert err.value.status == 403
    assert "op-dev-li-6" in _pull_with_backfill(store, s)[0]


def test_resent_operation_refused_now_is_acknowledged_if_held(seeded):
    """A push whose answer was lost is sent again after its record moved out of the device's
    grids: the operations the hub holds are acknowledged as before; any other refused one
    still refuses the whole batch, with the first refusal's error."""
    store = seeded
    a, _ = _device(store, "a", "dev-a", ["G1"])
    s, _ = _device(store, "s", "dev-s", None)
    h1 = _household(store, "g-one")
    first = [_op(1, "dev-a", h1), _op(2, "dev-a", h1)]
    assert store.ingest(a, first).stored == 2
    store.ingest(s, [_op(3, "dev-s", h1, payload={"grid_id": "g-two"})])  # moved out of G1
    total = store.op_count()

    again = store.ingest(a, first)
    assert (again.acked, again.stored, again.duplicates) == (["op-dev-a-1", "op-dev-a-2"], 0, 2)
    for batch, code in (([_op(1, "dev-a", h1), _op(4, "dev-a", h1)], "out_of_scope"),
                        ([_op(1, "dev-a", h1), _op(5, "dev-a", "no-such-household"),
                          _op(6, "dev-a", h1)], "unknown_record")):
        with pytest.raises(HubError) as err:
            store.ingest(a, batch)
        assert (err.value.status, err.value.code) == (403, code)
    assert store.op_count() == total


def test_a_new_record_is_known_to_the_rest_of_its_push(seeded):
    """Scope is decided in one pass: a record inserted earlier in a push can be updated and
    given children later in the same push, and they all take its grid."""
    store = seeded
    a, _ = _device(store, "a", "dev-a", ["G1"])
    h1 = _household(store, "g-one")
    ops = [_op(1, "dev-a", "m-1", kind="insert", entity="member",
               payload={"id": "m-1", "household_id": h1, "name": "李四"}),
           _op(2, "dev-a", "m-1", payload={"name": "李四四"}, entity="member")]
    assert store.ingest(a, ops).stored == 2
    with store._tx(write=False) as cur:
        cur.execute(store._q("SELECT op_id, grid FROM hub_ops WHERE device_id = ? ORDER BY op_id"),
                    ("dev-a",))
        assert cur.fetchall() == [("op-dev-a-1", "g-one"), ("op-dev-a-2", "g-one")]


def test_sqlite_push_runs_the_same_statements_whatever_its_size(tmp_path):
    """Ingest is a fixed set of statements per push (prepared once, reused): only the two
    batched inserts (log rows, new scope rows) run once per row."""
    store = SqliteHubStore(tmp_path / "hub.db")
    roster = tmp_path / "roster.db"
    build_roster(roster)
    src = open_database(roster).conn
    for batch in seed_ops(src):
        store.ingest(None, batch)
    src.close()
    a, _ = _device(store, "a", "dev-a", ["G1"])
    h1 = _household(store, "g-one")

    def statements(n: int, start: int) -> list[str]:
        ops = []
        for i in range(start, start + n):
            ops.append(_op(i, "dev-a", h1))
            ops.append(_op(i + 10_000, "dev-a", f"v-{i}", kind="insert", entity="visit",
                           payload={"id": f"v-{i}", "household_id": h1}))
        seen: list[str] = []
        store.conn.set_trace_callback(seen.append)
        try:
            assert store.ingest(a, ops).stored == 2 * n
        finally:
            store.conn.set_trace_callback(None)
        # the trace shows statements with their values bound: compare them without
        return sorted(re.sub(r"'(?:[^']|'')*'|\b\d+\b", "?", s) for s in seen
                      if not s.startswith(("INSERT INTO hub_ops", "INSERT INTO hub_scope")))

    small, large = statements(2, 0), statements(300, 100)
    assert small == large and len(small) <= 6
    # the scope lookup searches the primary key once per key, never scans an entity's rows
    plan = store.conn.execute(f"EXPLAIN QUERY PLAN {store._SCOPE_OF}", ("[]", "visit")).fetchall()
    assert [r[3] for r in plan][-1].endswith("PRIMARY KEY (entity=? AND entity_id=?)")
    store.close()


def test_worker_changes_are_an_administrators_from_any_device(store):
    """A grid-restricted laptop may push worker records only when an administrator the hub
    knows made them (kiosk workers on that laptop); anyone else's are refused as a whole."""
    store.ingest(None, [
        _op(1, "office", "w-admin", kind="insert", entity="worker",
            payload={"id": "w-admin", "name": "赵管理", "role": "admin", "grids": "[]"}),
        _op(2, "office", "w-grid", kind="insert", entity="worker",
            payload={"id": "w-grid", "name": "李新", "role": "worker", "grids": '["G1"]'}),
    ])
    device, _ = _device(store, "laptop", "dev-a", ["G1"])
    new_worker = {"id": "w-new", "name": "钱多", "role": "worker", "grids": '["G1"]',
                  "pin_hash": "$argon2id$v=19$m=65536,t=3,p=4$x$y"}

    def op(n, actor, **kw):
        o = _op(n, "dev-a", kw.pop("entity_id", "w-new"), kind=kw.pop("kind", "insert"),
                entity="worker", payload=kw.pop("payload", new_worker))
        o.worker_id = actor
        return o

    with pytest.raises(HubError) as err:
        store.ingest(device, [op(3, "w-grid")])
    assert (err.value.status, err.value.code) == (403, "out_of_scope")
    assert store.ingest(device, [op(4, "w-admin")]).stored == 1
    # once disabled (by the office), that administrator's changes are refused too
    store.ingest(None, [_op(5, "office", "w-admin", entity="worker", payload={"disabled": 1})])
    with pytest.raises(HubError):
        store.ingest(device, [op(6, "w-admin", kind="update", entity_id="w-new",
                                 payload={"disabled": 1})])

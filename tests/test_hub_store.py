"""One test suite, both hub stores: embedded SQLite and a real throwaway PostgreSQL 15 server
(started by tests/pg.py with initdb and pg_ctl; never a mock)."""

from __future__ import annotations

import re

import pytest

from db.connection import open_database, transaction
from db.context import WriteContext
from db.households import update_household
from kiosk.hub.store.base import HubError
from kiosk.hub.store.sqlite import SqliteHubStore
from kiosk.sync.client import enrol, run_sync
from kiosk.sync.protocol import Op
from kiosk.sync.seed import seed_ops
from tests.pg import build_roster, hub_thread


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = SqliteHubStore(tmp_path / "hub.db")
    else:
        from kiosk.hub.store.postgres import PostgresHubStore

        s = PostgresHubStore(request.getfixturevalue("pg_server").new_database())
    yield s
    s.close()


def _seed(store, tmp_path):
    """``store`` seeded with the test roster (two grids, two households each)."""
    roster = tmp_path / "roster.db"
    if not roster.exists():
        build_roster(roster)
    src = open_database(roster).conn
    for batch in seed_ops(src):
        store.ingest(None, batch)
    src.close()
    return store


@pytest.fixture
def seeded(store, tmp_path):
    return _seed(store, tmp_path)


def _device(store, name, device_id, grids, role=None):
    """A device enrolled for ``grids`` (a field laptop), or for every grid (an office PC, or
    the administrator's with ``role="admin"``)."""
    role = role or ("field" if grids else "office")
    code = store.add_device(name, grids, role=role)
    device, token = store.enrol(code, device_id)
    return device, token


def _refusals(result):
    return [(r.index, r.code) for r in result.refused]


def _op(n, device_id, entity_id, kind="update", entity="household", payload=None):
    return Op(
        op_id=f"op-{device_id}-{n}",
        hlc=f"0017950000{n:05d}.00000",
        entity=entity,
        entity_id=entity_id,
        kind=kind,
        payload=payload or {"note": f"n{n}"},
        schema_version=5,
        device_id=device_id,
    )


def _household(store, grid):
    with store._tx(write=False) as cur:
        cur.execute(
            store._q(
                "SELECT entity_id FROM hub_scope WHERE entity = 'household'"
                " AND grid = ? ORDER BY entity_id"
            ),
            (grid,),
        )
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
        ("王芳的笔记本", ["G1"], None)
    ]
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
        store.add_device("王芳的笔记本", None, role="office")
    assert err.value.status == 409
    # A device says what it covers: a field laptop its grids, nothing else takes grids.
    for grids, role, code in (
        (None, "field", "field_needs_grid"),
        (["G1"], "admin", "grids_for_field"),
        (None, "boss", "bad_role"),
    ):
        with pytest.raises(HubError) as err:
            store.add_device("third", grids, role=role)
        assert (err.value.status, err.value.code) == (422, code)
    code2 = store.add_device("second", None, role="office")
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

    # Out of scope, unknown record, another device, a move out of scope: each refused alone,
    # nothing of it stored.
    for bad, code in (
        (_op(2, "dev-a", h2), "out_of_scope"),
        (_op(3, "dev-a", "no-such-household"), "unknown_record"),
        (_op(4, "dev-b", h1), "other_device"),
        (_op(5, "dev-a", h1, payload={"grid_id": "g-two"}), "out_of_scope"),
    ):
        result = store.ingest(a, [bad])
        assert (_refusals(result), result.acked, result.stored) == ([(0, code)], [], 0)
        assert store.op_count() == total
    # One refused operation never refuses the rest of its batch.
    result = store.ingest(a, [_op(2, "dev-a", h2), _op(1, "dev-a", h1)])
    assert (_refusals(result), result.acked, result.stored) == (
        [(0, "out_of_scope")],
        ["op-dev-a-1"],
        1,
    )
    again = store.ingest(a, [_op(1, "dev-a", h1), _op(1, "dev-a", h1)])
    assert (again.stored, again.duplicates, again.acked) == (0, 1, ["op-dev-a-1"])
    # A new member of a g-one household is scoped to g-one through its household_id.
    member = _op(
        6,
        "dev-a",
        "m-new",
        kind="insert",
        entity="member",
        payload={"id": "m-new", "household_id": h1, "name": "李四"},
    )
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
        " 'insert', '{}', 5, 'dev-x', NULL, 'now')"
    )
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
            enrol(ctx, url, store.add_device(name, grids, role="field" if grids else "office"))
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
            1,
            1,
            1,
            1,
            1,
            1,
        )
        notes = {
            c.conn.execute("SELECT note FROM households WHERE id = ?", (hid,)).fetchone()[0]
            for c in (a, b)
        }
        assert len(notes) == 1
        da.close()
        db_.close()


def test_a_case_never_travels_outside_its_grids(seeded):
    """An assignment names a person, not a grid: a case assigned to the worker of another
    grid's laptop does not reach that laptop, which may not add to it either."""
    store = seeded
    a = store.enrol(store.add_device("li", ["G1"], worker="李四"), "dev-li")[0]
    s, _ = _device(store, "s", "dev-s", None)
    h2 = _household(store, "g-two")
    _, cursor_a, _ = _pull_all(store, a)

    def ev(n, type_, data, device="dev-s"):
        return _op(
            n,
            device,
            f"ev-{n}",
            kind="insert",
            entity="case_event",
            payload={
                "id": f"ev-{n}",
                "case_id": "case-1",
                "type": type_,
                "at": "2026-11-21T10:00:00+08:00",
                "data": data,
            },
        )

    result = store.ingest(
        s,
        [
            _op(
                1,
                "dev-s",
                "case-1",
                kind="insert",
                entity="case",
                payload={"id": "case-1", "grid_id": "g-two", "summary": "漏雨"},
            ),
            _op(
                2,
                "dev-s",
                "ch-1",
                kind="insert",
                entity="case_household",
                payload={"id": "ch-1", "case_id": "case-1", "household_id": h2},
            ),
            ev(3, "register", "{}"),
            ev(4, "assign", '{"person": "李四", "department": "住建"}'),
        ],
    )
    assert result.stored == 4 and not result.refused
    page = store.pull(a, cursor_a, 100)
    assert "case-1" not in {o.entity_id for o in page.ops}
    assert not {o.payload.get("case_id") for o in page.ops} & {"case-1"}
    result = store.ingest(a, [ev(6, "progress", "{}", device="dev-li")])
    assert _refusals(result) == [(0, "out_of_scope")]


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
    for batch, refused in (
        ([_op(1, "dev-a", h1), _op(4, "dev-a", h1)], [(1, "out_of_scope")]),
        (
            [_op(1, "dev-a", h1), _op(5, "dev-a", "no-such-household"), _op(6, "dev-a", h1)],
            [(1, "unknown_record"), (2, "out_of_scope")],
        ),
    ):
        result = store.ingest(a, batch)
        assert (_refusals(result), result.acked) == (refused, ["op-dev-a-1"])
    assert store.op_count() == total


def test_what_belongs_to_a_household_follows_it_to_another_grid(seeded):
    """A record's grid is its owner's: once a household moves, its member, its visit and
    that visit's item (two owners away) belong to the new grid, for every later push, and
    in the rest of the push that moved it; the old grid's laptop reaches none of them."""
    store = seeded
    a, _ = _device(store, "a", "dev-a", ["G1"])
    b, _ = _device(store, "b", "dev-b", ["G2"])
    s, _ = _device(store, "s", "dev-s", None)
    h1 = _household(store, "g-one")
    member = {"id": "m-1", "household_id": h1, "name": "李四"}
    visit = {"id": "v-1", "household_id": h1, "grid_id": "g-one", "visit_type": "door"}
    made = store.ingest(
        a,
        [
            _op(1, "dev-a", "m-1", "insert", "member", member),
            _op(2, "dev-a", "v-1", "insert", "visit", visit),
            _op(3, "dev-a", "i-1", "insert", "visit_item", {"id": "i-1", "visit_id": "v-1"}),
        ],
    )
    assert (made.stored, made.refused) == (3, [])
    moved = store.ingest(
        s,
        [
            _op(4, "dev-s", h1, payload={"grid_id": "g-two"}),
            # later in the same push: already in the new grid
            _op(5, "dev-s", "m-1", "update", "member", {"name": "李四四"}),
        ],
    )
    assert (moved.stored, moved.refused) == (2, [])
    assert _pull_all(store, b)[0][-1].op_id == "op-dev-s-5"  # tagged with the new grid
    item = {"id": "i-2", "visit_id": "v-1"}
    for device, n, code in ((a, 6, "out_of_scope"), (b, 7, None)):
        result = store.ingest(
            device,
            [
                _op(n, device.device_id, "m-1", "update", "member", {"name": "李"}),
                _op(n + 10, device.device_id, f"i-{n}", "insert", "visit_item", item),
            ],
        )
        assert _refusals(result) == ([(0, code), (1, code)] if code else [])


def test_a_new_record_is_known_to_the_rest_of_its_push(seeded):
    """Scope is decided in one pass: a record inserted earlier in a push can be updated and
    given children later in the same push, and they all take its grid."""
    store = seeded
    a, _ = _device(store, "a", "dev-a", ["G1"])
    h1 = _household(store, "g-one")
    ops = [
        _op(
            1,
            "dev-a",
            "m-1",
            kind="insert",
            entity="member",
            payload={"id": "m-1", "household_id": h1, "name": "李四"},
        ),
        _op(2, "dev-a", "m-1", payload={"name": "李四四"}, entity="member"),
    ]
    assert store.ingest(a, ops).stored == 2
    with store._tx(write=False) as cur:
        cur.execute(
            store._q("SELECT op_id, grid FROM hub_ops WHERE device_id = ? ORDER BY op_id"),
            ("dev-a",),
        )
        assert cur.fetchall() == [("op-dev-a-1", "g-one"), ("op-dev-a-2", "g-one")]


def test_sqlite_push_runs_the_same_statements_whatever_its_size(tmp_path):
    """Ingest is a fixed set of statements per push (prepared once, reused): only the two
    batched inserts (log rows, new scope rows) run once per row."""
    store = _seed(SqliteHubStore(tmp_path / "hub.db"), tmp_path)
    a, _ = _device(store, "a", "dev-a", ["G1"])
    h1 = _household(store, "g-one")

    def statements(n: int, start: int) -> list[str]:
        ops = []
        for i in range(start, start + n):
            ops.append(_op(i, "dev-a", h1))
            ops.append(
                _op(
                    i + 10_000,
                    "dev-a",
                    f"v-{i}",
                    kind="insert",
                    entity="visit",
                    payload={"id": f"v-{i}", "household_id": h1},
                )
            )
        seen: list[str] = []
        store.conn.set_trace_callback(seen.append)
        try:
            assert store.ingest(a, ops).stored == 2 * n
        finally:
            store.conn.set_trace_callback(None)
        # the trace shows statements with their values bound: compare them without
        return sorted(
            re.sub(r"'(?:[^']|'')*'|\b\d+\b", "?", s)
            for s in seen
            if not s.startswith(("INSERT INTO hub_ops", "INSERT INTO hub_scope"))
        )

    small, large = statements(2, 0), statements(300, 100)
    # the larger push may skip the lookup of a record the hub read before (it remembers it)
    assert set(large) <= set(small) and len(small) <= 8
    # the scope lookup searches the primary key once per key, never scans an entity's rows
    plan = store.conn.execute(f"EXPLAIN QUERY PLAN {store._SCOPE_OF}", ("[]", "visit")).fetchall()
    assert [r[3] for r in plan][-1].endswith("PRIMARY KEY (entity=? AND entity_id=?)")
    store.close()


def test_worker_changes_come_only_from_the_administrators_device(store):
    """Workers (names, roles, PIN hashes) are changed only from the administrator's device,
    whatever worker an operation names: a field laptop claiming the administrator is refused,
    so nobody makes themselves administrator of the district from a laptop."""
    store.ingest(
        None,
        [
            _op(
                1,
                "office",
                "w-admin",
                kind="insert",
                entity="worker",
                payload={"id": "w-admin", "name": "赵管理", "role": "admin", "grids": "[]"},
            ),
            _op(
                2,
                "office",
                "w-grid",
                kind="insert",
                entity="worker",
                payload={"id": "w-grid", "name": "李新", "role": "worker", "grids": '["G1"]'},
            ),
        ],
    )
    laptop, _ = _device(store, "laptop", "dev-a", ["G1"])
    office, _ = _device(store, "office", "dev-o", None)
    admin, _ = _device(store, "admin", "dev-z", None, role="admin")

    def op(n, device, actor, **kw):
        o = _op(
            n,
            device,
            kw.pop("entity_id", "w-grid"),
            kind=kw.pop("kind", "update"),
            entity="worker",
            payload=kw.pop("payload", {"role": "admin"}),
        )
        o.worker_id = actor
        return o

    for n, device, dev_id in ((3, laptop, "dev-a"), (4, office, "dev-o")):
        result = store.ingest(device, [op(n, dev_id, "w-admin")])
        assert _refusals(result) == [(0, "role")] and result.refused[0].params["needs"] == "admin"
    assert store.ingest(admin, [op(5, "dev-z", "w-admin")]).stored == 1


def _burn_to_before_boundary(store, left: int = 3) -> int:
    """Use up PostgreSQL transaction ids until the next one is ``left`` below a power of ten
    (999 -> 1000, 9999 -> 10000): positions compared as text sort wrongly there. The ids are
    used up by a procedure committing in a loop on the server (one round trip). Use it on a
    cluster of the test's own (``fresh_pg_server``): the session's only counts up, and each
    crossing puts the next power of ten ten times further away (millions of ids, minutes)."""
    import psycopg

    with psycopg.connect(store.url, autocommit=True) as conn:
        now = int(conn.execute("SELECT pg_current_xact_id()::text").fetchone()[0])
        boundary = 10 ** len(str(now + left))
        conn.execute(
            "CREATE OR REPLACE PROCEDURE kiosk_burn_xids(n integer) LANGUAGE plpgsql"
            " AS $$ BEGIN FOR i IN 1..n LOOP PERFORM pg_current_xact_id(); COMMIT;"
            " END LOOP; END $$"
        )
        conn.execute("CALL kiosk_burn_xids(%s)", (max(boundary - left - now - 2, 0),))
        return boundary


def test_postgres_positions_are_numbers_across_a_digit_boundary(request):
    """Transaction ids 997...1003 (or 9997...10003): every operation is delivered once, in
    log order, with small pages; the pull ends."""
    from kiosk.hub.store.postgres import PostgresHubStore

    store = PostgresHubStore(request.getfixturevalue("fresh_pg_server").new_database())
    try:
        roster = request.getfixturevalue("tmp_path") / "roster.db"
        build_roster(roster)
        src = open_database(roster).conn
        for batch in seed_ops(src):
            store.ingest(None, batch)
        src.close()
        writer, _ = _device(store, "writer", "dev-writer", None)
        reader, _ = _device(store, "reader", "dev-reader", None)
        hid = _household(store, "g-one")
        _burn_to_before_boundary(store)
        sent = []
        for n in range(12):  # twelve pushes: twelve transactions across the boundary
            ops = [_op(n * 3 + i, "dev-writer", hid) for i in range(3)]
            assert not store.ingest(writer, ops).refused
            sent += [op.op_id for op in ops]
        got, _cursor, pages = _pull_all(store, reader, limit=4)
        mine = [op.op_id for op in got if op.device_id == "dev-writer"]
        assert mine == sent  # each once, in the order they were stored
        assert pages < 40
    finally:
        store.close()


def test_wrong_enrolment_codes_are_throttled_over_http(store):
    """After ten wrong codes from one address the hub answers 429 with Retry-After without
    checking the code (the right one included); counted in the store, so every hub process
    of a PostgreSQL hub sees the same count."""
    import httpx

    code = store.add_device("laptop", ["G1"])
    with hub_thread(store) as url:
        for i in range(store.ENROL_FAILURES_PER_ADDRESS):
            r = httpx.post(
                url + "/v1/enrol",
                json={"code": f"AAAA-BBBB-{i:04d}", "device_id": f"dev-{i}", "schema": 5},
            )
            assert r.status_code == 403, r.text
        r = httpx.post(
            url + "/v1/enrol", json={"code": code, "device_id": "dev-right", "schema": 5}
        )
        assert r.status_code == 429 and r.json()["error"] == "throttled"
        assert int(r.headers["Retry-After"]) > 0
    assert store.device_by_name("laptop").device_id is None  # the code was never tried


def test_a_poisoned_stamp_in_the_log_is_found_and_restamped_in_place(seeded):
    """A hub that took in a stamp far in the future before the drift bound existed: the
    repair gives it the stamp of its arrival, keeps its place in the log, and the clock."""
    store = seeded
    writer, _ = _device(store, "writer", "dev-writer", None)
    reader, _ = _device(store, "reader", "dev-reader", None)
    hid = _household(store, "g-one")
    store.op_checks = ()  # the hub as it was before stamps were bounded
    poisoned = [
        Op(
            op_id=f"poison-{i}",
            hlc="999999999999999.9999" + str(i),
            entity="household",
            entity_id=hid,
            kind="update",
            payload={"note": "far"},
            schema_version=5,
            device_id="dev-writer",
        )
        for i in range(3)
    ]
    assert store.ingest(writer, [*poisoned, _op(1, "dev-writer", hid)]).stored == 4
    store.set_max_drift(24)
    assert store.observe(None) < "002"
    before, _, _ = _pull_all(store, reader)
    n, far = store.far_stamps()
    assert n == 3 and [f.op_id for f in far] == ["poison-0", "poison-1", "poison-2"]
    assert store.restamp_far() == 3
    assert store.far_stamps() == (0, [])
    after, _, _ = _pull_all(store, reader)
    assert [o.op_id for o in after] == [o.op_id for o in before]  # every position kept
    stamps = [o.hlc for o in after if o.op_id.startswith("poison-")]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert all(s < store.observe(None) for s in stamps)
    assert store.restamp_far() == 0


def test_a_loop_of_owners_from_a_hostile_device_ends_at_a_grid_of_its_own():
    from kiosk.hub.store.base import MAX_OWNERS, resolve_grids

    rows = {
        ("member", "a"): ("g-one", "member", "b"),
        ("member", "b"): ("g-two", "member", "a"),
        ("visit", "v"): ("g-one", "member", "a"),
        ("household", "h"): ("stale", "grid", "g-three"),
        ("member", "orphan"): ("g-one", "household", "missing"),
    }
    # a chain longer than MAX_OWNERS stops at the grid stored with its last record
    for i in range(MAX_OWNERS + 5):
        rows[("visit_item", str(i))] = ("g-far", "visit_item", str(i + 1))
    grids = resolve_grids(rows)
    assert grids[("member", "a")] in ("g-one", "g-two")
    assert grids[("visit", "v")] == grids[("member", "a")]
    assert grids[("household", "h")] == "g-three"
    assert grids[("member", "orphan")] == "g-one"
    assert grids[("visit_item", "0")] == "g-far"


def test_a_record_moved_by_another_connection_is_seen_at_once(tmp_path):
    """The SQLite hub remembers the records it has read; a hub command in another process
    (another connection to the file) that moves a household must not leave the hub trusting
    what it remembered: the old grid's laptop is refused at once, the new grid's is not."""
    store = _seed(SqliteHubStore(tmp_path / "hub.db"), tmp_path)
    a, _ = _device(store, "a", "dev-a", ["G1"])
    b, _ = _device(store, "b", "dev-b", ["G2"])
    h1 = _household(store, "g-one")
    assert store.ingest(a, [_op(1, "dev-a", h1)]).stored == 1  # read, and remembered
    other = SqliteHubStore(tmp_path / "hub.db")
    try:
        s, _ = _device(other, "s", "dev-s", None)
        assert other.ingest(s, [_op(2, "dev-s", h1, payload={"grid_id": "g-two"})]).stored == 1
    finally:
        other.close()
    assert _refusals(store.ingest(a, [_op(3, "dev-a", h1)])) == [(0, "out_of_scope")]
    assert _refusals(store.ingest(b, [_op(4, "dev-b", h1)])) == []
    store.close()


def test_a_push_rolled_back_leaves_nothing_remembered(tmp_path, monkeypatch):
    """A push that fails after it wrote a new record and read it back (the rest of a push
    after a move is checked against the records as they are then) is rolled back: the hub
    must not remember the record it never committed."""
    store = _seed(SqliteHubStore(tmp_path / "hub.db"), tmp_path)
    s, _ = _device(store, "s", "dev-s", None)
    h1 = _household(store, "g-one")
    member = {"id": "m-9", "household_id": h1, "name": "李四"}
    push = [
        _op(1, "dev-s", "m-9", "insert", "member", member),
        _op(2, "dev-s", h1, payload={"grid_id": "g-two"}),
        _op(3, "dev-s", "m-9", "update", "member", {"name": "李四四"}),
    ]

    def fail(*_args):
        raise RuntimeError("the disk went away")

    with monkeypatch.context() as m:
        m.setattr(store, "_forgive", fail)
        with pytest.raises(RuntimeError):
            store.ingest(s, push)
    assert store.conn.execute(
        "SELECT count(*) FROM hub_ops WHERE device_id = 'dev-s'"
    ).fetchone() == (0,)
    later = store.ingest(s, [_op(4, "dev-s", "m-9", "update", "member", {"name": "李"})])
    assert _refusals(later) == [(0, "unknown_record")]
    assert store.ingest(s, push).stored == 3  # sent again, it is whole
    store.close()


def test_a_hub_made_before_feedback_photos_keeps_its_case_pictures_reachable(request, tmp_path):
    """A hub whose ``hub_photo_refs`` knew no entity (before feedback photos) gains the column
    when it is opened; the pictures it noted stay those of case photos (``photo``)."""
    old = (
        "CREATE TABLE hub_photo_refs (sha256 TEXT NOT NULL, photo_id TEXT NOT NULL,"
        " PRIMARY KEY (sha256, photo_id))"
    )
    import sqlite3

    for kind in ("sqlite", "postgresql"):
        if kind == "sqlite":
            path = tmp_path / "old-hub.db"
            conn = sqlite3.connect(path)
            conn.execute(old)
            conn.execute("INSERT INTO hub_photo_refs VALUES ('a', 'ph-1')")
            conn.commit()
            conn.close()
            s = SqliteHubStore(path)
        else:
            import psycopg

            from kiosk.hub.store.postgres import PostgresHubStore

            url = request.getfixturevalue("pg_server").new_database()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(old)
                conn.execute("INSERT INTO hub_photo_refs VALUES ('a', 'ph-1')")
            s = PostgresHubStore(url)
        with s._tx(write=False) as cur:
            cur.execute(s._q("SELECT sha256, photo_id, entity FROM hub_photo_refs"))
            assert [tuple(r) for r in cur.fetchall()] == [("a", "ph-1", "photo")], kind
        s.close()

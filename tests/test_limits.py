"""One table of field limits for the laptop and the hub (db/limits.py): any payload within
the limits passes, any beyond is caught, the check never raises; the hub refuses the one
operation beyond them (the laptop holds it) and the laptop refuses to write it at all."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.connection import open_database, transaction
from db.limits import DEFAULT_TEXT, MAX_DEPTH, MAX_INT, MAX_PAYLOAD_BYTES, check_payload, text_limit
from kiosk.core.errors import UserError
from kiosk.hub.store.sqlite import SqliteHubStore
from kiosk.sync.protocol import Op
from kiosk.sync.seed import seed_ops
from tests.conftest import GRID_WORKER, acting_as
from tests.pg import build_roster

FIELDS = ["note", "name", "summary", "tags", "anything", "household_id", "text"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-MAX_INT, MAX_INT),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)


@st.composite
def good_payloads(draw):
    out = {}
    for f in draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=6)):
        out[f] = draw(st.one_of(scalars, st.text(max_size=min(text_limit(f), 60))))
    return out


@given(good_payloads())
def test_a_payload_within_the_limits_passes(payload):
    assert check_payload("household", payload) is None


@given(st.sampled_from(FIELDS), st.integers(1, 50))
def test_a_field_over_its_limit_is_caught(field, over):
    bad = check_payload("visit", {field: "字" * (text_limit(field) + over)})
    assert bad is not None and bad.field == field and bad.code in ("too_long", "too_large")


@given(
    st.recursive(
        scalars | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=30,
    )
)
def test_the_check_never_raises(value):
    check_payload("household", {"note": value})
    check_payload("household", value)


def test_nesting_size_and_numbers():
    deep: object = "x"
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    assert check_payload("household", {"tags": deep}).code == "too_deep"
    assert check_payload("household", {"n": MAX_INT + 1}).code == "bad_value"
    many = {f"f{i}": "x" * 3000 for i in range(30)}
    assert check_payload("household", many).code == "too_large"
    assert check_payload("survey", {"definition": "x" * (MAX_PAYLOAD_BYTES * 2)}) is None
    assert len("x" * DEFAULT_TEXT) == DEFAULT_TEXT


def test_the_hub_refuses_the_one_operation_beyond_the_limits(tmp_path):
    roster = tmp_path / "roster.db"
    build_roster(roster)
    store = SqliteHubStore(tmp_path / "hub.db")
    try:
        src = open_database(roster).conn
        for batch in seed_ops(src):
            store.ingest(None, batch)
        src.close()
        device, _ = store.enrol(store.add_device("d", None, role="office"), "dev-d")
        hid = store.conn.execute(
            "SELECT entity_id FROM hub_scope WHERE entity = 'household' ORDER BY entity_id"
        ).fetchone()[0]

        def op(n, note):
            return Op(
                op_id=f"op-{n}",
                hlc=f"0017950000{n:05d}.00000",
                entity="household",
                entity_id=hid,
                kind="update",
                payload={"note": note},
                schema_version=5,
                device_id="dev-d",
            )

        result = store.ingest(device, [op(1, "好"), op(2, "长" * 15_000_000), op(3, "也好")])
        assert [(r.op_id, r.code) for r in result.refused] == [("op-2", "field_too_long")]
        assert result.acked == ["op-1", "op-3"]
    finally:
        store.close()


def test_the_laptop_refuses_to_write_a_field_beyond_its_limit(runtime):
    from db.households import update_household

    hid = runtime.conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    before = runtime.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    with acting_as(runtime, GRID_WORKER), pytest.raises(UserError) as caught:
        with transaction(runtime.conn):
            update_household(runtime.ctx, hid, note="长" * 5_000)
    assert caught.value.key == "error.field_too_long"
    assert runtime.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == before

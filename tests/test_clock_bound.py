"""Clocks are bounded: stamps keep the wire format whatever happens (the counter carries into
the milliseconds), a stamp far in the future is not believed by any clock, and a hub refuses
the one operation that carries it (the laptop holds it) while every laptop keeps syncing."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from db.connection import open_database, transaction
from db.hlc import MAX_COUNTER, HybridClock, format_stamp, parse_stamp, too_far_ahead
from kiosk.hub.store.sqlite import SqliteHubStore
from kiosk.sync.client import enrol, run_sync
from kiosk.sync.protocol import Op
from kiosk.sync.seed import seed_ops
from tests.pg import build_roster, hub_thread

WIRE = re.compile(r"^\d{15}\.\d{5}$")
NOW = 1_796_000_000_000  # 2026-12
DAY = 24 * 3600 * 1000
POISON = "999999999999999.99999"

walls = st.integers(0, NOW + 2 * DAY)
stamps = st.builds(format_stamp, walls, st.integers(0, MAX_COUNTER))


@given(
    start=stamps,
    steps=st.lists(st.one_of(st.none(), stamps), max_size=60),
    clock_ms=st.lists(walls, min_size=1, max_size=5),
)
def test_stamps_keep_the_wire_format_and_always_increase(start, steps, clock_ms):
    times = iter(clock_ms * 100)
    clock = HybridClock(start, now_ms=lambda: next(times), max_drift_ms=DAY)
    last = start
    for remote in steps:
        stamp = clock.now() if remote is None else clock.observe(remote)
        assert WIRE.match(stamp), stamp
        assert stamp > last
        last = stamp


def test_the_counter_carries_into_the_milliseconds():
    clock = HybridClock(format_stamp(NOW, MAX_COUNTER), now_ms=lambda: NOW)
    assert clock.now() == format_stamp(NOW + 1, 0)
    assert clock.observe(format_stamp(NOW + 1, MAX_COUNTER)) == format_stamp(NOW + 2, 0)


def test_a_stamp_beyond_the_drift_bound_is_not_believed():
    clock = HybridClock(format_stamp(NOW, 0), now_ms=lambda: NOW, max_drift_ms=DAY)
    assert parse_stamp(clock.observe(POISON))[0] == NOW
    assert too_far_ahead(POISON, NOW) and not too_far_ahead(format_stamp(NOW + DAY, 0), NOW)


def _hub(tmp_path):
    roster = tmp_path / "roster.db"
    build_roster(roster)
    store = SqliteHubStore(tmp_path / "hub.db")
    src = open_database(roster).conn
    for batch in seed_ops(src):
        store.ingest(None, batch)
    src.close()
    return store


def _laptop(tmp_path, name):
    from db.context import WriteContext

    database = open_database(tmp_path / f"{name}.db")
    return database, WriteContext.open(database.conn)


def test_a_poisoned_push_is_refused_alone_and_the_district_keeps_syncing(tmp_path):
    store = _hub(tmp_path)
    try:
        with hub_thread(store) as url:
            bad_db, bad = _laptop(tmp_path, "bad")
            enrol(bad, url, store.add_device("bad", None, role="office"))
            run_sync(bad)
            hid = bad.conn.execute("SELECT id FROM households ORDER BY id").fetchone()[0]
            good_op = Op(
                op_id="good-1",
                hlc=bad.clock.now(),
                entity="household",
                entity_id=hid,
                kind="update",
                payload={"note": "准时"},
                schema_version=5,
                device_id=bad.device_id,
            )
            poisoned = Op(
                op_id="bad-1",
                hlc=POISON,
                entity="household",
                entity_id=hid,
                kind="update",
                payload={"note": "来自未来"},
                schema_version=5,
                device_id=bad.device_id,
            )
            device = next(d for d in store.list_devices() if d.name == "bad")
            result = store.ingest(device, [poisoned, good_op])
            assert [(r.op_id, r.code) for r in result.refused] == [("bad-1", "clock_ahead")]
            assert result.acked == ["good-1"]
            assert store.observe(None) < "002"  # the hub's clock was not dragged ahead
            # a laptop enrolled afterwards syncs, and its clock stays in this century
            late_db, late = _laptop(tmp_path, "late")
            enrol(late, url, store.add_device("late", None, role="office"))
            report = run_sync(late)
            assert report.pulled > 0 and late.clock.last < "002"
            for d in (bad_db, late_db):
                d.close()
    finally:
        store.close()


def test_a_hub_whose_log_holds_a_poisoned_stamp_starts_its_clock_below_it(tmp_path):
    store = _hub(tmp_path)
    with transaction(store.conn):
        store.conn.execute(
            "INSERT INTO hub_ops(op_id, hlc, entity, entity_id, kind, payload, schema_version,"
            " device_id, received_at) VALUES ('old-poison', ?, 'feedback', 'f1', 'insert',"
            " '{}', 5, 'somewhere', '2026-01-01')",
            (POISON,),
        )
    store.close()
    store = SqliteHubStore(tmp_path / "hub.db")
    try:
        assert store.observe(None) < "002"
    finally:
        store.close()


def test_a_laptop_is_told_when_its_clock_is_far_from_the_hubs():
    from kiosk.sync.client import clock_skew_hours

    hub = format_stamp(NOW, 3)
    assert clock_skew_hours(hub, NOW + 3 * DAY) == 72.0
    assert clock_skew_hours(hub, NOW - 2 * DAY) == -48.0
    assert clock_skew_hours(hub, NOW + DAY // 2) == 0.0


def test_kiosk_hub_clock_finds_and_repairs_a_poisoned_log(tmp_path, kiosk):
    import json

    store = _hub(tmp_path)
    with transaction(store.conn):
        store.conn.execute(
            "INSERT INTO hub_ops(op_id, hlc, entity, entity_id, kind, payload, schema_version,"
            " device_id, received_at) VALUES ('old-poison', ?, 'feedback', 'f1', 'insert',"
            " '{}', 5, 'somewhere', '2026-11-30T08:15:00+00:00')",
            (POISON,),
        )
    store.close()
    db = str(tmp_path / "hub.db")
    found = kiosk("hub", "clock", "--db", db, "--lang", "en")
    assert found.returncode == 0, found.stderr
    assert "1 changes are stamped more than 24 hours ahead" in found.stdout + found.stderr
    assert "kiosk hub clock --repair" in found.stdout + found.stderr
    fixed = json.loads(kiosk("hub", "clock", "--repair", "--db", db, "--json").stdout)
    assert (fixed["far"], fixed["repaired"]) == (1, 1)
    assert fixed["hub_clock"] < "002"
    after = kiosk("hub", "clock", "--db", db)
    assert after.returncode == 0 and "无需修复" in after.stdout + after.stderr
    conn = open_database(tmp_path / "hub.db").conn
    stamp = conn.execute("SELECT hlc FROM hub_ops WHERE op_id = 'old-poison'").fetchone()[0]
    assert parse_stamp(stamp)[0] == 1_796_026_500_000  # 2026-11-30 08:15 UTC, when it came


def test_the_hubs_bound_is_exact_on_either_side_and_for_stamps_of_another_form(tmp_path):
    """The bound is compared as stamp text (renewed each second); a stamp of another form
    (an operation built in the hub's own process, never checked by the wire format) is read
    as a number instead."""
    import time

    from kiosk.hub.store.sqlite import SqliteHubStore
    from kiosk.sync.protocol import Op

    store = SqliteHubStore(tmp_path / "hub.db")
    store.set_max_drift(1)
    now = int(time.time() * 1000)

    def op(hlc: str) -> Op:
        return Op(op_id="o", hlc=hlc, entity="household", entity_id="h", kind="update",
                  payload={}, schema_version=5, device_id="d")  # fmt: skip

    try:
        for hlc, ahead in (
            (f"{now + 2 * 3600_000:015d}.00000", True),
            (f"{now + 1800_000:015d}.00000", False),
            (f"{now + 10 * 365 * 86400_000:015d}.00000", True),  # ten years ahead
            (f"{now + 2 * 3600_000}.7", True),  # another form, read as a number
            ("123.5", False),
        ):
            refused = store._clock_check(op(hlc))
            assert (refused is not None and refused.code == "clock_ahead") == ahead, hlc
    finally:
        store.close()


def test_a_push_is_bounded_at_once_only_when_every_stamp_is_whole_and_within(tmp_path):
    """The hub checks a push's stamps together (one pattern, their maximum) and falls back to
    one by one when any is ahead or of another form: a stamp far ahead hidden in a push of
    good ones, spelled with more digits, or joined to a good one by a line break, is still
    refused, alone."""
    import time

    from kiosk.hub.store.sqlite import SqliteHubStore
    from kiosk.sync.protocol import Op

    store = SqliteHubStore(tmp_path / "hub.db")
    store.set_max_drift(1)
    now = int(time.time() * 1000)
    good = f"{now:015d}.00000"
    far = f"{now + 48 * 3600_000:015d}.00000"
    for hidden in (far, f"00{far}", f"{good}\n{far}", f"{now + 48 * 3600_000}.7"):
        ops = [
            Op(op_id=f"o{i}", hlc=hidden if i == 3 else good, entity="household",
               entity_id="h", kind="update", payload={}, schema_version=5, device_id="d")
            for i in range(6)
        ]  # fmt: skip
        checks = store._checks_for(ops)
        assert store._clock_check in checks, repr(hidden)
        refused = [op.op_id for op in ops for c in checks if c(op, 2) is not None]
        assert refused == ["o3"], repr(hidden)
    ops = [Op(op_id="o", hlc=good, entity="household", entity_id="h", kind="update",
              payload={}, schema_version=5, device_id="d")] * 3  # fmt: skip
    assert store._clock_check not in store._checks_for(ops)  # a sound push: checked at once
    store.close()

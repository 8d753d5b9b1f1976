"""Labels in the database: creation, reprint (generation, retirement), print-run planning,
case slips, the outbox, replication registry."""

from __future__ import annotations

import json

import pytest

from db.connection import transaction
from db.labels import (
    LABEL_COLUMNS,
    active_household_label,
    commit_planned,
    ensure_case_slip,
    ensure_household_label,
    household_labels,
    plan_household_labels,
    reprint_household_label,
)
from db.replication import ENTITIES
from kiosk.core.errors import UserError
from kiosk.qr.lookup import LabelNotFound, resolve_text
from kiosk.qr.payload import make
from tests.conftest import SUPERVISOR, acting_as


@pytest.fixture
def runtime(runtime):
    """The community's supervisor sets the scene: cases and visits in both demo grids."""
    with acting_as(runtime, SUPERVISOR):
        yield runtime


def _hids(conn, n=3):
    return [r[0] for r in conn.execute("SELECT id FROM households ORDER BY rid LIMIT ?", (n,))]


def _ops(conn, kind=None):
    sql = "SELECT kind, payload, base_version FROM outbox WHERE entity = 'label'"
    rows = conn.execute(
        sql + (" AND kind = ?" if kind else "") + " ORDER BY seq", (kind,) if kind else ()
    ).fetchall()
    return [(r[0], json.loads(r[1]), r[2]) for r in rows]


def test_label_entity_is_registered():
    assert ENTITIES["label"].table == "labels"
    assert ENTITIES["label"].policy == "lww"


def test_first_label_is_created_once_and_logged(runtime):
    conn, ctx = runtime.conn, runtime.ctx
    hid = _hids(conn, 1)[0]
    with transaction(conn):
        first = ensure_household_label(ctx, hid)
    with transaction(conn):
        again = ensure_household_label(ctx, hid)
    assert first == again and first.generation == 1 and first.active
    ops = _ops(conn)
    assert len(ops) == 1
    kind, payload, _ = ops[0]
    assert kind == "insert" and set(payload) == set(LABEL_COLUMNS)
    assert payload["code"] == first.code and payload["household_id"] == hid
    # the payload is random and carries nothing about the household
    text = make("HH", first.code).text
    assert hid not in text and len(text) == 17


def test_reprint_bumps_generation_and_retires_previous(runtime):
    conn, ctx = runtime.conn, runtime.ctx
    hid = _hids(conn, 1)[0]
    with transaction(conn):
        first = ensure_household_label(ctx, hid)
    with transaction(conn):
        second = reprint_household_label(ctx, hid)
    assert second.generation == 2 and second.code != first.code
    assert active_household_label(conn, hid) == second
    history = household_labels(conn, hid)
    assert [lb.generation for lb in history] == [2, 1]
    assert history[1].retired_at is not None
    updates = _ops(conn, "update")
    assert len(updates) == 1
    assert set(updates[0][1]) == {"retired_at"} and updates[0][2] == first.hlc
    with pytest.raises(LabelNotFound) as err:
        resolve_text(conn, make("HH", first.code).readable)
    assert err.value.key == "qr.retired"
    assert resolve_text(conn, make("HH", second.code).text).household.id == hid


def test_unknown_household_is_refused_and_nothing_written(runtime):
    conn, ctx = runtime.conn, runtime.ctx
    before = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    with pytest.raises(KeyError), transaction(conn):
        ensure_household_label(ctx, "no-such-household")
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == before
    assert conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 0


def test_plan_writes_nothing_until_committed(runtime):
    conn, ctx = runtime.conn, runtime.ctx
    hids = _hids(conn, 5)
    with transaction(conn):
        kept = ensure_household_label(ctx, hids[0])
    plans = plan_household_labels(conn, hids)
    assert conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 1
    assert plans[0].existing and plans[0].code == kept.code
    assert all(not p.existing and p.generation == 1 for p in plans[1:])
    assert len({p.code for p in plans}) == 5
    with transaction(conn):
        assert commit_planned(ctx, plans) == 4
    assert {active_household_label(conn, h).code for h in hids} == {p.code for p in plans}
    # a reprint run: new codes for everyone, old ones retired
    again = plan_household_labels(conn, hids, reprint=True)
    assert all(not p.existing and p.generation == 2 for p in again)
    with transaction(conn):
        commit_planned(ctx, again, reprint=True)
    assert conn.execute("SELECT count(*) FROM labels WHERE retired_at IS NULL").fetchone()[0] == 5
    assert (
        conn.execute("SELECT count(*) FROM labels WHERE retired_at IS NOT NULL").fetchone()[0] == 5
    )


def test_case_slip_code_is_stable(runtime):
    conn, ctx = runtime.conn, runtime.ctx
    case_id = conn.execute("SELECT id FROM cases LIMIT 1").fetchone()[0]
    with transaction(conn):
        slip = ensure_case_slip(ctx, case_id)
    with transaction(conn):
        assert ensure_case_slip(ctx, case_id) == slip
    result = resolve_text(conn, make("CS", slip.code).readable.lower())
    assert result.case_id == case_id and result.case["number"]
    assert result.household is not None


def test_lookup_reports_each_problem(runtime):
    conn = runtime.conn
    with pytest.raises(UserError) as err:
        resolve_text(conn, "HH1:0000-0000-0000-0")
    assert err.value.key == "qr.not_found"
    with pytest.raises(UserError) as err:
        resolve_text(conn, "HH1:0000-0000-0000-1")
    assert err.value.key == "qr.invalid.check"
    assert conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 0


def test_labels_replicate_through_the_sync_merge(runtime, tmp_path):
    """A label printed, then reprinted, on one laptop arrives on another as the same rows; two
    laptops reprinting the same household apart both keep their new label (docs/qr.md)."""
    from db.connection import connect
    from db.context import WriteContext
    from db.sync import apply_ops, outbox_batch

    conn, ctx = runtime.conn, runtime.ctx
    other_path = tmp_path / "other.db"
    other = connect(other_path)
    conn.backup(other)
    other_ctx = WriteContext.open(other, ctx.worker_id)
    hid = _hids(conn, 1)[0]
    with transaction(conn):
        first = ensure_household_label(ctx, hid)
    with transaction(conn):
        second = reprint_household_label(ctx, hid)
    with transaction(other):
        result = apply_ops(other, outbox_batch(conn, 100))
    assert result.failed == 0 and result.applied >= 3
    assert active_household_label(other, hid).code == second.code
    assert [(lb.code, lb.active) for lb in household_labels(other, hid)] == [
        (second.code, True),
        (first.code, False),
    ]
    # apart: both reprint the household, then exchange
    seen = outbox_batch(conn, 1000)[-1]["seq"]
    seen_other = outbox_batch(other, 1000)[-1]["seq"] if outbox_batch(other, 1000) else 0
    with transaction(conn):
        here = reprint_household_label(ctx, hid)
    with transaction(other):
        there = reprint_household_label(other_ctx, hid)
    with transaction(other):
        apply_ops(other, outbox_batch(conn, 100, after_seq=seen))
    with transaction(conn):
        apply_ops(conn, outbox_batch(other, 100, after_seq=seen_other))
    for c in (conn, other):
        active = {lb.code for lb in household_labels(c, hid) if lb.active}
        assert active == {here.code, there.code}
        assert resolve_text(c, make("HH", here.code).text).household.id == hid
        assert resolve_text(c, make("HH", there.code).text).household.id == hid
    other.close()

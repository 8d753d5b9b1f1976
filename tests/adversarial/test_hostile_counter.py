"""The resident self-service counter's identity and device, held to their two records: a
resident's rating of a resolved case of their community, and an anonymous suggestion.
Everything else (assigning or closing a case, a rating in another community, a household
edit, a worker's rating passed off as the resident's) is refused on the counter itself
(kiosk/security/roles.py guard_write) and at the hub (kiosk/hub/scope.py), which never
trusts what the counter claims."""

from __future__ import annotations

import json
import sqlite3

import msgspec
import pytest

from db.cases import append_event, register_case
from db.connection import open_database, transaction
from db.feedback import FeedbackInput, save_feedback
from db.households import update_household
from db.workers import create_worker
from kiosk.core.errors import UserError
from kiosk.hub.store.sqlite import SqliteHubStore
from kiosk.qr.resident import rate
from kiosk.security.roles import RESIDENT_SOURCE
from kiosk.sync.protocol import Op
from kiosk.sync.seed import seed_ops
from tests.conftest import SUPERVISOR, acting_as
from tests.pg import build_roster

HLC = "001795000000000.00000"


# --- on the counter: the write guard ----------------------------------------------------------
def _grid(conn, code):
    return conn.execute("SELECT id, community FROM grids WHERE code = ?", (code,)).fetchone()


def _resolved_case(runtime, grid_code: str, upto: str = "resolve") -> str:
    """A case of ``grid_code`` the supervisor registered, then (``upto``) assigned, resolved
    and rated."""
    conn = runtime.conn
    gid = _grid(conn, grid_code)[0]
    hid = conn.execute("SELECT id FROM households WHERE grid_id = ? LIMIT 1", (gid,)).fetchone()[0]
    steps = [
        ("assign", {"department": "物业", "due": "2099-01-01"}),
        ("resolve", {"note": "已修"}),
        ("rate", {"rating": "satisfied"}),
    ]
    with acting_as(runtime, SUPERVISOR), transaction(conn):
        cid = register_case(
            runtime.ctx, household_ids=[hid], category="street_lights", summary="路灯坏"
        )
        for step, data in steps[: ["register", "assign", "resolve", "rate"].index(upto)]:
            append_event(runtime.ctx, cid, step, data)
    return cid


@pytest.fixture
def counter(runtime):
    """The counter identity of G001's community, made by the administrator."""
    community = _grid(runtime.conn, "G001")[1]
    with acting_as(runtime, "演示管理员"), transaction(runtime.conn):
        worker = create_worker(runtime.ctx, "一号柜台", "kiosk", community=community)
    return worker


def _as_counter(runtime, counter, fn):
    before = runtime.ctx.worker_id, runtime.ctx.verified
    runtime.ctx.worker_id, runtime.ctx.verified = counter.id, True
    try:
        with transaction(runtime.conn):
            return fn(runtime.ctx)
    finally:
        runtime.ctx.worker_id, runtime.ctx.verified = before


@pytest.fixture
def elsewhere(runtime):
    """The counter of another community (the demo district has one: G001's is not theirs)."""
    with acting_as(runtime, "演示管理员"), transaction(runtime.conn):
        return create_worker(runtime.ctx, "别处柜台", "kiosk", community="别的社区")


def test_the_counter_may_rate_its_communitys_case_as_the_resident(runtime, counter):
    cid = _resolved_case(runtime, "G001")
    _as_counter(runtime, counter, lambda ctx: rate(ctx, cid, "dissatisfied", "灯还是不亮"))
    status = runtime.conn.execute(
        "SELECT status FROM case_state WHERE case_id = ?", (cid,)
    ).fetchone()[0]
    assert status == "in_progress"  # 不满意 reopens, as a worker's rating does
    data = json.loads(
        runtime.conn.execute(
            "SELECT data FROM case_events WHERE case_id = ? AND type = 'rate'", (cid,)
        ).fetchone()[0]
    )
    assert data == {"rating": "dissatisfied", "source": RESIDENT_SOURCE, "note": "灯还是不亮"}


@pytest.mark.parametrize(
    "upto, step, data",
    [
        ("register", "assign", {"department": "城管", "due": "2099-02-01"}),
        ("rate", "close", {}),
        ("resolve", "reopen", {}),
        ("assign", "progress", {"note": "x"}),
        ("resolve", "rate", {"rating": "satisfied"}),  # a rating not marked as the resident's
    ],
)
def test_the_counter_takes_no_other_case_step(runtime, counter, upto, step, data):
    cid = _resolved_case(runtime, "G001", upto)
    before = runtime.conn.execute("SELECT count(*) FROM case_events").fetchone()[0]
    with pytest.raises(UserError) as err:
        _as_counter(runtime, counter, lambda ctx: append_event(ctx, cid, step, data))
    assert err.value.key == "error.role_forbidden"
    assert runtime.conn.execute("SELECT count(*) FROM case_events").fetchone()[0] == before


def test_the_counter_rates_no_case_of_another_community(runtime, elsewhere):
    cid = _resolved_case(runtime, "G001")
    with pytest.raises(UserError) as err:
        _as_counter(runtime, elsewhere, lambda ctx: rate(ctx, cid, "satisfied"))
    assert err.value.key == "error.role_out_of_scope"


def test_the_counter_edits_no_household_and_opens_nothing(runtime, counter):
    from kiosk.security.roles import allowed

    gid = _grid(runtime.conn, "G001")[0]
    hid = runtime.conn.execute(
        "SELECT id FROM households WHERE grid_id = ? LIMIT 1", (gid,)
    ).fetchone()[0]
    with pytest.raises(UserError) as err:
        _as_counter(runtime, counter, lambda ctx: update_household(ctx, hid, note="x"))
    assert err.value.key == "error.role_forbidden"
    for action in ("household.view", "household.search", "case.assign", "export.masked"):
        assert not allowed(counter, action), action
    assert allowed(counter, "case.rate") and allowed(counter, "feedback.record")


def test_the_counter_leaves_feedback_in_its_community(runtime, counter, elsewhere):
    gid = _grid(runtime.conn, "G001")[0]
    fb = FeedbackInput("street_lights", "路灯太暗", anonymous=True, grid_id=gid)
    assert _as_counter(runtime, counter, lambda ctx: save_feedback(ctx, fb))
    with pytest.raises(UserError) as err:
        _as_counter(runtime, elsewhere, lambda ctx: save_feedback(ctx, fb))
    assert err.value.key == "error.role_out_of_scope"


# --- at the hub: the counter's device --------------------------------------------------------
G1, G2 = "g-one", "g-two"


class Hub:
    """A SQLite hub seeded with two grids in two communities, a case resolved in each (made
    by the office), a counter of G1's community and a field laptop of G1."""

    def __init__(self, tmp_path) -> None:
        roster = tmp_path / "roster.db"
        build_roster(roster)
        conn = sqlite3.connect(roster)
        conn.execute("UPDATE grids SET community = '别的社区' WHERE id = ?", (G2,))
        conn.commit()
        conn.close()
        self.store = SqliteHubStore(str(tmp_path / "hub.db"))
        src = open_database(roster).conn
        for batch in seed_ops(src):
            self.store.ingest(None, batch)
        src.close()
        self.n = 0
        self.office = office = self._device("office", None, "office")
        self.counter = self._device("counter", None, "counter", community="社区")
        self.field = self._device("field", ["G1"], "field")
        ops = []
        for gid in (G1, G2):
            cid = f"case-{gid}"
            ops.append(self.op(cid, "case", {"id": cid, "grid_id": gid, "category": "sewer"}))
            for step in ("register", "assign", "resolve"):
                ops.append(self.event(cid, step, {}))
        ops = [msgspec.structs.replace(o, device_id=office.device_id) for o in ops]
        assert not self.store.ingest(office, ops).refused

    def _device(self, name, grids, role, community=None):
        code = self.store.add_device(name, grids, role=role, community=community)
        return self.store.enrol(code, f"dev-{name}")[0]

    def op(self, entity_id, entity, payload, kind="insert") -> Op:
        self.n += 1
        return Op(
            op_id=f"op-{self.n}",
            hlc=HLC,
            entity=entity,
            entity_id=entity_id,
            kind=kind,
            payload=payload,
            schema_version=8,
            device_id="dev",
            worker_id=None,
        )

    def event(self, case_id, step, data) -> Op:
        eid = f"ev-{self.n + 1}"
        payload = {"id": eid, "case_id": case_id, "type": step, "data": json.dumps(data)}
        return self.op(eid, "case_event", payload)

    def refused(self, device, op) -> str | None:
        result = self.store.ingest(
            device, [msgspec.structs.replace(op, device_id=device.device_id)]
        )
        return result.refused[0].code if result.refused else None


@pytest.fixture
def hub(tmp_path):
    h = Hub(tmp_path)
    yield h
    h.store.close()


RESIDENT = {"rating": "dissatisfied", "source": RESIDENT_SOURCE}


def test_the_hub_takes_the_residents_rating_from_the_counter(hub):
    assert hub.refused(hub.counter, hub.event(f"case-{G1}", "rate", RESIDENT)) is None
    feedback = {"id": "fb-1", "grid_id": G1, "category": "lighting", "text": "暗", "anonymous": 1}
    assert hub.refused(hub.counter, hub.op("fb-1", "feedback", feedback)) is None


@pytest.mark.parametrize(
    "step, data",
    [
        ("assign", {"department": "城管", "due": "2099-02-01"}),
        ("close", {}),
        ("reopen", {}),
        ("rate", {"rating": "satisfied"}),
    ],
)
def test_the_hub_refuses_any_other_case_step_from_the_counter(hub, step, data):
    assert hub.refused(hub.counter, hub.event(f"case-{G1}", step, data)) == "counter"


def test_the_hub_refuses_the_counter_a_case_of_another_community(hub):
    assert hub.refused(hub.counter, hub.event(f"case-{G2}", "rate", RESIDENT)) == "out_of_scope"


def test_the_hub_refuses_the_counter_household_edits_and_named_feedback(hub):
    hid = hub.store._tx  # any G1 household the roster holds
    with hid(write=False) as cur:
        cur.execute(
            "SELECT entity_id FROM hub_scope WHERE entity = 'household' AND grid = ?", (G1,)
        )
        household = cur.fetchone()[0]
    edit = hub.op(household, "household", {"note": "x"}, kind="update")
    assert hub.refused(hub.counter, edit) == "counter"
    named = {"id": "fb-2", "grid_id": G1, "category": "lighting", "text": "暗", "raised_by": "张三"}
    assert hub.refused(hub.counter, hub.op("fb-2", "feedback", named)) == "counter"
    nowhere = {"id": "fb-3", "category": "lighting", "text": "暗", "anonymous": 1}
    assert hub.refused(hub.counter, hub.op("fb-3", "feedback", nowhere)) == "out_of_scope"


def test_no_laptop_passes_its_rating_off_as_the_residents(hub):
    assert hub.refused(hub.field, hub.event(f"case-{G1}", "rate", RESIDENT)) == "counter_only"


def test_the_counter_pulls_cases_never_households(hub):
    ops, cursor = [], None
    while True:
        page = hub.store.pull(hub.counter, cursor, 500)
        ops += page.ops
        cursor = page.cursor
        if not page.more:
            break
    entities = {o.entity for o in ops}
    assert {"case", "case_event", "grid"} <= entities
    assert not entities & {"household", "member", "compound", "visit", "feedback"}
    assert f"case-{G2}" not in {o.entity_id for o in ops}  # nor another community's cases

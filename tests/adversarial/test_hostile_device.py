"""A hostile laptop with a valid token, against a real hub on 127.0.0.1 (SQLite and
PostgreSQL): every bypass a hostile-laptop test once found, then hypothesis-drawn operations
(random entities, kinds, claimed grids and workers, ids of records in other grids, global
records, unknown ids). The property: the hub never stores an operation outside the device's
grids or role, whatever its payload claims; a laptop of another grid never receives one; a
laptop of the device's own grid applies only what lies in that grid.

The ground truth is the roster the hub was seeded with: each record's true grid, known to
the test, not read back from the hub.
"""

from __future__ import annotations

import itertools
import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.connection import open_database
from db.replication import ENTITIES
from kiosk.hub.store.sqlite import SqliteHubStore
from kiosk.sync.protocol import Op
from kiosk.sync.seed import seed_ops
from tests.pg import build_roster, hub_thread

G1, G2 = "g-one", "g-two"
HLC = "001795000000000.00000"
_serial = itertools.count(1)


class World:
    """A seeded hub with a hostile G1 laptop, an honest G2 laptop and an office PC, and
    what the test knows to be true of every record."""

    def __init__(self, store, url: str, roster) -> None:
        self.store, self.url = store, url
        conn = open_database(roster).conn
        self.truth: dict[tuple[str, str], str | None] = {("grid", G1): G1, ("grid", G2): G2}
        for cid, gid in conn.execute("SELECT id, grid_id FROM compounds"):
            self.truth[("compound", cid)] = gid
        for hid, gid in conn.execute("SELECT id, grid_id FROM households"):
            self.truth[("household", hid)] = gid
        for mid, gid in conn.execute(
            "SELECT m.id, h.grid_id FROM members m JOIN households h ON h.id = m.household_id"
        ):
            self.truth[("member", mid)] = gid
        for batch in seed_ops(conn):
            store.ingest(None, batch)
        conn.close()
        self.hostile, self.token = self._device("hostile", "dev-hostile", ["G1"], "field")
        self.other, self.other_token = self._device("honest-g2", "dev-g2", ["G2"], "field")
        self.office, _ = self._device("office", "dev-office", None, "office")
        # A case and a questionnaire the office made: one in G2, one global.
        h2 = self.of(G2, "household")[0]
        office_ops = [
            self._op(
                "dev-office",
                "case-g2",
                "case",
                "insert",
                {"id": "case-g2", "grid_id": G2, "summary": "漏雨", "category": "roof_leak"},
            ),
            self._op(
                "dev-office",
                "ch-g2",
                "case_household",
                "insert",
                {"id": "ch-g2", "case_id": "case-g2", "household_id": h2},
            ),
            self._op(
                "dev-office",
                "survey-1",
                "survey",
                "insert",
                {"id": "survey-1", "name": "s", "title": "满意度", "version": "1"},
            ),
            # feedback of G2 and of the whole community (an office may make both)
            self._op(
                "dev-office",
                "fb-g2",
                "feedback",
                "insert",
                {"id": "fb-g2", "grid_id": G2, "category": "parking", "text": "乱停车"},
            ),
            self._op(
                "dev-office",
                "fb-all",
                "feedback",
                "insert",
                {"id": "fb-all", "category": "lighting", "text": "路灯不亮"},
            ),
        ]
        assert not store.ingest(self.office, office_ops).refused
        self.truth.update(
            {
                ("case", "case-g2"): G2,
                ("case_household", "ch-g2"): G2,
                ("survey", "survey-1"): None,
                ("feedback", "fb-g2"): G2,
                ("feedback", "fb-all"): None,
            }
        )
        self.g2_cursor = self._pull_all(self.other)[1]

    def _device(self, name, device_id, grids, role):
        device, token = self.store.enrol(self.store.add_device(name, grids, role=role), device_id)
        return device, token

    def _op(self, device_id, entity_id, entity, kind, payload, worker_id=None) -> Op:
        return Op(
            op_id=f"op-{next(_serial)}",
            hlc=HLC,
            entity=entity,
            entity_id=entity_id,
            kind=kind,
            payload=payload,
            schema_version=8,
            device_id=device_id,
            worker_id=worker_id,
        )

    def of(self, grid, entity) -> list[str]:
        return sorted(i for (e, i), g in self.truth.items() if e == entity and g == grid)

    def push(self, ops: list[Op]) -> dict:
        """POST the operations as the hostile laptop does: the real HTTP interface."""
        body = {
            "device_id": "dev-hostile",
            "schema": 8,
            "ops": [json.loads(json.dumps(_wire(o))) for o in ops],
        }
        r = httpx.post(
            self.url + "/v1/push",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return r.json()

    def _pull_all(self, device, cursor=None):
        ops = []
        while True:
            page = self.store.pull(device, cursor, 500)
            ops += page.ops
            cursor = page.cursor
            if not page.more:
                return ops, cursor

    # --- the property ---------------------------------------------------------------------
    def check(self) -> None:
        """Every operation the hub holds from the hostile laptop touches and names only
        records of G1 (or global ones where a field laptop may make them); nothing of G2
        moved; the G2 laptop receives none of it."""
        with self.store._tx(write=False) as cur:
            cur.execute(
                self.store._q(
                    "SELECT entity, entity_id, kind, payload, grid FROM hub_ops"
                    " WHERE device_id = 'dev-hostile' ORDER BY seq"
                )
            )
            rows = cur.fetchall()
        truth = dict(self.truth)
        for entity, entity_id, kind, text, grid in rows:
            payload = json.loads(text)
            ent = ENTITIES[entity]
            assert ent.managed == "grid", (entity, "a field laptop changed a managed entity")
            named = [
                (t, payload[f])
                for f, t in ent.refs
                if isinstance(payload.get(f), str) and payload[f]
            ]
            for target, value in named:
                assert (target, value) in truth, (entity, target, "names an unknown record")
                assert truth[(target, value)] in (G1, None), (entity, target, value, "in G2")
            if kind == "update":
                assert truth.get((entity, entity_id)) == G1, (entity, entity_id, "not G1")
            else:
                owner = next((truth[k] for k in named), None)
                truth.setdefault((entity, entity_id), owner)
                assert owner == G1 or (owner is None and ent.global_ok), (entity, owner)
            assert grid == truth[(entity, entity_id)] or grid == G1
        for key, grid in self.truth.items():
            if grid == G2:
                assert self._hub_grid(key) == G2, (key, "moved out of G2")
        got, self.g2_cursor = self._pull_all(self.other, self.g2_cursor)
        assert not [o for o in got if o.device_id == "dev-hostile"]

    def _hub_grid(self, key):
        with self.store._tx(write=False) as cur:
            cur.execute(
                self.store._q("SELECT grid FROM hub_scope WHERE entity = ? AND entity_id = ?"), key
            )
            row = cur.fetchone()
        return row[0] if row else None


def _wire(op: Op) -> dict:
    return {
        k: v
        for k, v in {
            "op_id": op.op_id,
            "hlc": op.hlc,
            "entity": op.entity,
            "entity_id": op.entity_id,
            "kind": op.kind,
            "payload": op.payload,
            "schema_version": op.schema_version,
            "device_id": op.device_id,
            "worker_id": op.worker_id,
        }.items()
        if v is not None
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, tmp_path):
    if request.param == "sqlite":
        store = SqliteHubStore(tmp_path / "hub.db")
    else:
        from kiosk.hub.store.postgres import PostgresHubStore

        store = PostgresHubStore(request.getfixturevalue("pg_server").new_database())
    roster = tmp_path / "roster.db"
    build_roster(roster)
    with hub_thread(store) as url:
        yield World(store, url, roster)
    store.close()


def test_every_known_bypass_is_refused(world):
    w = world
    h1, h2 = w.of(G1, "household")[0], w.of(G2, "household")[0]
    m1, m2 = w.of(G1, "member")[0], w.of(G2, "member")[0]
    c2 = w.of(G2, "compound")[0]

    def op(entity_id, entity, kind, payload, **kw):
        return w._op(
            kw.get("device", "dev-hostile"), entity_id, entity, kind, payload, kw.get("worker")
        )

    attacks = {
        "member on a G2 household claiming G1": op(
            "m-x",
            "member",
            "insert",
            {"id": "m-x", "household_id": h2, "grid_id": G1, "name": "假人"},
        ),
        "visit on a G2 household claiming G1": op(
            "v-x", "visit", "insert", {"id": "v-x", "household_id": h2, "grid_id": G1}
        ),
        "visit on a G1 household claiming G2": op(
            "v-y", "visit", "insert", {"id": "v-y", "household_id": h1, "grid_id": G2}
        ),
        "case event naming a global record first": op(
            "e-x",
            "case_event",
            "insert",
            {"survey_id": "survey-1", "case_id": "case-g2", "type": "progress"},
        ),
        "assign of a G2 case to the device's own person": op(
            "e-y",
            "case_event",
            "insert",
            {
                "id": "e-y",
                "case_id": "case-g2",
                "type": "assign",
                "data": '{"person": "演示网格员"}',
            },
        ),
        "member moved into a G2 household": op(m1, "member", "update", {"household_id": h2}),
        "G2 member edited": op(m2, "member", "update", {"phone": "13900000000"}),
        "worker promoted to administrator": op(
            "w-x", "worker", "update", {"role": "admin"}, worker="w-admin"
        ),
        "new worker": op("w-new", "worker", "insert", {"id": "w-new", "role": "admin"}),
        "new grid": op("g-x", "grid", "insert", {"id": "g-x", "code": "GX"}),
        "household in G2": op(
            "h-x", "household", "insert", {"id": "h-x", "grid_id": G2, "compound_id": c2}
        ),
        "G1 household into a G2 compound": op(h1, "household", "update", {"compound_id": c2}),
        "G1 household moved to G2": op(h1, "household", "update", {"grid_id": G2}),
        "compound in G2": op("c-x", "compound", "insert", {"id": "c-x", "grid_id": G2}),
        "label on a G2 household": op(
            "l-x", "label", "insert", {"id": "l-x", "kind": "HH", "household_id": h2}
        ),
        "G2 household linked to a G1 case": op(
            "ch-x",
            "case_household",
            "insert",
            {"id": "ch-x", "case_id": "case-g2", "household_id": h1},
        ),
        "questionnaire from a field laptop": op("s-x", "survey", "insert", {"id": "s-x"}),
        "a community's department from a field laptop": op(
            "d-x", "department", "insert", {"id": "d-x", "community": "新伟社区", "name": "假单位"}
        ),
        "G2 household marked empty": op(h2, "household", "update", {"status": "vacant"}),
        "G2 member marked deceased": op(
            m2, "member", "update", {"status": "deceased", "left_on": "2026-12-01"}
        ),
        "feedback belonging to no grid": op("f-x", "feedback", "insert", {"id": "f-x"}),
        "photo on a G2 case": op(
            "p-x",
            "photo",
            "insert",
            {"id": "p-x", "case_id": "case-g2", "event_id": "e-none", "sha256": "0" * 64},
        ),
        "photo on no case at all": op("p-y", "photo", "insert", {"id": "p-y", "sha256": "0" * 64}),
        "photo on a G2 feedback": op(
            "fp-x",
            "feedback_photo",
            "insert",
            {"id": "fp-x", "feedback_id": "fb-g2", "sha256": "0" * 64},
        ),
        "photo on the whole community's feedback from a field laptop": op(
            "fp-y",
            "feedback_photo",
            "insert",
            {"id": "fp-y", "feedback_id": "fb-all", "sha256": "0" * 64},
        ),
        "feedback photo naming no feedback": op(
            "fp-z", "feedback_photo", "insert", {"id": "fp-z", "sha256": "0" * 64}
        ),
        "feedback photo naming a G2 case as its feedback": op(
            "fp-w",
            "feedback_photo",
            "insert",
            {"id": "fp-w", "feedback_id": "case-g2", "sha256": "0" * 64},
        ),
        "an immutable record changed": op(
            "ch-g2", "case_household", "update", {"household_id": h1}
        ),
        "a delete": op(h2, "household", "delete", {}),
        "another device's operation": op(h1, "household", "update", {"note": "x"}, device="dev-g2"),
        "an entity the hub does not know": op("z-x", "zebra", "insert", {"id": "z-x"}),
        "an update of a record the hub does not hold": op(
            "nobody", "household", "update", {"note": "x"}
        ),
    }
    answer = w.push(list(attacks.values()))
    refused = {r["index"] for r in answer["refused"]}
    assert refused == set(range(len(attacks))), [
        name for i, name in enumerate(attacks) if i not in refused
    ]
    assert answer["acked"] == [], answer
    w.check()
    # What a G1 laptop may do, it may still do, in the same batch as an attack.
    answer = w.push(
        [
            op(h1, "household", "update", {"note": "门口有狗"}),
            op("m-ok", "member", "insert", {"id": "m-ok", "household_id": h1, "name": "新成员"}),
            op(m2, "member", "update", {"phone": "13900000000"}),
            op("fb-1", "feedback", "insert", {"id": "fb-1", "grid_id": G1, "text": "x"}),
            op(
                "fp-ok",
                "feedback_photo",
                "insert",
                {"id": "fp-ok", "feedback_id": "fb-1", "sha256": "1" * 64},
            ),
        ]
    )
    assert len(answer["acked"]) == 4 and [r["index"] for r in answer["refused"]] == [2]
    w.check()


# --- hypothesis: anything a hostile laptop might send -----------------------------------------
def _ids(w: World) -> list[str]:
    return sorted({i for (_, i) in w.truth} | {"nobody", "case-g2", "survey-1", "fb-g2", ""})


@st.composite
def hostile_ops(draw, w: World):
    entity = draw(st.sampled_from([*ENTITIES, "zebra"]))
    ent = ENTITIES.get(entity)
    ids = _ids(w)
    kind = draw(st.sampled_from(["insert", "append", "update", "delete"]))
    entity_id = draw(st.sampled_from(ids) | st.text("abcdef-", min_size=1, max_size=8))
    fields = [f for f, _ in ent.refs] if ent else []
    fields += ["grid_id", "household_id", "case_id", "visit_id", "survey_id", "compound_id"]
    payload = draw(
        st.dictionaries(
            st.sampled_from(fields), st.sampled_from(ids) | st.sampled_from([G1, G2]), max_size=4
        )
    )
    if draw(st.booleans()):
        payload["note"] = draw(st.text(max_size=20))
    worker = draw(st.none() | st.sampled_from(["w-admin", "w-grid", "nobody"]))
    device = draw(st.sampled_from(["dev-hostile"] * 5 + ["dev-g2", "dev-office"]))
    return w._op(device, entity_id or "x", entity, kind, payload, worker)


def test_hypothesis_drawn_operations_never_leave_the_devices_grid(world):
    w = world

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(hostile_ops(w), min_size=1, max_size=12))
    def attack(ops):
        w.push(ops)
        w.check()

    attack()

"""A street office's PC (an office device enrolled for its street) against the hub, SQLite and
PostgreSQL: it receives its street's grids only, and what it writes into another street's
grid is refused, whatever the payload claims. Written before the street scope was."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from kiosk.hub.store.base import HubError
from kiosk.hub.store.sqlite import SqliteHubStore
from kiosk.sync.protocol import Op
from kiosk.sync.seed import seed_ops
from tests.pg import build_roster

HLC = "001795000000000.00000"
_serial = itertools.count(1)
HOME, OTHER = "街道", "东风街道"


def _op(device_id, entity_id, entity, kind, payload) -> Op:
    return Op(
        op_id=f"op-street-{next(_serial)}",
        hlc=HLC,
        entity=entity,
        entity_id=entity_id,
        kind=kind,
        payload=payload,
        schema_version=8,
        device_id=device_id,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        hub = SqliteHubStore(tmp_path / "hub.db")
    else:
        from kiosk.hub.store.postgres import PostgresHubStore

        hub = PostgresHubStore(request.getfixturevalue("pg_server").new_database())
    roster = tmp_path / "roster.db"
    build_roster(roster)
    conn = sqlite3.connect(roster)
    conn.execute("UPDATE grids SET street = ? WHERE code = 'G2'", (OTHER,))
    conn.commit()
    conn.close()
    from db.connection import open_database

    db = open_database(roster)
    for batch in seed_ops(db.conn):
        hub.ingest(None, batch)
    db.close()
    yield hub
    hub.close()


def _pull_all(store, device):
    ops, cursor = [], None
    while True:
        page = store.pull(device, cursor, 500)
        ops += page.ops
        cursor = page.cursor
        if not page.more:
            return ops


def _grid_of(store, entity, entity_id):
    with store._tx(write=False) as cur:
        cur.execute(
            store._q("SELECT grid FROM hub_scope WHERE entity = ? AND entity_id = ?"),
            (entity, entity_id),
        )
        row = cur.fetchone()
    return row[0] if row else None


def test_a_street_office_reaches_its_street_and_nothing_else(store):
    device, _ = store.enrol(store.add_device("街道办", None, role="office", street=HOME), "dev-st")
    got = _pull_all(store, device)
    grids = {o.entity_id for o in got if o.entity == "grid"}
    assert grids == {"g-one"}
    assert all(o.payload.get("grid_id") in (None, "g-one") for o in got)

    home_household = next(o.entity_id for o in got if o.entity == "household")
    other_household = "h-other-street"
    refused = store.ingest(
        device,
        [
            # a new household in the other street's grid
            _op(
                "dev-st",
                other_household,
                "household",
                "insert",
                {
                    "id": other_household,
                    "grid_id": "g-two",
                    "compound_id": "c-g-two",
                    "building": "9",
                    "unit": "1",
                    "room": "101",
                },
            ),
            # its own household moved into the other street
            _op("dev-st", home_household, "household", "update", {"grid_id": "g-two"}),
            # a grid record of the other street's, renamed
            _op("dev-st", "g-two", "grid", "update", {"name": "改名"}),
            # a case in its own street: accepted
            _op(
                "dev-st",
                "case-home",
                "case",
                "insert",
                {"id": "case-home", "grid_id": "g-one", "summary": "漏雨", "category": "roof_leak"},
            ),
        ],
    ).refused
    assert [(r.index, r.code) for r in refused][:2] == [(0, "out_of_scope"), (1, "out_of_scope")]
    assert {r.index for r in refused} == {0, 1, 2}
    assert _grid_of(store, "household", other_household) is None
    assert _grid_of(store, "household", home_household) == "g-one"
    assert _grid_of(store, "case", "case-home") == "g-one"

    # The other street's office never receives this street's case.
    other, _ = store.enrol(
        store.add_device("东风街道办", None, role="office", street=OTHER), "dev-o"
    )
    assert not [o for o in _pull_all(store, other) if o.entity_id == "case-home"]


def test_a_device_names_one_reach(store):
    with pytest.raises(HubError) as err:
        store.add_device("两者", None, role="office", community="社区", street=HOME)
    assert err.value.code == "community_or_street"
    with pytest.raises(HubError) as err:
        store.add_device("手提", ["G1"], role="field", street=HOME)
    assert err.value.code == "community_for_office"
    assert store.add_device("街道办", None, role="office", street=HOME)
    assert store.set_device_scope("街道办", None, role="office", street=OTHER)
    assert store.device_by_name("街道办").street == OTHER

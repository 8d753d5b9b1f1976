"""The community's rule reaches every laptop: the supervisor requires a photo of the repair to
resolve the urban group's cases at the office; after a sync through a real hub the grid
worker's laptop refuses a resolution without one and takes it with one. A field laptop cannot
set the rule for the community (the hub would refuse the record from it): refused there."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import GRID_WORKER, SUPERVISOR
from tests.journeys.conftest import kiosk_as, sync
from tests.photo_helpers import write_phone_jpeg

#: The SQLite hub only: the PostgreSQL store's side of what this journey crosses is held by
#: its own tests (test_hub_store, tests/adversarial/, the journeys kept on both hubs), and
#: each journey run twice kept `make test` from its 15 minutes (docs/development.md).
ONE_HUB = pytest.mark.parametrize("hub", ["sqlite"], indirect=True)


def _q(path, sql, *args):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@ONE_HUB
def test_the_rule_set_at_the_office_holds_on_the_field_laptop(hub, demo_db, tmp_path):
    field, office = demo_db, tmp_path / "office.db"
    hub.enrol(field, "演示网格员的笔记本", "--grid", "G001")
    community = _q(field, "SELECT community FROM grids WHERE code = 'G001'")[0][0]
    hub.enrol(office, "社区办公室", "--community", community)
    sync(field)
    sync(office)

    out = kiosk_as(office, SUPERVISOR, "cases", "require-photo", "urban", "on")
    assert out.returncode == 0, out.stderr
    sync(office)
    sync(field)
    out = kiosk_as(field, GRID_WORKER, "cases", "require-photo", "--json")
    assert out.returncode == 0, out.stderr
    assert {g["code"] for g in json.loads(out.stdout)["groups"] if g["after_photo"]} == {"urban"}

    hid = _q(
        field,
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1",
    )[0][0]
    out = kiosk_as(
        field, GRID_WORKER, "cases", "add", "--household", hid, "--category", "sewer",
        "--summary", "下水堵", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    cid = json.loads(out.stdout)["id"]
    out = kiosk_as(field, GRID_WORKER, "cases", "act", cid, "resolve-on-spot", "--note", "已疏通")
    assert out.returncode == 3 and "城建城管执法" in out.stderr, out.stderr
    fixed = write_phone_jpeg(tmp_path / "IMG_3001.JPG")
    out = kiosk_as(
        field, GRID_WORKER, "cases", "act", cid, "resolve-on-spot", "--note", "已疏通",
        "--photo", str(fixed),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr

    # the supervisor on the field laptop: refused there (the hub takes the community's rules
    # only from its office), so the laptop never holds a rule of its own
    out = kiosk_as(field, SUPERVISOR, "cases", "require-photo", "livelihood", "on")
    assert out.returncode == 3 and "网格笔记本" in out.stderr, out.stderr
    assert _q(field, "SELECT category_group FROM case_rules WHERE after_photo = 1") == [("urban",)]

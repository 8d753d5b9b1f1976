"""The hub as a real subprocess (`kiosk hub serve` on 127.0.0.1) and real `kiosk` processes on
the laptops: enrolment, scoped sync, conflicts and their resolution, offline bundles, and
the hub's refusals (401, 403, 4xx, never a 500 or a partial apply)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from db import sync as dbsync
from db.connection import open_database, transaction
from db.context import WriteContext, get_meta
from db.households import update_household
from tests.conftest import ROOT
from tests.pg import build_roster, free_port, wait_listening


@pytest.fixture
def hub(tmp_path, kiosk):
    """A seeded hub store and a running `kiosk hub serve` process on it."""
    roster = tmp_path / "roster.db"
    build_roster(roster)
    store = tmp_path / "hub.db"
    out = kiosk("hub", "seed", "--db", str(store), "--from", str(roster), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["ops"] > 0
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli.main",
            "hub",
            "serve",
            "--db",
            str(store),
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_listening(proc)
        yield {"url": url, "db": str(store), "proc": proc}
    finally:
        proc.terminate()
        proc.wait(10)


def _add(kiosk, hub, name, *grids) -> str:
    args = ["hub", "devices", "add", name, "--db", hub["db"], "--json"]
    for g in grids:
        args += ["--grid", g]
    if not grids:
        args.append("--office")  # the community office's PC: every grid
    out = kiosk(*args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["code"]


def _laptop(kiosk, hub, tmp_path, name, *grids) -> Path:
    path = tmp_path / f"{name}.db"
    out = kiosk(
        "enrol",
        "--db",
        str(path),
        "--hub",
        hub["url"],
        "--code",
        _add(kiosk, hub, name, *grids),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["name"] == name
    return path


def _sync(kiosk, path) -> dict:
    out = kiosk("sync", "--db", str(path), "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _edit(path, household_id, **changes) -> None:
    db = open_database(path)
    try:
        with transaction(db.conn):
            update_household(WriteContext.open(db.conn), household_id, **changes)
    finally:
        db.close()


def _q(path, sql, *params):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_scoped_sync_and_conflict_resolution(kiosk, hub, tmp_path):
    alice = _laptop(kiosk, hub, tmp_path, "alice", "G1")
    sup = _laptop(kiosk, hub, tmp_path, "supervisor")  # no --grid: every grid

    first = _sync(kiosk, alice)
    assert first["pulled"] > 0 and first["pushed"] == 0
    _sync(kiosk, sup)
    # alice receives her grid only; the supervisor everything.
    assert {r[0] for r in _q(alice, "SELECT grid_id FROM households")} == {"g-one"}
    assert {r[0] for r in _q(sup, "SELECT grid_id FROM households")} == {"g-one", "g-two"}
    hid = _q(alice, "SELECT id FROM households ORDER BY id LIMIT 1")[0][0]

    # The same field edited on both laptops while offline.
    _edit(alice, hid, note="钥匙在邻居家")
    _edit(sup, hid, note="已联系社区医生")
    assert dbsync.pending_count(open_database(alice).conn) == 1
    assert _sync(kiosk, alice)["pushed"] == 1
    second = _sync(kiosk, sup)
    assert second == {**second, "pushed": 1, "pulled": 1, "conflicts": 1}
    _sync(kiosk, alice)
    notes = {_q(p, "SELECT note FROM households WHERE id = ?", hid)[0][0] for p in (alice, sup)}
    assert len(notes) == 1  # both replicas applied the same winner

    for path in (alice, sup):
        out = kiosk("sync", "conflicts", "--db", str(path), "--json")
        conflicts = json.loads(out.stdout)["conflicts"]
        assert len(conflicts) == 1 and conflicts[0]["entity_id"] == hid
        assert {conflicts[0]["mine"], conflicts[0]["theirs"]} == {"钥匙在邻居家", "已联系社区医生"}

    # alice keeps her value: a new edit that reaches the supervisor as a plain successor.
    cid = json.loads(kiosk("sync", "conflicts", "--db", str(alice), "--json").stdout)["conflicts"][
        0
    ]["id"]
    out = kiosk("sync", "resolve", str(cid), "mine", "--db", str(alice))
    assert out.returncode == 0, out.stderr
    _sync(kiosk, alice)
    assert _sync(kiosk, sup)["conflicts"] == 0
    for path in (alice, sup):
        assert _q(path, "SELECT note FROM households WHERE id = ?", hid)[0][0] == "钥匙在邻居家"
    assert json.loads(kiosk("sync", "conflicts", "--db", str(alice), "--json").stdout) == {
        "conflicts": []
    }

    # The hub keeps only hashes of device tokens.
    token = get_meta(open_database(alice).conn, dbsync.META_TOKEN)
    secret = token.split(".", 1)[1]
    assert secret.encode() not in Path(hub["db"]).read_bytes()
    assert (
        secret.encode() not in Path(hub["db"] + "-wal").read_bytes()
        if Path(hub["db"] + "-wal").exists()
        else True
    )
    devices = json.loads(kiosk("hub", "devices", "list", "--db", hub["db"], "--json").stdout)
    assert [(d["name"], d["grids"], d["revoked"]) for d in devices["devices"]] == [
        ("alice", ["G1"], False),
        ("supervisor", None, False),
    ]


def test_hub_refusals(kiosk, hub, tmp_path):
    alice = _laptop(kiosk, hub, tmp_path, "alice", "G1")
    _sync(kiosk, alice)
    token = get_meta(open_database(alice).conn, dbsync.META_TOKEN)
    device_id = token.split(".", 1)[0]
    url = hub["url"]
    auth = {"Authorization": f"Bearer {token}"}
    count = lambda: _q(hub["db"], "SELECT count(*) FROM hub_ops")[0][0]  # noqa: E731
    before = count()

    assert httpx.post(url + "/v1/pull", json={"schema": 5}).status_code == 401
    r = httpx.post(
        url + "/v1/pull", json={"schema": 5}, headers={"Authorization": f"Bearer {device_id}.wrong"}
    )
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    as_json = {**auth, "Content-Type": "application/json"}
    r = httpx.post(url + "/v1/pull", content=b"{not json", headers=as_json)
    assert r.status_code == 400 and r.json()["message"]
    # not declared as JSON: 415; nested deeper than any reader follows: 400, never a 500
    r = httpx.post(url + "/v1/pull", content=b'{"schema": 5}', headers=auth)
    assert r.status_code == 415 and r.json()["error"] == "media_type"
    r = httpx.post(url + "/v1/audit", content=b"[" * 100_000 + b"]" * 100_000, headers=as_json)
    assert r.status_code in (400, 422) and r.json()["message"]
    r = httpx.post(
        url + "/v1/push",
        content=b'{"device_id": "%s", "schema": 5, "ops": [%s]}'
        % (device_id.encode(), b"[" * 100_000 + b"]" * 100_000),
        headers=as_json,
    )
    assert r.status_code in (200, 400), r.text  # the one operation refused, or the request
    r = httpx.post(
        url + "/v1/push",
        content=b'{"device_id": "%s", "schema": 5, "ops": [{"op_id":'
        b' "deep", "payload": %s}]}' % (device_id.encode(), b"[" * 100_000 + b"]" * 100_000),
        headers=as_json,
    )
    assert r.status_code in (200, 400), r.text
    # A malformed operation is refused alone, with the reason; nothing of it is stored.
    r = httpx.post(
        url + "/v1/push",
        json={"device_id": device_id, "schema": 5, "ops": [{"x": 1}]},
        headers=auth,
    )
    assert r.status_code == 200 and r.json()["acked"] == []
    assert [(x["index"], x["code"]) for x in r.json()["refused"]] == [(0, "invalid")]
    assert count() == before
    r = httpx.post(
        url + "/v1/push", content=b"[" + b" " * (17 * 1024 * 1024) + b"]", headers=as_json
    )
    assert r.status_code == 413
    r = httpx.post(url + "/v1/pull", json={"schema": 1}, headers=auth)
    assert r.status_code == 426 and r.json()["error"] == "too_old"

    hlc = "001795000000000.00000"
    g1 = _q(
        hub["db"], "SELECT entity_id FROM hub_scope WHERE entity = 'household' AND grid = 'g-one'"
    )[0][0]
    g2 = _q(
        hub["db"], "SELECT entity_id FROM hub_scope WHERE entity = 'household' AND grid = 'g-two'"
    )[0][0]

    def op(n, entity_id, device=device_id):
        return {
            "op_id": f"op-{n}",
            "hlc": hlc,
            "entity": "household",
            "entity_id": entity_id,
            "kind": "update",
            "payload": {"note": "x"},
            "schema_version": 5,
            "device_id": device,
        }

    # Another device's operation, or one outside alice's grids: refused alone, with its
    # reason; the good operation beside it is stored, once however often it is sent.
    for n, (bad, code) in enumerate(
        ((op(2, g1, device="someone-else"), "other_device"), (op(3, g2), "out_of_scope"))
    ):
        r = httpx.post(
            url + "/v1/push",
            json={"device_id": device_id, "schema": 5, "ops": [op(1, g1), bad]},
            headers=auth,
        )
        assert r.status_code == 200, r.text
        doc = r.json()
        assert (doc["acked"], doc["duplicates"]) == (["op-1"], n)
        assert [(x["index"], x["op_id"], x["code"]) for x in doc["refused"]] == [
            (1, bad["op_id"], code)
        ]
        assert doc["refused"][0]["message"]
        assert count() == before + 1
    for junk in (b"", b"null", b"[]", b'{"schema": "x"}', b'{"cursor": "zz"}'):
        assert httpx.post(url + "/v1/pull", content=junk, headers=as_json).status_code in (400, 422)
    assert httpx.get(url + "/v1/nowhere").status_code == 404

    # Revoked: 403 at the hub, a clear message and a non-zero exit on the laptop.
    assert kiosk("hub", "devices", "revoke", "alice", "--db", hub["db"]).returncode == 0
    assert httpx.post(url + "/v1/pull", json={"schema": 5}, headers=auth).status_code == 403
    out = kiosk("sync", "--db", str(alice))
    assert out.returncode == 4 and "吊销" in out.stderr and "Traceback" not in out.stderr
    # A used enrolment code does not work twice.
    code = _add(kiosk, hub, "bob", "G2")
    assert (
        kiosk("enrol", "--db", str(tmp_path / "b1.db"), "--hub", url, "--code", code).returncode
        == 0
    )
    out = kiosk("enrol", "--db", str(tmp_path / "b2.db"), "--hub", url, "--code", code)
    assert out.returncode == 4 and "登记码" in out.stderr
    hub["proc"].terminate()
    hub["proc"].wait(10)
    assert b"Traceback" not in hub["proc"].stderr.read()


def test_unreachable_hub(kiosk, hub, tmp_path):
    alice = _laptop(kiosk, hub, tmp_path, "alice", "G1")
    hub["proc"].terminate()
    hub["proc"].wait(10)
    out = kiosk("sync", "--db", str(alice), "--lang", "en")
    assert out.returncode == 3
    assert "Cannot reach the hub" in out.stderr and "Traceback" not in out.stderr
    out = kiosk("sync", "--db", str(tmp_path / "fresh.db"))
    assert out.returncode != 0 and "Traceback" not in out.stderr


def test_offline_bundles(kiosk, hub, tmp_path):
    alice = _laptop(kiosk, hub, tmp_path, "alice", "G1")
    sup = _laptop(kiosk, hub, tmp_path, "supervisor")
    _sync(kiosk, alice)
    _sync(kiosk, sup)
    hids = [r[0] for r in _q(alice, "SELECT id FROM households ORDER BY id")]
    _edit(alice, hids[0], note="U盘带回")
    _edit(sup, hids[1], tags=["alone"])
    _sync(kiosk, sup)

    up = tmp_path / "alice.up"
    out = kiosk("sync", "export", str(up), "--db", str(alice), "--json")
    assert json.loads(out.stdout)["ops"] == 1
    for stored in (1, 0):  # importing twice is harmless
        out = kiosk("hub", "import", str(up), "--db", hub["db"], "--json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {
            "device": "alice",
            "stored": stored,
            "duplicates": 1 - stored,
            "refused": [],
            "photos": 0,
            "photos_unknown": 0,
            "photos_mismatch": 0,
        }
    down = tmp_path / "alice.down"
    out = kiosk("hub", "export", "--device", "alice", str(down), "--db", hub["db"], "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["ops"] == 1  # the supervisor's edit in alice's grid
    for pulled in (1, 0):
        out = kiosk("sync", "import", str(down), "--db", str(alice), "--json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["pulled"] == pulled
    assert _q(alice, "SELECT count(*) FROM outbox")[0][0] == 0  # acknowledged by the bundle
    assert _q(alice, "SELECT tags FROM households WHERE id = ?", hids[1])[0][0] == "alone"
    assert _sync(kiosk, alice) == {**_sync(kiosk, alice), "pushed": 0, "pulled": 0}
    assert _q(sup, "SELECT note FROM households WHERE id = ?", hids[0])[0][0] != "U盘带回"
    _sync(kiosk, sup)
    assert _q(sup, "SELECT note FROM households WHERE id = ?", hids[0])[0][0] == "U盘带回"

    # A bundle altered on the way is refused whole.
    doc = json.loads(up.read_text())
    doc["ops"][0]["payload"]["note"] = "改过"
    up.write_text(json.dumps(doc))
    out = kiosk("hub", "import", str(up), "--db", hub["db"])
    assert out.returncode == 2 and "校验" in out.stderr
    (tmp_path / "junk").write_text("not a bundle")
    out = kiosk("sync", "import", str(tmp_path / "junk"), "--db", str(alice))
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_devices_add_with_person_and_list(kiosk, tmp_path):
    db = str(tmp_path / "hub.db")
    out = kiosk(
        "hub",
        "devices",
        "add",
        "李四的笔记本",
        "--grid",
        "G1",
        "--person",
        "李四",
        "--db",
        db,
        "--json",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert len(doc["code"]) == 14 and doc["person"] == "李四"
    out = kiosk("hub", "devices", "add", "李四的笔记本", "--office", "--db", db)
    assert out.returncode == 2 and "已有" in out.stderr  # names are unique
    out = kiosk("hub", "devices", "add", "无范围", "--db", db)
    assert out.returncode == 2 and "--grid" in out.stderr  # a device says what it covers
    out = kiosk("hub", "devices", "list", "--db", db)
    assert "李四的笔记本" in out.stdout and "等待登记" in out.stdout
    out = kiosk("hub", "devices", "revoke", "nobody", "--db", db)
    assert out.returncode == 2 and "nobody" in out.stderr
    # without --json: the code and a QR code (no personal data in it: the code only)
    out = kiosk("hub", "devices", "add", "supervisor", "--community", "社区", "--db", db)
    assert out.returncode == 0 and "登记码" in out.stdout and "█" in out.stdout


def test_a_laptop_that_only_uses_bundles_gets_only_what_is_new(kiosk, hub, tmp_path):
    """Enrolled, then never online again: its up bundle says where its pull cursor is, so the
    hub's next down bundle holds only what it has not received (none when nothing is new)."""
    alice = _laptop(kiosk, hub, tmp_path, "alice", "G1")
    sup = _laptop(kiosk, hub, tmp_path, "supervisor")
    _sync(kiosk, sup)

    def down(n: int) -> int:
        path = tmp_path / f"alice-{n}.down"
        out = kiosk("hub", "export", "--device", "alice", str(path), "--db", hub["db"], "--json")
        assert out.returncode == 0, out.stderr
        out = kiosk("sync", "import", str(path), "--db", str(alice), "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)["pulled"]

    def up(n: int) -> None:
        path = tmp_path / f"alice-{n}.up"
        assert kiosk("sync", "export", str(path), "--db", str(alice)).returncode == 0
        out = kiosk("hub", "import", str(path), "--db", hub["db"])
        assert out.returncode == 0, out.stderr

    first = down(1)
    assert first > 0  # the grid's roster
    up(1)
    path = tmp_path / "again.down"
    out = kiosk("hub", "export", "--device", "alice", str(path), "--db", hub["db"], "--json")
    assert json.loads(out.stdout)["ops"] == 0  # nothing new: nothing resent
    hid = _q(alice, "SELECT id FROM households ORDER BY id")[0][0]
    _edit(sup, hid, note="主管改的")
    _sync(kiosk, sup)
    assert down(2) == 1

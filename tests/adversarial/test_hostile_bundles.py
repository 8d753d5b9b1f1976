"""A hostile laptop with a valid token, carrying pictures on a USB bundle (SQLite and
PostgreSQL hubs): the hub keeps a bundle's picture only when its bytes match its name and a
photo record in the device's reach names it (the check of the network's picture endpoints),
refuses whole a bundle with a picture over the bound, over the bundle's total, altered after
signing or signed for another device, and gives a device in a down bundle only pictures
in its reach, whatever its up bundle said it lacks."""

from __future__ import annotations

import hashlib
import json
import os

import msgspec
import pytest

from kiosk.core.errors import UserError
from kiosk.hub.bundle import hub_export, hub_import
from kiosk.photos.prepare import prepare_bytes
from kiosk.sync import protocol as p
from tests.adversarial.test_hostile_device import G1, G2, world  # noqa: F401 - the fixture
from tests.adversarial.test_hostile_pictures import _photo_ops, _stored
from tests.photo_helpers import phone_jpeg


def _key(token: str) -> str:
    parts = p.split_token(token)
    assert parts is not None
    return p.token_hash(parts[1])


def _picture(w_or_size) -> tuple[bytes, str]:
    data = prepare_bytes(phone_jpeg(*w_or_size)).data
    return data, hashlib.sha256(data).hexdigest()


def _write_up(path, token, ops, pictures=(), lacks=None, device_id="dev-hostile") -> None:
    bundle = p.Bundle(
        format=p.BUNDLE_FORMAT,
        direction="up",
        device_id=device_id,
        ops=[p.raw(op) for op in ops],
        schema=17,
    )
    if pictures:
        bundle.pictures = [p.BundlePicture(sha256=sha, data=data) for sha, data in pictures]
    if lacks is not None:
        bundle.lacks = lacks
    path.write_bytes(p.sign_bundle(bundle, _key(token)))


def _ops_held(w, op_ids) -> set[str]:
    with w.store._tx(write=False) as cur:
        cur.execute(w.store._q("SELECT op_id FROM hub_ops"))
        return {r[0] for r in cur.fetchall()} & set(op_ids)


@pytest.fixture
def two(world):  # noqa: F811
    """A G1 case with two photos the hostile laptop documented (records at the hub, the
    pictures not yet), and a G2 case whose photo record the office made (picture not held)."""
    w = world
    a, sha_a = _picture((900, 700))
    b, sha_b = _picture((640, 480))
    c, sha_c = _picture((700, 900))
    ops = _photo_ops(w, "dev-hostile", "c1", G1, sha_a, 11)
    ops.append(
        w._op(
            "dev-hostile",
            "ph-11b",
            "photo",
            "insert",
            {"id": "ph-11b", "case_id": "case-11", "event_id": "ev-11", "sha256": sha_b},
        )
    )
    assert w.push(ops)["refused"] == []
    assert not w.store.ingest(w.office, _photo_ops(w, "dev-office", "c2", G2, sha_c, 12)).refused
    return {"a": (a, sha_a), "b": (b, sha_b), "theirs": (c, sha_c)}


def test_a_picture_whose_bytes_are_not_its_name_is_not_kept(world, two, tmp_path):  # noqa: F811
    w = world
    (a, sha_a), (b, sha_b) = two["a"], two["b"]
    forged = bytearray(a)
    forged[len(forged) // 2] ^= 0xFF
    path = tmp_path / "up"
    _write_up(path, w.token, [], [(sha_a, bytes(forged)), (sha_b, b)])
    _, _, pics = hub_import(w.store, path)
    assert pics.mismatch == [sha_a] and pics.stored == [sha_b]
    assert not _stored(w, sha_a) and _stored(w, sha_b)  # checked one by one


def test_a_picture_no_record_in_reach_names_is_not_kept(world, two, tmp_path):  # noqa: F811
    w = world
    theirs, sha_theirs = two["theirs"]
    stray, sha_stray = _picture((300, 300))
    own, sha_own = _picture((320, 240))
    # a photo record on G2's case, carried in the same bundle: refused, its picture too
    claim = w._op(
        "dev-hostile",
        "ph-x",
        "photo",
        "insert",
        {"id": "ph-x", "case_id": "case-12", "event_id": "ev-12", "sha256": sha_own},
    )
    path = tmp_path / "up"
    _write_up(path, w.token, [claim], [(sha_theirs, theirs), (sha_stray, stray), (sha_own, own)])
    _, result, pics = hub_import(w.store, path)
    assert [r.code for r in result.refused] == ["out_of_scope"]
    assert sorted(pics.unknown) == sorted([sha_theirs, sha_stray, sha_own]) and not pics.stored
    for sha in (sha_theirs, sha_stray, sha_own):
        assert not _stored(w, sha)


def test_an_oversize_picture_refuses_the_bundle(world, two, tmp_path):  # noqa: F811
    w = world
    big = os.urandom(p.MAX_BLOB + 1)
    sha_big = hashlib.sha256(big).hexdigest()
    assert w.push(_photo_ops(w, "dev-hostile", "c3", G1, sha_big, 13))["refused"] == []
    a, sha_a = two["a"]
    extra = _photo_ops(w, "dev-hostile", "c4", G1, "0" * 64, 14)
    path = tmp_path / "up"
    _write_up(path, w.token, extra, [(sha_a, a), (sha_big, big)])
    with pytest.raises(UserError) as err:
        hub_import(w.store, path)
    assert err.value.key == "sync.error.bad_bundle"
    assert not _stored(w, sha_big) and not _stored(w, sha_a)
    assert not _ops_held(w, [o.op_id for o in extra])  # nothing of it: refused whole


def test_a_bundle_over_the_total_bound_is_refused(world, two, tmp_path, monkeypatch):  # noqa: F811
    w = world
    (a, sha_a), (b, sha_b) = two["a"], two["b"]
    path = tmp_path / "up"
    _write_up(path, w.token, [], [(sha_a, a), (sha_b, b)])
    monkeypatch.setattr(p, "MAX_BUNDLE_PICTURE_BYTES", len(a) + len(b) - 1)
    with pytest.raises(UserError) as err:
        hub_import(w.store, path)
    assert err.value.key == "sync.error.bundle_pictures_too_big"
    assert not _stored(w, sha_a) and not _stored(w, sha_b)
    # and the file itself is bounded before anything is parsed
    monkeypatch.setattr(p, "MAX_BUNDLE_BYTES", path.stat().st_size - 1)
    with pytest.raises(UserError) as err:
        hub_import(w.store, path)
    assert err.value.key == "sync.error.bundle_too_big"


def test_a_tampered_bundle_is_refused(world, two, tmp_path):  # noqa: F811
    w = world
    (a, sha_a), (b, sha_b) = two["a"], two["b"]
    path = tmp_path / "up"
    _write_up(path, w.token, [], [(sha_a, a)])
    signed = json.loads(path.read_bytes())
    assert signed["format"] == p.BUNDLE_FORMAT_PICTURES
    forged = bytearray(a)
    forged[100] ^= 1
    changed = {
        "a picture changed": {**signed, "pictures": [{"sha256": sha_a, "data": _b64(forged)}]},
        "a picture added": {
            **signed,
            "pictures": [*signed["pictures"], {"sha256": sha_b, "data": _b64(b)}],
        },
        "a picture renamed": {**signed, "pictures": [{"sha256": sha_b, "data": _b64(a)}]},
        "pictures dropped": {k: v for k, v in signed.items() if k != "pictures"},
    }
    for what, doc in changed.items():
        path.write_text(json.dumps(doc))
        with pytest.raises(UserError) as err:
            hub_import(w.store, path)
        assert err.value.key == "sync.error.bundle_mac", what
    assert not _stored(w, sha_a) and not _stored(w, sha_b)


def test_a_bundle_for_another_device_is_refused(world, two, tmp_path):  # noqa: F811
    w = world
    theirs, sha_theirs = two["theirs"]
    # signed with the hostile laptop's key, claiming to come from the G2 laptop
    path = tmp_path / "up"
    _write_up(path, w.token, [], [(sha_theirs, theirs)], device_id="dev-g2")
    with pytest.raises(UserError) as err:
        hub_import(w.store, path)
    assert err.value.key == "sync.error.bundle_mac"
    assert not _stored(w, sha_theirs)
    # a down bundle is not an up bundle, whoever signed it
    down = tmp_path / "down"
    hub_export(w.store, "hostile", down)
    with pytest.raises(UserError):
        hub_import(w.store, down)


def test_a_down_bundle_carries_only_pictures_in_the_device_reach(world, two, tmp_path):  # noqa: F811
    w = world
    (a, sha_a), (theirs, sha_theirs) = two["a"], two["theirs"]
    assert w.store.put_blobs(w.office, [(sha_theirs, theirs)], "2026-12-04")[0] == [sha_theirs]
    assert w.store.put_blobs(w.hostile, [(sha_a, a)], "2026-12-04")[0] == [sha_a]
    # the hostile laptop says it lacks its own picture, another grid's, and a made-up name
    path = tmp_path / "up"
    _write_up(path, w.token, [], lacks=[sha_a, sha_theirs, "f" * 64])
    hub_import(w.store, path)
    down = tmp_path / "down"
    out = hub_export(w.store, "hostile", down)
    bundle = p.read_bundle(down)
    p.verify_bundle(bundle, _key(w.token), down)
    assert [(pic.sha256, pic.data) for pic in p.bundle_pictures(bundle)] == [(sha_a, a)]
    assert out.pictures == 1
    # the G2 laptop's down bundle carries the G2 picture: its photo record is in the bundle
    down2 = tmp_path / "down2"
    hub_export(w.store, "honest-g2", down2)
    names = [pic.sha256 for pic in p.bundle_pictures(p.read_bundle(down2))]
    assert sha_theirs in names and sha_a not in names


def _b64(data) -> str:
    import base64

    return base64.b64encode(bytes(data)).decode()


class _OldBundle(msgspec.Struct, kw_only=True):
    """The bundle as versions before pictures wrote it, field for field."""

    format: str
    direction: str
    device_id: str
    ops: list[msgspec.Raw]
    schema: int
    hlc: str | None = None
    cursor_from: str | None = None
    cursor: str | None = None
    acked: list[str] = []
    backfill: int = 0
    created_at: str = ""
    audit: list[p.AuditEntry] = []
    audit_dseq: int = 0
    refused: list[p.Refusal] = []
    mac: str = ""


def test_an_old_bundle_without_pictures_still_imports(world, tmp_path):  # noqa: F811
    w = world
    ops = _photo_ops(w, "dev-hostile", "c5", G1, "a" * 64, 15)
    old = _OldBundle(
        format="grid-kiosk-bundle/1",
        direction="up",
        device_id="dev-hostile",
        ops=[p.raw(op) for op in ops],
        schema=17,
    )
    old.mac = p.bundle_mac(_key(w.token), msgspec.json.encode(old))
    path = tmp_path / "old.up"
    path.write_bytes(msgspec.json.encode(old))
    _, result, pics = hub_import(w.store, path)
    assert result.stored == 3 and not result.refused and pics == type(pics)()
    # and one written now without pictures is exactly that format
    _write_up(path, w.token, ops)
    doc = json.loads(path.read_bytes())
    assert doc["format"] == p.BUNDLE_FORMAT and not {"pictures", "lacks", "held"} & set(doc)

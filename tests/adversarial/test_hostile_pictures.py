"""A hostile laptop with a valid token against the hub's picture endpoints (SQLite and
PostgreSQL, over real HTTP): the hub keeps no picture that no photo record in the sender's
reach names, gives none to a device outside the picture's grid, keeps nothing that does not
match its name, and a chunk out of place or too large is refused with where to go on."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from kiosk.photos.prepare import prepare_bytes
from kiosk.sync.protocol import BLOB_CHUNK, MAX_BLOB
from tests.adversarial.test_hostile_device import G1, G2, world  # noqa: F401 - the fixture
from tests.photo_helpers import phone_jpeg


def _put(w, token, sha, chunk, offset, total, **headers):
    return httpx.put(
        f"{w.url}/v1/blobs/{sha}",
        content=chunk,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/octet-stream",
            "X-Blob-Offset": str(offset),
            "X-Blob-Size": str(total),
            **headers,
        },
        timeout=30,
    )


def _get(w, token, sha):
    return httpx.get(
        f"{w.url}/v1/blobs/{sha}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _stored(w, sha) -> bool:
    with w.store._tx(write=False) as cur:
        cur.execute(w.store._q("SELECT count(*) FROM hub_blobs WHERE sha256 = ?"), (sha,))
        return cur.fetchone()[0] == 1


def _photo_ops(w, device, case_id, grid, sha, n):
    """A case in ``grid``, its registration and a photo naming ``sha``, as ``device``."""
    return [
        w._op(device, f"case-{n}", "case", "insert", {"id": f"case-{n}", "grid_id": grid}),
        w._op(
            device,
            f"ev-{n}",
            "case_event",
            "insert",
            {"id": f"ev-{n}", "case_id": f"case-{n}", "type": "register"},
        ),
        w._op(
            device,
            f"ph-{n}",
            "photo",
            "insert",
            {"id": f"ph-{n}", "case_id": f"case-{n}", "event_id": f"ev-{n}", "sha256": sha},
        ),
    ]


@pytest.fixture
def pictures(world):  # noqa: F811
    """A G1 picture the hostile laptop documented, and a G2 picture the office holds."""
    w = world
    mine = prepare_bytes(phone_jpeg(900, 700)).data
    theirs = prepare_bytes(phone_jpeg(700, 900)).data
    sha_mine, sha_theirs = hashlib.sha256(mine).hexdigest(), hashlib.sha256(theirs).hexdigest()
    answer = w.push(_photo_ops(w, "dev-hostile", "c1", G1, sha_mine, 1))
    assert answer["refused"] == [], answer
    assert not w.store.ingest(
        w.office, _photo_ops(w, "dev-office", "c2", G2, sha_theirs, 2)
    ).refused
    got = w.store.put_blob_chunk(w.office, sha_theirs, 0, len(theirs), theirs, "2026-12-04")
    assert got == (len(theirs), True)
    return mine, sha_mine, theirs, sha_theirs


def test_the_hub_keeps_only_pictures_its_records_name(world, pictures):  # noqa: F811
    w = world
    mine, sha_mine, theirs, sha_theirs = pictures
    stray = prepare_bytes(phone_jpeg(300, 300)).data
    sha_stray = hashlib.sha256(stray).hexdigest()
    r = _put(w, w.token, sha_stray, stray, 0, len(stray))
    assert r.status_code == 404 and r.json()["error"] == "unknown_blob"
    assert not _stored(w, sha_stray)
    # a picture of another grid's record is not this device's to send or to fetch
    r = _put(w, w.token, sha_theirs, theirs, 0, len(theirs))
    assert r.status_code == 404
    r = _get(w, w.token, sha_theirs)
    assert r.status_code == 404 and r.content != theirs
    # ... while the laptop of that grid fetches it
    assert _get(w, w.other_token, sha_theirs).content == theirs
    # asking which to send: its own is missing, the other grid's is unknown to it
    r = httpx.post(
        f"{w.url}/v1/blobs/wanted",
        json={"device_id": "dev-hostile", "schema": 17, "hashes": [sha_mine, sha_theirs]},
        headers={"Authorization": f"Bearer {w.token}"},
        timeout=30,
    )
    assert r.json() == {"missing": [sha_mine], "unknown": [sha_theirs]}


def test_a_picture_must_match_its_name_and_arrive_in_order(world, pictures):  # noqa: F811
    w = world
    mine, sha_mine, _, _ = pictures
    forged = bytearray(mine)
    forged[len(forged) // 2] ^= 0xFF
    r = _put(w, w.token, sha_mine, bytes(forged), 0, len(forged))
    assert r.status_code == 422 and r.json()["error"] == "blob_mismatch"
    assert not _stored(w, sha_mine)
    half = len(mine) // 2
    r = _put(w, w.token, sha_mine, mine[:half], 0, len(mine))
    assert r.status_code == 200 and r.json() == {"received": half, "stored": False}
    # a chunk somewhere else is refused with where the hub stands: go on from there
    r = _put(w, w.token, sha_mine, mine[half + 10 :], half + 10, len(mine))
    assert r.status_code == 409 and r.json()["params"] == {"received": half}
    r = _put(w, w.token, sha_mine, mine[half:], half, len(mine))
    assert r.json() == {"received": len(mine), "stored": True}
    assert _stored(w, sha_mine)
    # sent again: acknowledged, kept once
    assert _put(w, w.token, sha_mine, mine, 0, len(mine)).json()["stored"] is True
    assert _get(w, w.token, sha_mine).content == mine
    files = getattr(w.store, "pictures", None)
    if files is not None:  # the SQLite hub's files: its owner's alone
        assert files.path(sha_mine).read_bytes() == mine
        assert files.path(sha_mine).stat().st_mode & 0o777 == 0o600
        assert files.root.stat().st_mode & 0o777 == 0o700
        assert files.path(sha_mine).parent.stat().st_mode & 0o077 == 0


def test_whole_pictures_sent_together_are_checked_one_by_one(world, pictures):  # noqa: F811
    w = world
    mine, sha_mine, theirs, sha_theirs = pictures
    forged = mine[:-1] + bytes([mine[-1] ^ 1])
    body = mine + theirs
    r = httpx.post(
        f"{w.url}/v1/blobs/batch",
        content=body,
        headers={
            "Authorization": f"Bearer {w.token}",
            "Content-Type": "application/octet-stream",
            "X-Blobs": f"{sha_mine}:{len(mine)},{sha_theirs}:{len(theirs)}",
        },
        timeout=30,
    )
    assert r.json() == {"stored": [sha_mine], "unknown": [sha_theirs], "mismatch": []}
    assert _stored(w, sha_mine)
    for listed, content in (
        (f"{sha_mine}:{len(forged)}", forged),  # held already: acknowledged, not replaced
        (f"{sha_mine}:{len(mine) + 5}", mine),  # sizes that do not add up to the body
        ("x" * 64 + ":10", b"0" * 10),
    ):
        r = httpx.post(
            f"{w.url}/v1/blobs/batch",
            content=content,
            headers={
                "Authorization": f"Bearer {w.token}",
                "Content-Type": "application/octet-stream",
                "X-Blobs": listed,
            },
            timeout=30,
        )
        assert r.status_code in (200, 400), r.text
    assert _get(w, w.token, sha_mine).content == mine


def test_sizes_names_and_tokens_are_checked_before_anything_is_read(world, pictures):  # noqa: F811
    w = world
    mine, sha_mine, _, _ = pictures
    r = _put(w, w.token, sha_mine, mine[:10], 0, MAX_BLOB + 1)
    assert r.status_code == 413
    r = _put(w, w.token, sha_mine, b"x" * (BLOB_CHUNK + 1), 0, BLOB_CHUNK + 1)
    assert r.status_code == 413
    for bad in ("../../../etc/passwd", "A" * 64, "g" * 64, "0" * 63):
        r = _get(w, w.token, bad)
        assert r.status_code in (400, 404), bad
        assert r.headers["content-type"].startswith("application/json")
    r = _put(w, w.token, sha_mine, mine, 0, len(mine), **{"Content-Type": "image/jpeg"})
    assert r.status_code == 415
    r = httpx.get(f"{w.url}/v1/blobs/{sha_mine}", timeout=30)
    assert r.status_code == 401
    r = _put(w, w.token, sha_mine, mine, 0, 0)
    assert r.status_code == 413
    assert not _stored(w, sha_mine)


# --- pictures of community feedback ----------------------------------------------------------
def _feedback_photo_ops(w, device, grid, sha, n):
    """Feedback in ``grid`` (None: the whole community) and a photo naming ``sha``."""
    fb = {"id": f"fb-{n}", "category": "parking", "text": "乱停车"}
    if grid is not None:
        fb["grid_id"] = grid
    return [
        w._op(device, f"fb-{n}", "feedback", "insert", fb),
        w._op(
            device,
            f"fph-{n}",
            "feedback_photo",
            "insert",
            {"id": f"fph-{n}", "feedback_id": f"fb-{n}", "sha256": sha},
        ),
    ]


def test_a_feedback_picture_stays_within_the_feedbacks_grid(world):  # noqa: F811
    """A picture that only another grid's feedback names is not the hostile laptop's to
    send or fetch; its own feedback's picture it sends; the other grid's laptop fetches the
    picture of its grid's feedback and of the whole community's, never the hostile one's."""
    w = world
    mine = prepare_bytes(phone_jpeg(800, 600)).data
    theirs = prepare_bytes(phone_jpeg(600, 800)).data
    everyone = prepare_bytes(phone_jpeg(640, 640)).data
    sha_mine, sha_theirs, sha_everyone = (
        hashlib.sha256(b).hexdigest() for b in (mine, theirs, everyone)
    )
    answer = w.push(_feedback_photo_ops(w, "dev-hostile", G1, sha_mine, 11))
    assert answer["refused"] == [], answer
    assert not w.store.ingest(
        w.office,
        _feedback_photo_ops(w, "dev-office", G2, sha_theirs, 12)
        + _feedback_photo_ops(w, "dev-office", None, sha_everyone, 13),
    ).refused
    # uploading a picture only an out-of-scope feedback references: refused, not kept
    r = _put(w, w.token, sha_theirs, theirs, 0, len(theirs))
    assert r.status_code == 404 and r.json()["error"] == "unknown_blob"
    assert not _stored(w, sha_theirs)
    r = httpx.post(
        f"{w.url}/v1/blobs/batch",
        content=theirs,
        headers={
            "Authorization": f"Bearer {w.token}",
            "Content-Type": "application/octet-stream",
            "X-Blobs": f"{sha_theirs}:{len(theirs)}",
        },
        timeout=30,
    )
    assert r.json()["unknown"] == [sha_theirs] and not _stored(w, sha_theirs)
    # the laptops of that grid send it, and of the whole community's the office
    assert _put(w, w.other_token, sha_theirs, theirs, 0, len(theirs)).json()["stored"] is True
    got = w.store.put_blob_chunk(w.office, sha_everyone, 0, len(everyone), everyone, "2026-12-04")
    assert got == (len(everyone), True)
    # ... and the hostile laptop still cannot fetch the other grid's
    r = _get(w, w.token, sha_theirs)
    assert r.status_code == 404 and r.content != theirs
    # its own feedback's picture it sends; the whole community's it may see
    assert _put(w, w.token, sha_mine, mine, 0, len(mine)).json()["stored"] is True
    assert _get(w, w.token, sha_everyone).content == everyone
    # the other grid's laptop: its grid's and the community's, not the hostile grid's
    assert _get(w, w.other_token, sha_theirs).content == theirs
    assert _get(w, w.other_token, sha_everyone).content == everyone
    assert _get(w, w.other_token, sha_mine).status_code == 404
    r = httpx.post(
        f"{w.url}/v1/blobs/wanted",
        json={"device_id": "dev-hostile", "schema": 18, "hashes": [sha_mine, sha_theirs]},
        headers={"Authorization": f"Bearer {w.token}"},
        timeout=30,
    )
    assert r.json() == {"missing": [], "unknown": [sha_theirs]}


def test_a_feedback_photo_naming_no_feedback_opens_no_door(world):  # noqa: F811
    """A photo record naming no feedback (or a feedback the hub does not hold) is refused,
    so the picture it names is not taken."""
    w = world
    stray = prepare_bytes(phone_jpeg(500, 400)).data
    sha = hashlib.sha256(stray).hexdigest()
    answer = w.push(
        [
            w._op(
                "dev-hostile", "fph-x", "feedback_photo", "insert", {"id": "fph-x", "sha256": sha}
            ),
            w._op(
                "dev-hostile",
                "fph-y",
                "feedback_photo",
                "insert",
                {"id": "fph-y", "feedback_id": "fb-nobody", "sha256": sha},
            ),
        ]
    )
    assert answer["acked"] == [] and len(answer["refused"]) == 2
    r = _put(w, w.token, sha, stray, 0, len(stray))
    assert r.status_code == 404 and not _stored(w, sha)


def test_a_feedback_photo_borrowing_a_case_photos_id_borrows_nothing(world, pictures):  # noqa: F811
    """A feedback photo of the hostile laptop's own grid given the id of another grid's case
    photo is a record of another kind: the case photo's picture stays out of its reach."""
    w = world
    _, _, theirs, sha_theirs = pictures
    own = prepare_bytes(phone_jpeg(320, 240)).data
    ops = _feedback_photo_ops(w, "dev-hostile", G1, hashlib.sha256(own).hexdigest(), 21)
    ops[1] = w._op(
        "dev-hostile",
        "ph-2",  # the G2 case photo's id (tests/adversarial: _photo_ops, n=2)
        "feedback_photo",
        "insert",
        {"id": "ph-2", "feedback_id": "fb-21", "sha256": hashlib.sha256(own).hexdigest()},
    )
    w.push(ops)
    r = _get(w, w.token, sha_theirs)
    assert r.status_code == 404 and r.content != theirs
    assert _put(w, w.token, sha_theirs, theirs, 0, len(theirs)).status_code == 404

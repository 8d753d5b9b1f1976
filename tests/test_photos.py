"""Photos made fit to keep (kiosk/photos/prepare.py): nothing of a phone's metadata survives,
the picture stands upright and is no larger than asked, and a file that is no photo is refused
with a message that names it, never a traceback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from kiosk.core.i18n import t
from kiosk.photos.prepare import MAX_FILE_BYTES, PhotoRefused, prepare_bytes, prepare_file
from tests.photo_helpers import SECRETS, jpeg_segments, phone_jpeg


def test_the_sample_really_carries_every_kind_of_metadata():
    """The hostile input is what it claims, or the test below proves nothing."""
    data = phone_jpeg()
    img = Image.open(io.BytesIO(data))
    exif = img.getexif()
    assert exif.get_ifd(0x8825)[2]  # GPS latitude
    assert exif.get_ifd(0x8769)[0xA431] == SECRETS[0].decode()
    assert "icc_profile" in img.info and "comment" in img.info
    for secret in SECRETS:
        assert secret in data
    assert {0xE1, 0xE2, 0xED, 0xFE} <= set(jpeg_segments(data))


def test_no_trace_of_the_metadata_leaves():
    prepared = prepare_bytes(phone_jpeg(800, 600))
    data = prepared.data
    for secret in SECRETS:
        assert secret not in data
    for marker in (b"Exif", b"http://ns.adobe.com", b"Photoshop", b"8BIM", b"ICC_PROFILE"):
        assert marker not in data
    # only the JFIF header and the tables a baseline JPEG needs: no APP1-APP15, no comment
    assert [m for m in jpeg_segments(data) if 0xE1 <= m <= 0xEF or m == 0xFE] == []
    img = Image.open(io.BytesIO(data))
    assert not img.getexif() and not img.info.get("exif")
    assert not {"icc_profile", "comment", "xmp", "photoshop"} & set(img.info)
    assert img.format == "JPEG"


def test_a_png_with_text_chunks_and_transparency_keeps_only_its_pixels():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", SECRETS[1].decode())
    info.add_itxt("GPS", "31.2304,121.4737")
    img = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    img.paste((0, 128, 0, 255), (0, 0, 50, 50))
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info)
    prepared = prepare_bytes(buf.getvalue())
    assert SECRETS[1] not in prepared.data and b"121.4737" not in prepared.data
    out = Image.open(io.BytesIO(prepared.data)).convert("RGB")
    assert out.size == (100, 50)
    r, g, b = out.getpixel((75, 25))  # transparent: white, not black
    assert min(r, g, b) > 240
    r, g, b = out.getpixel((25, 25))
    assert g > 100 and r < 40 and b < 40


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_the_orientation_is_applied(orientation):
    prepared = prepare_bytes(phone_jpeg(400, 200, orientation=orientation))
    img = Image.open(io.BytesIO(prepared.data)).convert("RGB")
    red = lambda p: p[0] > 150 and p[2] < 100  # noqa: E731
    blue = lambda p: p[2] > 150 and p[0] < 100  # noqa: E731
    if orientation == 3:  # upside down: the red left half ends on the right
        assert img.size == (400, 200)
        assert blue(img.getpixel((50, 100))) and red(img.getpixel((350, 100)))
    else:
        assert img.size == (200, 400)  # stood upright
        top, bottom = img.getpixel((100, 50)), img.getpixel((100, 350))
        # 6: turned clockwise, the left (red) edge on top; 8: the other way
        assert (
            (red(top), blue(bottom)) == (True, True)
            if orientation == 6
            else (
                blue(top),
                red(bottom),
            )
            == (True, True)
        )
    assert (prepared.width, prepared.height) == img.size


def test_a_phone_photo_is_shrunk_to_the_long_edge():
    prepared = prepare_bytes(phone_jpeg(4000, 3000), long_edge=1600)
    assert (prepared.width, prepared.height) == (1600, 1200)
    sideways = prepare_bytes(phone_jpeg(4000, 3000, orientation=6), long_edge=1600)
    assert (sideways.width, sideways.height) == (1200, 1600)
    small = prepare_bytes(phone_jpeg(640, 480), long_edge=1600)
    assert (small.width, small.height) == (640, 480)  # never enlarged


def test_the_same_photo_twice_has_the_same_name():
    data = phone_jpeg()
    a, b = prepare_bytes(data), prepare_bytes(data)
    assert a.sha256 == b.sha256 and len(a.sha256) == 64


def _refusal(data: bytes, name: str = "照片.jpg") -> PhotoRefused:
    with pytest.raises(PhotoRefused) as caught:
        prepare_bytes(data, name=name)
    message = caught.value.message()
    assert name in message and "Traceback" not in message
    return caught.value


def test_what_is_no_photo_is_refused_by_name():
    assert _refusal(b"just some text, not an image").key == "photos.error.not_image"
    assert _refusal(b"").key == "photos.error.not_image"
    good = phone_jpeg(800, 600)
    assert _refusal(good[: len(good) // 2]).key == "photos.error.damaged"


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    # a PNG whose header claims 50,000 x 50,000 pixels (2.5 billion) and holds almost nothing
    # (written chunk by chunk: Pillow would spend half a minute encoding so many pixels)
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    def png(side: int) -> bytes:
        header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit grey
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * (side // 8 + 1)))  # one row of them
            + chunk(b"IEND", b"")
        )

    # past Pillow's own bound (179 million), and past ours (120 million) under Pillow's
    for side in (50_000, 12_000):
        bomb = png(side)
        assert len(bomb) < 1_000
        assert _refusal(bomb).key == "photos.error.too_many_pixels", side


def test_heic_without_its_decoder_says_what_to_install():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    refusal = _refusal(heic, "IMG_0001.HEIC")
    assert refusal.key == "photos.error.heic"
    assert "grid-kiosk[heic]" in refusal.message()


def test_files_that_cannot_be_read_are_refused_by_name(tmp_path):
    with pytest.raises(PhotoRefused) as caught:
        prepare_file(tmp_path / "missing.jpg")
    assert caught.value.key == "photos.error.not_found"
    with pytest.raises(PhotoRefused) as caught:
        prepare_file(tmp_path)
    assert caught.value.key == "photos.error.not_file"
    big = tmp_path / "big.jpg"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(PhotoRefused) as caught:
        prepare_file(big)
    assert caught.value.key == "photos.error.too_big"
    assert str(big) in caught.value.message()


def test_every_message_exists_in_both_languages():
    from kiosk.core.i18n import catalogue

    zh, en = catalogue("zh"), catalogue("en")
    keys = {k for k in zh if k.startswith("photos.")}
    assert keys and keys == {k for k in en if k.startswith("photos.")}
    assert t("photos.error.heic", path="x") != "photos.error.heic"


def test_an_erased_picture_is_zeroed_in_the_file_whatever_sqlite_was_built_with(runtime):
    """Debian's SQLite zeroes deleted content by default (SECURE_DELETE), other builds do
    not: the erasure asks for it itself, so a raw read of the file finds nothing."""
    from db.connection import transaction
    from db.forget import forget_household
    from db.photos import register_event
    from kiosk.photos.attach import attach_prepared
    from tests.conftest import SUPERVISOR, acting_as

    conn = runtime.conn
    conn.execute("PRAGMA secure_delete = OFF")  # as a build without it would start
    hid, cid = conn.execute(
        "SELECT l.household_id, l.case_id FROM case_households l"
        " JOIN households h ON h.id = l.household_id WHERE h.forgotten_at IS NULL LIMIT 1"
    ).fetchone()
    prepared = prepare_bytes(phone_jpeg(1200, 900))
    with acting_as(runtime, SUPERVISOR):
        with transaction(conn):
            attach_prepared(runtime.ctx, cid, register_event(conn, cid), [prepared])
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        path = conn.execute("PRAGMA database_list").fetchone()[2]
        raw = Path(path).read_bytes()
        probe = prepared.data[len(prepared.data) // 2 : len(prepared.data) // 2 + 48]
        assert probe in raw  # stored in the file: the check below can see it
        with transaction(conn):
            forget_household(runtime.ctx, hid)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 0  # put back as it was
    assert probe not in Path(path).read_bytes()


def test_the_photo_field_takes_files_and_folders(tmp_path):
    from kiosk.photos.attach import photo_paths

    a, b = tmp_path / "a.JPG", tmp_path / "b.png"
    a.write_bytes(b"x")
    b.write_bytes(b"x")
    folder = tmp_path / "card"
    folder.mkdir()
    for i in range(3):
        (folder / f"IMG_{i}.heic").write_bytes(b"x")
    (folder / "readme.txt").write_text("x")
    assert photo_paths(f"{a}; '{b}'\n{folder}") == [a, b, *sorted(folder.glob("*.heic"))]
    assert photo_paths("  ;  ") == []
    with pytest.raises(PhotoRefused) as caught:
        photo_paths(f"{a};{tmp_path / 'gone.jpg'}")
    assert "gone.jpg" in caught.value.message()
    (tmp_path / "empty").mkdir()
    with pytest.raises(PhotoRefused) as caught:
        photo_paths(str(tmp_path / "empty"))
    assert caught.value.key == "photos.error.empty_folder"
    for i in range(13):
        (folder / f"more_{i}.jpg").write_bytes(b"x")
    with pytest.raises(Exception) as caught:
        photo_paths(str(folder))
    assert getattr(caught.value, "key", "") == "photos.error.too_many"


def test_pictures_waiting_for_the_hub_keep_waiting_across_the_upgrade(demo_db):
    """A laptop of the build that marked a picture sent on its own row: after the upgrade
    the pictures the hub had not confirmed are still offered, the confirmed ones are not,
    and no picture's bytes changed."""
    import sqlite3

    from db.connection import open_database

    raw = sqlite3.connect(demo_db)
    raw.execute("DROP TABLE photo_blobs_pending")
    raw.execute("ALTER TABLE photo_blobs ADD COLUMN sent_at TEXT")
    raw.execute("CREATE INDEX photo_blobs_unsent ON photo_blobs(sha256) WHERE sent_at IS NULL")
    rows = [("a" * 64, b"waiting", None), ("b" * 64, b"confirmed", "2026-12-01T10:00:00")]
    raw.executemany(
        "INSERT INTO photo_blobs(sha256, data, bytes, width, height, stored_at, sent_at)"
        " VALUES (?, ?, 7, 1, 1, '2026-12-01', ?)",
        rows,
    )
    raw.execute("PRAGMA user_version = 18")
    raw.commit()
    raw.close()
    db = open_database(demo_db)
    try:
        conn = db.conn
        assert [r[0] for r in conn.execute("SELECT sha256 FROM photo_blobs_pending")] == ["a" * 64]
        cols = {r[1] for r in conn.execute("PRAGMA table_info(photo_blobs)")}
        assert "sent_at" not in cols
        stored = [bytes(r[0]) for r in conn.execute("SELECT data FROM photo_blobs ORDER BY sha256")]
        assert stored == [b"waiting", b"confirmed"]
    finally:
        db.close()

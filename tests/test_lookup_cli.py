"""``kiosk lookup`` / ``kiosk scan`` on the real command line: payloads, photos, bad input."""

from __future__ import annotations

import json
import sys

import pytest
from PIL import Image

from db.connection import transaction
from db.labels import ensure_household_label, reprint_household_label
from kiosk.qr.encode import qr_matrix
from kiosk.qr.payload import encode_id, make
from tests.conftest import SUPERVISOR, acting_as


@pytest.fixture
def runtime(runtime):
    """The community's supervisor sets the scene: cases and visits in both demo grids."""
    with acting_as(runtime, SUPERVISOR):
        yield runtime


def qr_photo(text: str, *, module: int = 8, margin: int = 60) -> Image.Image:
    """A clean picture of a QR code, as a phone would take of a label (upright)."""
    matrix = qr_matrix(text)
    side = len(matrix) * module + 2 * margin
    img = Image.new("L", (side, side), 255)
    px = img.load()
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                for dy in range(module):
                    for dx in range(module):
                        px[margin + x * module + dx, margin + y * module + dy] = 0
    return img


@pytest.fixture
def labelled(runtime):
    conn = runtime.conn
    hid = conn.execute(
        "SELECT l.household_id FROM case_households l JOIN case_state s ON s.case_id = l.case_id"
        " WHERE s.status != 'closed' LIMIT 1"
    ).fetchone()[0]
    with transaction(conn):
        label = ensure_household_label(runtime.ctx, hid)
    return hid, make("HH", label.code)


def test_lookup_json_has_household_and_open_cases(kiosk, demo_db, labelled):
    hid, payload = labelled
    out = kiosk("--db", str(demo_db), "lookup", payload.readable.lower(), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["household"]["id"] == hid and doc["household"]["address"]
    assert doc["kind"] == "household" and doc["payload"] == payload.text
    assert doc["open_cases"] and all(c["status"] != "closed" for c in doc["open_cases"])
    assert {"id", "number", "category", "status"} <= set(doc["open_cases"][0])


def test_lookup_text(kiosk, demo_db, labelled):
    _, payload = labelled
    out = kiosk("--db", str(demo_db), "lookup", payload.text.replace("1", "l", 1))
    assert out.returncode == 0, out.stderr
    assert "住户：" in out.stdout and "未办结事项" in out.stdout


@pytest.mark.parametrize(
    "mangle, message",
    [
        (lambda p: p.text[:-1] + ("0" if p.text[-1] != "0" else "1"), "不是有效的标签"),
        (lambda p: p.text[:9], "不是有效的标签"),
        (lambda p: "HH1:" + "7" * 10_000, "不是有效的标签"),
        (lambda p: "hello", "不是有效的标签"),
        (lambda p: make("HH", encode_id(4242)).text, "标签不存在或已作废"),
    ],
)
def test_lookup_refuses_bad_payloads(kiosk, demo_db, labelled, mangle, message):
    _, payload = labelled
    out = kiosk("--db", str(demo_db), "lookup", mangle(payload), "--json")
    assert out.returncode == 1
    assert out.stdout == ""
    assert message in out.stderr and "Traceback" not in out.stderr


def test_retired_label(kiosk, runtime, demo_db, labelled):
    hid, payload = labelled
    with transaction(runtime.conn):
        reprint_household_label(runtime.ctx, hid)
    out = kiosk("--db", str(demo_db), "--lang", "en", "lookup", payload.readable)
    assert out.returncode == 1 and "Label not found / retired" in out.stderr


def test_lookup_needs_exactly_one_input(kiosk, demo_db):
    assert kiosk("--db", str(demo_db), "lookup").returncode == 2
    assert kiosk("--db", str(demo_db), "lookup", "x", "--image", "y.png").returncode == 2


def test_photo_lookup_honours_exif_orientation(kiosk, demo_db, labelled, tmp_path):
    from kiosk.qr.decode import decode_image

    hid, payload = labelled
    upright = qr_photo(payload.text).convert("RGB")
    upright.save(tmp_path / "upright.jpg")
    # the camera stored the pixels turned a quarter and said so in EXIF (orientation 6)
    stored = upright.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "phone.jpg", exif=exif)
    plain = tmp_path / "no-exif.jpg"
    stored.save(plain)
    assert [d.orientation for d in decode_image(tmp_path / "upright.jpg")] == [0]
    assert [d.orientation for d in decode_image(tmp_path / "phone.jpg")] == [0]
    assert [abs(d.orientation) for d in decode_image(plain)] == [90]
    out = kiosk("--db", str(demo_db), "lookup", "--image", str(tmp_path / "phone.jpg"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["household"]["id"] == hid


def test_bad_photos_get_clear_messages(kiosk, demo_db, tmp_path):
    good = tmp_path / "good.png"
    qr_photo(make("HH", encode_id(7)).text).save(good)
    broken = tmp_path / "broken.png"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), "white").save(blank)
    other = tmp_path / "wechat.png"
    qr_photo("HTTPS://EXAMPLE.COM/PAY").save(other)
    cases = [
        (broken, "无法读取图片"),
        (garbage, "无法读取图片"),
        (blank, "没有找到二维码"),
        (other, "不是本系统的标签"),
        (tmp_path / "missing.png", "找不到图片文件"),
        (good, "标签不存在或已作废"),
    ]
    for path, message in cases:
        out = kiosk("--db", str(demo_db), "lookup", "--image", str(path))
        assert out.returncode == 1, (path, out.stderr)
        assert message in out.stderr and "Traceback" not in out.stderr, (path, out.stderr)


def test_scan_reads_wedge_lines_from_stdin(kiosk, demo_db, labelled):
    hid, payload = labelled
    out = kiosk(
        "--db",
        str(demo_db),
        "scan",
        "--json",
        input=f"{payload.text}\nHH1:0000\n\n{payload.readable}\n",
    )
    assert out.returncode == 1  # one line was bad
    doc = json.loads(out.stdout)
    assert [
        s.get("household", {}).get("id") if "error" not in s else None for s in doc["scans"]
    ] == [hid, None, hid]
    assert "不是有效的标签" in out.stderr


def test_scan_camera_without_camera_or_extra_is_a_message(kiosk, demo_db):
    out = kiosk("--db", str(demo_db), "scan", "--camera", "--timeout", "1")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    try:
        import cv2  # noqa: F401
    except ImportError:
        assert "grid-kiosk[camera]" in out.stderr
    else:
        assert "摄像头" in out.stderr


def test_camera_absent_extra_in_process(monkeypatch):
    from kiosk.core.errors import UserError
    from kiosk.qr.camera import scan_camera

    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(UserError) as err:
        scan_camera(0, 0.1)
    assert err.value.key == "qr.camera.no_extra"

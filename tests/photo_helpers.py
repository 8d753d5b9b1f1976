"""Phone-like photos for the tests: JPEGs carrying every kind of metadata a phone or an
editor writes (EXIF with GPS and the camera's serial, XMP, IPTC, a comment, an ICC profile),
each holding a marker string that must never be found in what is stored."""

from __future__ import annotations

import io
import struct
from fractions import Fraction
from pathlib import Path

from PIL import Image

#: strings hidden in the metadata of :func:`phone_jpeg`; none may survive preparation
SECRETS = (
    b"SERIAL-4711-SECRET",
    b"Zhang San XMP",
    b"IPTC-OWNER-Li-Si",
    b"COMMENT-at-home-of",
    b"MAKER-NOTE-private",
    b"OWNER-NAME-EXIF",
)
#: 31.2304 N, 121.4737 E (Shanghai), as the rationals EXIF writes
GPS = {
    1: "N",
    2: (Fraction(31), Fraction(13), Fraction(4944, 100)),
    3: "E",
    4: (Fraction(121), Fraction(28), Fraction(2532, 100)),
}


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _iptc() -> bytes:
    # one IPTC-IIM record 2:80 (by-line) inside a Photoshop 8BIM resource 0x0404
    record = b"\x1c\x02\x50" + struct.pack(">H", len(SECRETS[2])) + SECRETS[2]
    if len(record) % 2:
        record += b"\x00"
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(record))
    return b"Photoshop 3.0\x00" + resource + record


def _xmp() -> bytes:
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b"<dc:creator>" + SECRETS[1] + b"</dc:creator><exif:GPSLatitude>31,13.824N"
        b"</exif:GPSLatitude></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    return b"http://ns.adobe.com/xap/1.0/\x00" + packet


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel X"  # Model
    exif[0x0112] = orientation
    exif[0x013B] = SECRETS[5].decode()  # Artist
    exif[0x0132] = "2026:12:04 09:30:00"  # DateTime
    sub = exif.get_ifd(0x8769)
    sub[0xA431] = SECRETS[0].decode()  # BodySerialNumber
    sub[0x927C] = SECRETS[4]  # MakerNote
    sub[0x9003] = "2026:12:04 09:30:00"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps.update(GPS)
    return exif.tobytes()


def phone_jpeg(width: int = 400, height: int = 300, *, orientation: int = 1) -> bytes:
    """A JPEG whose left half is red and right half blue, with all the metadata above."""
    img = Image.new("RGB", (width, height), (220, 20, 20))
    img.paste((20, 20, 220), (width // 2, 0, width, height))
    buf = io.BytesIO()
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img.save(buf, "JPEG", quality=90, exif=_exif(orientation), icc_profile=icc)
    data = buf.getvalue()
    extra = (
        _segment(0xE1, _xmp())
        + _segment(0xED, _iptc())
        + _segment(0xFE, SECRETS[3] + b" 31.2304,121.4737")
    )
    return data[:2] + extra + data[2:]


def write_phone_jpeg(path: Path, **kwargs: int) -> Path:
    path.write_bytes(phone_jpeg(**kwargs))
    return path


def jpeg_segments(data: bytes) -> list[int]:
    """The markers of a JPEG's segments before its image data (0xE0 APP0 ... 0xFE COM)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, i = [], 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the image data follows
            break
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        markers.append(marker)
        i += 2 + length
    return markers

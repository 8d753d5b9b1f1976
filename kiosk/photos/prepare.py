"""A photo made fit to keep: decoded, turned upright, shrunk, and encoded afresh with nothing
but its pixels.

A phone's photo carries where it was taken (EXIF GPS), the camera's serial number, the time,
the owner's name in XMP or IPTC, thumbnails of the uncropped picture, comments. None of it may
reach the database: the pixels are copied into a new image that has no metadata at all (not
one that had its metadata removed), so nothing a format carries along can survive. Its
orientation is applied first (a photo taken sideways is stored upright), then it is resized to
at most ``long_edge`` pixels on its longer side and encoded as a baseline JPEG.

JPEG is decoded at a reduced scale straight from its DCT coefficients when the target is at
least two times smaller (Pillow's ``draft``), which is most of the speed of attaching a 12 MP
photo. PNG, WebP and GIF (first frame) are read too; HEIC/HEIF when the optional decoder is
installed (``pip install 'grid-kiosk[heic]'``: pillow-heif), else refused with a message
that says so. A file too large, an image with too many pixels (a decompression bomb), or a file
that is no image is refused with :class:`PhotoRefused` before anything is decoded.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from kiosk.core.errors import UserError

#: the longer side of a stored photo, in pixels (settings: photo_long_edge)
LONG_EDGE = 1600
#: JPEG quality of a stored photo (settings: photo_quality)
QUALITY = 82
#: a file larger than this is not read (a 12 MP phone JPEG is 3-6 MB, a 48 MP HEIC ~10 MB)
MAX_FILE_BYTES = 40 * 1024 * 1024
#: an image with more pixels than this is refused before it is decoded (a 108 MP phone photo
#: fits; a "decompression bomb" claims billions; Pillow itself stops at 179 million)
MAX_PIXELS = 120_000_000
#: formats read, as Pillow names them (MPO: the JPEG of phones that add a depth frame)
FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "HEIF"})
#: the brands of an ISO media file that hold a HEIC/HEIF image
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis", b"avif")


class PhotoRefused(UserError):
    """A file that cannot become a stored photo; the message names the file and why."""


@dataclass(frozen=True)
class Prepared:
    """A photo ready to store: JPEG bytes with no metadata, named by their SHA-256."""

    data: bytes
    sha256: str
    width: int
    height: int

    @property
    def size(self) -> int:
        return len(self.data)


def _heif_available() -> bool:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


def _looks_like_heif(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _fit(width: int, height: int, long_edge: int) -> tuple[int, int]:
    """``(width, height)`` scaled so the longer side is at most ``long_edge``."""
    longer = max(width, height)
    if longer <= long_edge:
        return width, height
    scale = long_edge / longer
    return max(1, round(width * scale)), max(1, round(height * scale))


def prepare_file(path: Path, *, long_edge: int = LONG_EDGE, quality: int = QUALITY) -> Prepared:
    """Read ``path`` and prepare it (see the module's text); :class:`PhotoRefused` says why not."""
    shown = str(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise PhotoRefused("photos.error.not_file", exit_code=2, path=shown)
        if size > MAX_FILE_BYTES:
            raise PhotoRefused(
                "photos.error.too_big",
                exit_code=2,
                path=shown,
                mb=size // (1024 * 1024),
                limit=MAX_FILE_BYTES // (1024 * 1024),
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise PhotoRefused("photos.error.not_found", exit_code=2, path=shown) from None
    except IsADirectoryError:
        raise PhotoRefused("photos.error.not_file", exit_code=2, path=shown) from None
    except PermissionError:
        raise PhotoRefused("photos.error.unreadable", exit_code=2, path=shown) from None
    return prepare_bytes(data, name=shown, long_edge=long_edge, quality=quality)


def prepare_bytes(
    data: bytes, *, name: str = "", long_edge: int = LONG_EDGE, quality: int = QUALITY
) -> Prepared:
    """Prepare the image in ``data`` (``name`` only for messages)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > MAX_FILE_BYTES:
        raise PhotoRefused(
            "photos.error.too_big",
            exit_code=2,
            path=name,
            mb=len(data) // (1024 * 1024),
            limit=MAX_FILE_BYTES // (1024 * 1024),
        )
    if _looks_like_heif(data[:16]) and not _heif_available():
        raise PhotoRefused("photos.error.heic", exit_code=2, path=name)
    Image.init()
    readable = [f for f in sorted(FORMATS) if f in Image.OPEN]  # HEIF once its opener is in
    try:
        with warnings.catch_warnings():  # the pixel bound below is ours, and lower
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=readable)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise PhotoRefused("photos.error.not_image", exit_code=2, path=name) from None
    except Image.DecompressionBombError:
        raise PhotoRefused(
            "photos.error.too_many_pixels", exit_code=2, path=name, mp=MAX_PIXELS // 10**6
        ) from None
    with img:
        width, height = img.size
        if width < 1 or height < 1 or width * height > MAX_PIXELS:
            raise PhotoRefused(
                "photos.error.too_many_pixels", exit_code=2, path=name, mp=MAX_PIXELS // 10**6
            )
        try:
            orientation = img.getexif().get(0x0112, 1)
        except Exception:  # noqa: BLE001 - a damaged EXIF block: the pixels as they are
            orientation = 1
        sideways = orientation in (5, 6, 7, 8)
        upright = (height, width) if sideways else (width, height)
        target = _fit(*upright, long_edge)
        if img.format in ("JPEG", "MPO"):
            # decode at 1/2, 1/4 or 1/8 scale when that still covers the target
            img.draft("RGB", (target[1], target[0]) if sideways else target)
        try:
            img.load()
            picture: Image.Image = img
            if picture.mode not in ("RGB", "L"):
                picture = _flatten(picture)
            if orientation != 1:
                picture = ImageOps.exif_transpose(picture)
            if picture.size != target:
                picture = picture.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        except (OSError, ValueError, SyntaxError):
            raise PhotoRefused("photos.error.damaged", exit_code=2, path=name) from None
        except Image.DecompressionBombError:
            raise PhotoRefused(
                "photos.error.too_many_pixels", exit_code=2, path=name, mp=MAX_PIXELS // 10**6
            ) from None
        # the pixels alone, in an image that never had metadata
        clean = Image.frombytes("RGB", picture.size, picture.convert("RGB").tobytes())
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=quality, optimize=True)
    encoded = out.getvalue()
    return Prepared(
        data=encoded,
        sha256=hashlib.sha256(encoded).hexdigest(),
        width=clean.width,
        height=clean.height,
    )


def _flatten(img):  # type: ignore[no-untyped-def]
    """An image with transparency or a palette, as RGB on white (a PNG screenshot, a GIF)."""
    from PIL import Image

    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if img.mode.startswith("I;16") or img.mode == "I":
        return img.point(lambda v: v / 256).convert("L")
    return img.convert("RGB")

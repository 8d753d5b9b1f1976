"""Reading labels from photos: Pillow opens the file (EXIF orientation honoured), zxing-cpp
finds the QR codes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.core.errors import UserError

#: Photos larger than this are refused before decoding (Pillow's bomb guard, in pixels).
MAX_PIXELS = 80_000_000


@dataclass(frozen=True)
class Decoded:
    text: str
    #: How far the code is turned in the upright photo (degrees), after EXIF orientation.
    orientation: int


def decode_image(path: str | Path) -> list[Decoded]:
    """Every QR code in the photo at ``path``, upright as the camera meant it.

    Raises :class:`UserError` for a missing, unreadable, damaged or oversized file and for a
    photo with no QR code in it.
    """
    import zxingcpp
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise UserError("qr.image.missing", path=str(p)[:200])
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(p) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
            if image.mode not in ("L", "RGB"):
                image = image.convert("RGB")
    except Image.DecompressionBombError:
        raise UserError("qr.image.too_large", path=p.name[:120]) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise UserError("qr.image.unreadable", path=p.name[:120]) from None
    found = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    out = [Decoded(b.text, int(b.orientation)) for b in found if b.valid and b.text]
    if not out:
        raise UserError("qr.image.no_code", path=p.name[:120])
    return out

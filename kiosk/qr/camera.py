"""Scanning with a webcam, where the optional extra is installed
(``pip install 'grid-kiosk[camera]'``: opencv-python-headless). OpenCV grabs frames,
zxing-cpp decodes them; the first label payload seen is returned.

Without the extra or without a camera the caller gets a :class:`UserError` saying which,
never a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kiosk.core.errors import UserError
from kiosk.qr.payload import looks_like_label, try_parse


def load_cv2():
    """OpenCV, or ``qr.camera.no_extra``."""
    try:
        import cv2
    except ImportError:
        raise UserError("qr.camera.no_extra") from None
    return cv2


def scan_camera(
    index: int | str = 0, timeout: float = 30.0, cancelled: Callable[[], bool] = lambda: False
) -> str:
    """Watch camera ``index`` until a label's QR code is in view; return its payload text."""
    import zxingcpp

    cv2 = load_cv2()
    cap = cv2.VideoCapture(index)
    try:
        if not cap.isOpened():
            raise UserError("qr.camera.none", index=index)
        deadline = time.monotonic() + timeout
        failures = 0
        while time.monotonic() < deadline:
            if cancelled():
                raise UserError("qr.camera.cancelled")
            ok, frame = cap.read()
            if not ok:
                failures += 1
                if failures > 30:
                    raise UserError("qr.camera.none", index=index)
                time.sleep(0.03)
                continue
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            for found in zxingcpp.read_barcodes(
                gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
            ):
                if try_parse(found.text) or looks_like_label(found.text):
                    return found.text
        raise UserError("qr.camera.timeout", seconds=int(timeout))
    finally:
        cap.release()

"""QR matrices, made by zxing-cpp's encoder (C++: a thousand codes take a fifth of a second).

A label payload is upper-case QR alphanumeric text of 17 characters, which zxing-cpp encodes
in alphanumeric mode: a version-1 code (21x21 modules) at error-correction level M.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

#: Error correction for labels: M restores 15% of the code, enough for a scuffed door label,
#: and keeps a 17-character payload in a version-1 code.
EC_LEVEL = "M"
#: The quiet zone the QR standard asks for, in modules.
QUIET_ZONE = 4


@lru_cache(maxsize=256)
def qr_matrix(text: str, ec_level: str = EC_LEVEL) -> tuple[tuple[bool, ...], ...]:
    """The code's modules, row by row, True for dark, without quiet zone."""
    import zxingcpp

    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec_level)
    bitmap: Any = barcode.to_image(scale=1, add_quiet_zones=False)
    image = memoryview(bitmap)
    height, width = image.shape or (0, 0)
    data = image.tobytes()
    return tuple(tuple(data[y * width + x] < 128 for x in range(width)) for y in range(height))


def dark_runs(row: tuple[bool, ...]) -> list[tuple[int, int]]:
    """(start, length) of each run of dark modules in a row: one filled rectangle each."""
    runs, start = [], None
    for x, dark in enumerate(row):
        if dark and start is None:
            start = x
        elif not dark and start is not None:
            runs.append((start, x - start))
            start = None
    if start is not None:
        runs.append((start, len(row) - start))
    return runs


def module_rects(matrix: tuple[tuple[bool, ...], ...]) -> list[tuple[int, int, int, int]]:
    """The dark modules as few filled rectangles (x, y, width, height in modules): runs of a row,
    merged down while the rows below have the very same run. A label's code takes about a
    hundred rectangles instead of two hundred one-module-high ones."""
    rects: list[tuple[int, int, int, int]] = []
    open_runs: dict[tuple[int, int], int] = {}  # (start, length) -> first row
    for y, row in enumerate(matrix):
        runs = set(dark_runs(row))
        for run in [r for r in open_runs if r not in runs]:
            top = open_runs.pop(run)
            rects.append((run[0], top, run[1], y - top))
        for run in runs:
            open_runs.setdefault(run, y)
    for run, top in open_runs.items():
        rects.append((run[0], top, run[1], len(matrix) - top))
    return rects

"""A photo from the laptop's webcam (the optional extra ``grid-kiosk[camera]``: OpenCV).

OpenCV reads frames from the camera the ``camera_index`` setting names (a number, or a video
stream's address: a phone running an IP-camera app); a few frames are let go first so the
camera settles its exposure, then one is taken. It is prepared as any photo is
(kiosk/photos/prepare.py: resized, no metadata) and kept, until the form that wanted it is
saved, as a file in a private folder (``<data dir>/camera``, 0700, files 0600): the forms'
photo field takes files. Saving the form removes the shots it attached; shots left behind
(a form cancelled) are removed a day later, when the picker next opens.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from kiosk.core.config import Settings, camera_source, data_dir
from kiosk.core.errors import UserError
from kiosk.photos.prepare import Prepared, prepare_bytes

#: frames read and dropped before the shot (auto exposure and white balance settle)
WARMUP_FRAMES = 8
#: a shot left in the folder longer than this is removed
KEEP_SECONDS = 24 * 3600


def shots_dir() -> Path:
    """The private folder camera shots wait in (created 0700)."""
    folder = data_dir() / "camera"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def _load_cv2():  # type: ignore[no-untyped-def]
    try:
        import cv2
    except ImportError:
        raise UserError("qr.camera.no_extra") from None
    return cv2


def grab(source: int | str, warmup: int = WARMUP_FRAMES) -> bytes:
    """One frame from camera ``source`` as a PNG (lossless; prepared after)."""
    cv2 = _load_cv2()
    cap = cv2.VideoCapture(source)
    try:
        if not cap.isOpened():
            raise UserError("qr.camera.none", index=source)
        frame, failures = None, 0
        read = 0
        while read <= warmup:
            ok, got = cap.read()
            if not ok:
                failures += 1
                if failures > 30 or frame is not None:
                    break  # a file or stream that ended: its last frame
                time.sleep(0.03)
                continue
            frame, read = got, read + 1
        if frame is None:
            raise UserError("qr.camera.none", index=source)
        ok, png = cv2.imencode(".png", frame)
        if not ok:
            raise UserError("qr.camera.none", index=source)
        return bytes(png.tobytes())
    finally:
        cap.release()


def take_photo(settings: Settings) -> tuple[Path, Prepared]:
    """A shot from the configured camera, prepared and written to :func:`shots_dir`."""
    prepared = prepare_bytes(
        grab(camera_source(settings.camera_index)),
        name="camera",
        long_edge=settings.photo_long_edge,
        quality=settings.photo_quality,
    )
    folder = shots_dir()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"camera-{stamp}-{prepared.sha256[:8]}.jpg"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(prepared.data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path, prepared


def is_shot(path: Path) -> bool:
    """Is ``path`` a camera shot waiting in the private folder?"""
    try:
        return path.resolve().parent == (data_dir() / "camera").resolve()
    except OSError:
        return False


def discard_shots(paths: Iterable[Path]) -> None:
    """Remove the camera shots among ``paths`` (their photos are stored now)."""
    for path in paths:
        if is_shot(path):
            path.unlink(missing_ok=True)


def sweep(now: float | None = None) -> int:
    """Remove shots older than :data:`KEEP_SECONDS`; how many."""
    folder = data_dir() / "camera"
    if not folder.is_dir():
        return 0
    limit = (time.time() if now is None else now) - KEEP_SECONDS
    gone = 0
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
                gone += 1
        except OSError:
            continue
    return gone

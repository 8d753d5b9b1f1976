"""Photo benchmarks, each with a baseline measured in the same run.

- attach 10 phone photos (12 MP JPEG, 4000 x 3000, with EXIF) to a case's step: each
  prepared (decoded, turned upright, shrunk to 1600 px, re-encoded without metadata) and
  stored with its record in one transaction (budget 3 s); baseline: Pillow's own full
  decode and LANCZOS resize of the same files to the same size, which is what a program that
  did not use JPEG's reduced-scale decoding would pay before it even encodes.

The photos are generated once into bench/.cache/photos: smooth shading with fine noise, so
that they compress like a photo of a wall or a pipe (3-4 MB each), not like a flat image.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import CACHE, idle_and_busy, report

PHOTOS = int(os.environ.get("KIOSK_BENCH_PHOTOS", "10"))
SIZE = (4000, 3000)
ROUNDS = 3


def _phone_photos() -> list[Path]:
    from PIL import Image, ImageFilter

    folder = CACHE / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"IMG_{i:04d}.JPG" for i in range(PHOTOS)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        rng = random.Random(7)
        for p in missing:
            small = Image.effect_noise((SIZE[0] // 8, SIZE[1] // 8), 60).convert("RGB")
            base = small.resize(SIZE, Image.Resampling.BICUBIC).filter(ImageFilter.SMOOTH)
            grain = Image.effect_noise(SIZE, 12).convert("RGB")
            img = Image.blend(base, grain, 0.25)
            exif = Image.Exif()
            exif[0x010F], exif[0x0110], exif[0x0112] = "Phone", "Model", rng.choice([1, 6])
            img.save(p, "JPEG", quality=92, exif=exif.tobytes())
    return paths


def _baseline(paths: list[Path]) -> float:
    from PIL import Image

    started = time.perf_counter()
    for p in paths:
        with Image.open(p) as img:
            img.convert("RGB").resize((1600, 1200), Image.Resampling.LANCZOS)
    return time.perf_counter() - started


def _attach(paths: list[Path], runtime, case_id: str, event_id: str) -> float:
    from db.connection import transaction
    from kiosk.photos.attach import attach_prepared, prepare_files

    started = time.perf_counter()
    photos = prepare_files(paths, runtime.settings)
    with transaction(runtime.conn):
        attach_prepared(runtime.ctx, case_id, event_id, photos)
    took = time.perf_counter() - started
    with transaction(runtime.conn):  # the next round stores them afresh
        runtime.conn.execute("DELETE FROM photos")
        runtime.conn.execute("DELETE FROM photo_blobs")
        runtime.conn.execute("DELETE FROM outbox WHERE entity = 'photo'")
    return took


def main() -> bool:
    from db.photos import register_event
    from kiosk.cli.demo import build_demo
    from kiosk.runtime import load, open_runtime

    paths = _phone_photos()
    mb = sum(p.stat().st_size for p in paths) / 2**20
    print(f"  {len(paths)} photos of {SIZE[0]} x {SIZE[1]} ({mb:.1f} MB in all)")
    with tempfile.TemporaryDirectory() as tmp:
        runtime = open_runtime(load(db=str(Path(tmp) / "photos.db")))
        try:
            build_demo(runtime, 200, 1)
            case_id = runtime.conn.execute("SELECT id FROM cases LIMIT 1").fetchone()[0]
            event_id = register_event(runtime.conn, case_id)

            def measure() -> bool:
                base, ours = [], []
                for _ in range(ROUNDS):  # taking turns, so both see the same machine
                    base.append(_baseline(paths))
                    ours.append(_attach(paths, runtime, case_id, event_id))
                return report(
                    f"attach {len(paths)} phone photos (12 MP JPEG) to a case step",
                    statistics.median(ours),
                    "s",
                    budget=3.0,
                    baseline=statistics.median(base),
                )

            return idle_and_busy(measure)
        finally:
            runtime.close()

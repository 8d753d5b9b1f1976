"""Shared benchmark helpers: the cached 1M-household database, percentiles, reporting."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path

CACHE = Path(__file__).parent / ".cache"
MILLION = int(os.environ.get("KIOSK_BENCH_HOUSEHOLDS", "1000000"))


def percentile(samples: list[float], p: float) -> float:
    s = sorted(samples)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def report(
    name: str,
    value: float,
    unit: str,
    budget: float | None = None,
    baseline: float | None = None,
    higher_is_better: bool = False,
) -> bool:
    """Print one figure; with a baseline, the ratio; with a budget, PASS or OVER."""
    parts = [f"{name}: {value:.3f} {unit}"]
    if baseline:
        parts.append(f"ratio {value / baseline:.2f}x baseline ({baseline:.3f} {unit})")
    ok = True
    if budget is not None:
        ok = value >= budget if higher_is_better else value <= budget
        parts.append(
            ("PASS" if ok else "OVER")
            + f" (budget {'>=' if higher_is_better else '<='} {budget} {unit})"
        )
    print("  " + " | ".join(parts), flush=True)
    return ok


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def million_db(households: int = MILLION, seed: int = 1) -> Path:
    """A demo database of ``households`` (built once, then reused from bench/.cache)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"demo-{households}-{seed}.db"
    if path.exists():
        return up_to_date(path)
    os.environ.setdefault("KIOSK_DATA_DIR", str(CACHE / "data"))
    from kiosk.cli.demo import build_demo
    from kiosk.runtime import load, open_runtime

    tmp = path.with_suffix(".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    runtime = open_runtime(load(db=str(tmp)))
    try:
        build_demo(runtime, households, seed)
        runtime.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        runtime.close()
    shutil.move(tmp, path)
    return path


def up_to_date(path: Path) -> Path:
    """A cached database brought to the current schema (as the app would on opening it):
    benchmarks that read it with a bare connection would otherwise miss newer columns."""
    from db.connection import open_database

    open_database(path).close()
    return path


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def warm_os_cache(path: Path) -> None:
    """Read the database file once so the measurements see it in the OS page cache, as on a
    laptop in use (a benchmark that has just written gigabytes has evicted it)."""
    with open(path, "rb") as fh:
        while fh.read(16 * 1024 * 1024):
            pass

"""Shared benchmark helpers: the cached 1M-household database, percentiles, reporting."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(__file__).parent / ".cache"
MILLION = int(os.environ.get("KIOSK_BENCH_HOUSEHOLDS", "1000000"))


def percentile(samples: list[float], p: float) -> float:
    s = sorted(samples)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


@dataclass
class Figure:
    """One printed figure, kept for the summary table at the end of ``make bench``."""

    bench: str
    name: str
    value: float
    unit: str
    budget: float | None
    higher_is_better: bool
    ok: bool


#: every figure reported in this run, in order (bench/__main__.py prints them as a table)
FIGURES: list[Figure] = []
#: the benchmark module running now (set by bench/__main__.py)
CURRENT = [""]
#: said after a figure's name when it was measured with one core kept busy
BUSY = " [one core busy]"


def report(
    name: str,
    value: float,
    unit: str,
    budget: float | None = None,
    baseline: float | None = None,
    higher_is_better: bool = False,
) -> bool:
    """Print one figure; with a baseline, the ratio; with a budget, PASS or OVER."""
    if _busy_now[0]:
        name += BUSY
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
    FIGURES.append(Figure(CURRENT[0], name.strip(), value, unit, budget, higher_is_better, ok))
    return ok


_busy_now = [False]

# Spins one core until killed; says so first, so the measurement starts on a busy machine.
_SPIN = "import sys\nprint('spinning', flush=True)\nwhile True:\n    pass\n"


@contextlib.contextmanager
def busy_core() -> Iterator[None]:
    """Another process running at full speed on one core for the duration: a laptop that is
    also indexing, updating or playing a video. Figures reported inside are marked."""
    spinner = subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True)
    try:
        assert spinner.stdout is not None and spinner.stdout.readline().strip() == "spinning"
        _busy_now[0] = True
        yield
    finally:
        _busy_now[0] = False
        spinner.kill()
        spinner.wait()


def idle_and_busy(measure: Callable[[], bool]) -> bool:
    """Run a measurement (which reports its figures) on a quiet machine, then again with one
    core kept busy; both must hold."""
    ok = measure()
    with busy_core():
        ok &= measure()
    return ok


def summary_table(figures: list[Figure]) -> str:
    """Every figure with a budget, its value and PASS/OVER; then how many have none."""
    rows = [f for f in figures if f.budget is not None]
    width = min(62, max((len(f"{f.bench} {f.name}") for f in rows), default=10))
    lines = [f"{'figure':<{width}}  {'value':>12}  {'budget':>14}  verdict"]
    for f in rows:
        label = f"{f.bench.removeprefix('bench_')}: {f.name}"
        if len(label) > width:
            label = label[: width - 1] + "…"
        sign = ">=" if f.higher_is_better else "<="
        lines.append(
            f"{label:<{width}}  {f.value:>9.3f} {f.unit[:2]:<2}  {sign} {f.budget:>8g} {f.unit[:2]:<2}"
            f"  {'PASS' if f.ok else 'OVER'}"
        )
    over = sum(not f.ok for f in rows)
    lines.append(
        f"{len(rows)} figures with a budget: {len(rows) - over} PASS, {over} OVER;"
        f" {len(figures) - len(rows)} more printed without one"
    )
    return "\n".join(lines)


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

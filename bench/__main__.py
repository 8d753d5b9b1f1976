"""Run every benchmark module (or those named on the command line: python -m bench search)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def _as_signed_in() -> None:
    """The benchmarks write as the demo worker, as after their PIN: every runtime they open
    is verified (the write guard refuses a named worker's writes until then)."""
    import kiosk.runtime

    opened = kiosk.runtime.open_runtime

    def open_verified(*args, **kwargs):
        runtime = opened(*args, **kwargs)
        runtime.ctx.verified = True
        return runtime

    kiosk.runtime.open_runtime = open_verified


def main(argv: list[str]) -> int:
    _as_signed_in()
    names = sorted(
        i.name for i in pkgutil.iter_modules(bench.__path__) if i.name.startswith("bench_")
    )
    wanted = [f"bench_{a.removeprefix('bench_')}" for a in argv] or names
    failed = 0
    from bench.common import CURRENT, FIGURES, summary_table

    for name in wanted:
        CURRENT[0] = name
        started = time.perf_counter()
        print(f"\n=== {name} ===", flush=True)
        try:
            ok = importlib.import_module(f"bench.{name}").main()
        except Exception as exc:  # noqa: BLE001 - report and go on with the next benchmark
            print(f"{name}: ERROR {type(exc).__name__}: {exc}", flush=True)
            ok = False
        failed += ok is False
        print(f"({name}: {time.perf_counter() - started:.1f} s)", flush=True)
    print("\n=== summary ===", flush=True)
    print(summary_table(FIGURES), flush=True)
    return 1 if failed or any(not f.ok for f in FIGURES) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

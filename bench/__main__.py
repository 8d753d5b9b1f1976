"""Run every benchmark module (or those named on the command line: python -m bench search).

Each module runs in a process of its own, as the app and every ``kiosk`` command do in the
field: one module's leftovers never weigh on the next one's figures. In one shared process
they did: the frame rate Textual read on its first import, and the objects earlier modules
left alive, which every later full collection of Python's garbage collector walks (306,000
after five modules; a collection then took up to 320 ms, against 70 ms in a fresh process).
The child hands its figures back in a JSON file for the summary table at the end.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench

#: ``python -m bench --one NAME FILE``: run one module here and write its figures to FILE
ONE = "--one"


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


def run_one(name: str, figures: Path) -> int:
    """One module in this process; its figures written to ``figures`` whatever happens."""
    from bench.common import CURRENT, FIGURES

    _as_signed_in()
    CURRENT[0] = name
    try:
        ok = importlib.import_module(f"bench.{name}").main()
    except Exception as exc:  # noqa: BLE001 - report it; the parent goes on with the next
        print(f"{name}: ERROR {type(exc).__name__}: {exc}", flush=True)
        ok = False
    finally:
        figures.write_text(json.dumps([dataclasses.asdict(f) for f in FIGURES]))
    return 0 if ok is not False else 1


def main(argv: list[str]) -> int:
    if argv[:1] == [ONE]:
        return run_one(argv[1], Path(argv[2]))
    names = sorted(
        i.name for i in pkgutil.iter_modules(bench.__path__) if i.name.startswith("bench_")
    )
    wanted = [f"bench_{a.removeprefix('bench_')}" for a in argv] or names
    failed = 0
    from bench.common import FIGURES, Figure, summary_table

    root = Path(bench.__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="bench-figures-") as tmp:
        for name in wanted:
            started = time.perf_counter()
            print(f"\n=== {name} ===", flush=True)
            out = Path(tmp) / f"{name}.json"
            code = subprocess.run(
                [sys.executable, "-m", "bench", ONE, name, str(out)], cwd=root, env=os.environ
            ).returncode
            if out.exists():
                FIGURES.extend(Figure(**f) for f in json.loads(out.read_text()))
            if code:
                failed += 1
                if not out.exists():
                    print(f"{name}: ERROR the benchmark's process ended with {code}", flush=True)
            print(f"({name}: {time.perf_counter() - started:.1f} s)", flush=True)
    print("\n=== summary ===", flush=True)
    print(summary_table(FIGURES), flush=True)
    return 1 if failed or any(not f.ok for f in FIGURES) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

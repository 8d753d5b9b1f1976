"""Foundation figures on a 1M-household demo district.

- search p95 per query kind in the data layer, against an indexed prefix lookup (baseline);
- keystroke in the search box to results painted (Pilot), against a bare Input's keystroke;
- cold start to the first interactive screen (sign-in), against a minimal Textual app;
- sign-in: the PIN's Enter to the home screen with its walk list painted (p95);
- `kiosk demo --households N` wall time, and its writes against plain executemany;
- resident memory with the database open and a search done.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import MILLION, idle_and_busy, million_db, percentile, report, warm_os_cache

ROOT = Path(__file__).resolve().parent.parent


def sample_queries(conn: sqlite3.Connection, n: int = 200, seed: int = 5) -> dict[str, list[str]]:
    from db.normalize import name_pinyin

    rng = random.Random(seed)
    max_rid = conn.execute("SELECT max(rid) FROM households").fetchone()[0]
    rows = []
    while len(rows) < n:
        rid = rng.randint(1, max_rid)
        row = conn.execute(
            "SELECT h.building, h.unit, h.room, c.name AS compound, m.name, m.phone"
            " FROM households h JOIN compounds c ON c.id = h.compound_id"
            " JOIN members m ON m.household_id = h.id WHERE h.rid = ? AND m.phone != '' LIMIT 1",
            (rid,),
        ).fetchone()
        if row:
            rows.append(row)
    queries: dict[str, list[str]] = {
        k: []
        for k in (
            "name (3 chars)",
            "name (2 chars)",
            "pinyin full",
            "pinyin initials",
            "address 3栋2单元501",
            "address 3-2-501",
            "address 3号楼2单元501室",
            "compound + address",
            "compound name",
            "phone last 4",
        )
    }
    for b, u, r, compound, name, phone in rows:
        full, initials = name_pinyin(name)[0]
        if len(name) == 3:
            queries["name (3 chars)"].append(name)
        queries["name (2 chars)"].append(name[:2])
        queries["pinyin full"].append(full)
        queries["pinyin initials"].append(initials)
        queries["address 3栋2单元501"].append(f"{b}栋{u}单元{r}")
        queries["address 3-2-501"].append(f"{b}-{u}-{r}")
        queries["address 3号楼2单元501室"].append(f"{b}号楼{u}单元{r}室")
        queries["compound + address"].append(f"{compound}{b}栋{u}单元{r}")
        queries["compound name"].append(compound[:2])
        queries["phone last 4"].append(phone[-4:])
    return queries


def bench_search(db: Path) -> bool:
    from db.connection import connect
    from db.search import search_households

    warm_os_cache(db)
    conn = connect(db)
    queries = sample_queries(conn)
    # Baseline: one indexed prefix lookup, the floor any search must pay.
    base = []
    for q in queries["pinyin full"][:20]:  # warm up like the searches below
        conn.execute(
            "SELECT hh FROM search_terms WHERE term >= ? AND term < ? LIMIT 1",
            ("p:" + q, "p:" + q + "\U0010ffff"),
        ).fetchall()
    for q in queries["pinyin full"]:
        t0 = time.perf_counter()
        conn.execute(
            "SELECT hh FROM search_terms WHERE term >= ? AND term < ? LIMIT 1",
            ("p:" + q, "p:" + q + "\U0010ffff"),
        ).fetchall()
        base.append((time.perf_counter() - t0) * 1000)
    base_p95 = percentile(base, 95)
    print(f"  baseline indexed prefix lookup p95: {base_p95:.4f} ms")
    ok = True
    for kind, qs in queries.items():
        for q in qs[:20]:  # warm the page cache the way a worker's session does
            search_households(conn, q, limit=20)
        samples, found = [], 0
        for q in qs:
            t0 = time.perf_counter()
            hits = search_households(conn, q, limit=20)
            samples.append((time.perf_counter() - t0) * 1000)
            found += bool(hits)
        ok &= report(
            f"search p95 [{kind}] ({found}/{len(qs)} found)",
            percentile(samples, 95),
            "ms",
            budget=5.0,
            baseline=base_p95,
        )
    conn.close()
    return ok


class _KeyClock:
    """Times from a key reaching the focused Input to the frame that shows its effect.

    Pilot drives the keys; the clock is read inside the app: the start when the Input's key
    handler runs, the end when the compositor hands the first frame containing the effect to
    the terminal driver (``App._display``). Pilot's own idle-waiting is in neither our figure
    nor the baseline's.
    """

    def __init__(self) -> None:
        self.pressed = 0.0
        self.armed = False
        self.ready = False
        self.samples: list[float] = []

    def install(self) -> None:
        from textual.app import App
        from textual.widgets import Input

        original_key, original_display = Input._on_key, App._display
        clock = self

        async def timed_on_key(widget, event):  # type: ignore[no-untyped-def]
            clock.pressed = time.perf_counter()
            return await original_key(widget, event)

        def timed_display(app, screen, renderable):  # type: ignore[no-untyped-def]
            original_display(app, screen, renderable)
            if clock.armed and clock.ready and renderable is not None:
                clock.armed = clock.ready = False
                clock.samples.append((time.perf_counter() - clock.pressed) * 1000)

        Input._on_key = timed_on_key  # type: ignore[method-assign]
        App._display = timed_display  # type: ignore[method-assign]

        def restore() -> None:
            Input._on_key = original_key  # type: ignore[method-assign]
            App._display = original_display  # type: ignore[method-assign]

        self._restore = restore

    def effect_ready(self) -> None:
        """The widgets now hold the key's effect: the next frame shows it."""
        self.ready = True

    def uninstall(self) -> None:
        self._restore()


async def _pilot_keystrokes(db: Path) -> tuple[list[float], list[float]]:
    from kiosk.app.shell import KioskApp  # first: it sets the app's frame rate before Textual loads

    from textual.app import App  # isort: skip
    from textual.widgets import Input  # isort: skip

    from kiosk.core import collector
    from kiosk.runtime import load, open_runtime
    from screens.households.search import SearchScreen

    runtime = open_runtime(load(db=str(db)))
    conn = runtime.conn
    names = [r[0] for r in conn.execute("SELECT name FROM members WHERE rowid % 9973 = 0 LIMIT 60")]
    clock = _KeyClock()
    clock.install()
    original = SearchScreen.on_search_screen_results

    def timed_results(screen, message):  # type: ignore[no-untyped-def]
        original(screen, message)
        if message.generation == screen._generation:
            clock.effect_ready()

    SearchScreen.on_search_screen_results = timed_results  # type: ignore[method-assign]
    collector.hold_start()  # as ``kiosk`` starts the app: held to the first frame, then frozen
    app = KioskApp(runtime, signed_in=runtime.worker)
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.press("f2")
            await pilot.pause()
            inp = app.screen.query_one(Input)
            for name in names:
                inp.value = name[:-1]
                await app.workers.wait_for_complete()
                await pilot.pause()
                clock.armed, clock.ready = True, False
                await pilot.press(name[-1])
                await app.workers.wait_for_complete()
                await pilot.pause()
    finally:
        SearchScreen.on_search_screen_results = original  # type: ignore[method-assign]
        collector.release_start()
        gc.unfreeze()
    runtime.close()
    ours, clock.samples = clock.samples, []

    class Bare(App[None]):
        def compose(self):
            yield Input()

        def on_input_changed(self) -> None:
            clock.effect_ready()

    bare = Bare()
    async with bare.run_test(size=(100, 40)) as pilot:
        for name in names:
            clock.armed, clock.ready = True, False
            await pilot.press(name[-1])
            await pilot.pause()
    clock.uninstall()
    return ours, clock.samples


def bench_keystroke(db: Path) -> bool:
    warm_os_cache(db)
    samples, base = asyncio.run(_pilot_keystrokes(db))
    print(
        f"  median {percentile(samples, 50):.1f} ms (bare Input {percentile(base, 50):.1f} ms),"
        f" {len(samples)} keystrokes"
    )
    return report(
        "keystroke to results painted p95 (Pilot)",
        percentile(samples, 95),
        "ms",
        budget=50.0,
        baseline=percentile(base, 95),
    )


# Both programs run as they would in a terminal (``App.run``), headless: no terminal to draw on
# here. Each prints "ready" at its first frame with content and ends at once.
COLD_APP = r"""
import os, sys
from textual.app import App
display, run = App._display, App.run
def first_frame(app, screen, renderable):
    display(app, screen, renderable)
    if renderable is not None and type(app.screen).__name__ == "SignInScreen":
        print("ready", flush=True)  # the sign-in screen is on screen and keys are taken
        os._exit(0)
App._display = first_frame
App.run = lambda self, **kw: run(self, headless=True, size=(100, 40))
from kiosk.cli.main import main  # what the ``kiosk`` console script runs
main(["--db", sys.argv[1], "--worker", sys.argv[2]])
"""

COLD_MINIMAL = r"""
import os
from textual.app import App
from textual.widgets import Footer, Header, Static
display = App._display
def first_frame(app, screen, renderable):
    display(app, screen, renderable)
    if renderable is not None:
        print("ready", flush=True)
        os._exit(0)
App._display = first_frame
class Minimal(App):
    def compose(self):
        yield Header(); yield Static("hello"); yield Footer()
Minimal().run(headless=True, size=(100, 40))
"""


def _first_frame_time(code: str, *args: str, env: dict[str, str]) -> float:
    """Wall time from starting a process to its first frame with content."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.wait(timeout=60)
    if line.strip() != "ready":
        raise RuntimeError("the app did not reach its first screen")
    return elapsed


def _cold_starts(app_args: list[str], runs: int = 11) -> tuple[float, float]:
    """Median first-frame times of the minimal app and ours, the two started in turn (so a
    machine that slows down or speeds up during the benchmark weighs on both alike)."""
    import compileall

    # Like-for-like: Textual was byte-compiled when pip installed it; so are our packages
    # (``make run`` does it too), even where PYTHONDONTWRITEBYTECODE is set.
    for package in ("kiosk", "screens", "db"):
        compileall.compile_dir(ROOT / package, quiet=1)
    env = {**os.environ, "KIOSK_DATA_DIR": tempfile.mkdtemp()}
    minimal, ours = [], []
    _first_frame_time(COLD_MINIMAL, env=env)  # warm the OS file cache for both, untimed
    _first_frame_time(COLD_APP, *app_args, env=env)
    for _ in range(runs):
        minimal.append(_first_frame_time(COLD_MINIMAL, env=env))
        ours.append(_first_frame_time(COLD_APP, *app_args, env=env))
    return percentile(minimal, 50), percentile(ours, 50)


def bench_cold_start(db: Path) -> bool:
    """Process start to the first frame of the sign-in screen (what ``kiosk`` shows first,
    started as the console script starts it), offering a worker's name as on a laptop used
    before (``--worker``: the cached database is not written). Their home screen is fetched once the screen is up, so not counted here."""
    from db.connection import connect
    from db.workers import default_worker

    warm_os_cache(db)
    conn = connect(db)
    worker = default_worker(conn)
    conn.close()
    assert worker is not None
    minimal, ours = _cold_starts([str(db), worker.name])
    ratio = ours / minimal
    print(
        f"  cold start to the first frame of the sign-in screen: {ours * 1000:.0f} ms;"
        f" minimal Textual app's first frame {minimal * 1000:.0f} ms (medians, started in turn)"
    )
    return report("cold start ratio", ratio, "x minimal app", budget=1.5)


SIGNINS = 10


async def _signin_to_home(db: Path, name: str, pin: str) -> list[float]:
    """From the PIN's Enter (the check starting) to the frame with the home screen's walk list,
    ``SIGNINS`` times: the first with the home data fetched while the PIN was typed, the
    others (after signing out) fetched afresh."""
    from textual.app import App

    from kiosk.app.shell import KioskApp  # noqa: F401  # first: it sets the frame rate
    from kiosk.cli.run import start_app
    from kiosk.runtime import load, open_runtime
    from screens.base import GateScreen
    from screens.households.home import HomeScreen
    from screens.signin.signin import SignInScreen

    runtime = open_runtime(load(db=str(db), worker=name))
    app = start_app(runtime)
    samples: list[float] = []
    state = {"t0": 0.0, "loaded": False, "armed": False}
    display, check, loaded = App._display, GateScreen.check_pin, HomeScreen.on_home_screen_loaded

    def timed_check(screen, *args, **kwargs):  # type: ignore[no-untyped-def]
        state["t0"], state["armed"], state["loaded"] = time.perf_counter(), True, False
        return check(screen, *args, **kwargs)

    def timed_loaded(screen, message):  # type: ignore[no-untyped-def]
        loaded(screen, message)
        state["loaded"] = True

    def timed_display(self, screen, renderable):  # type: ignore[no-untyped-def]
        display(self, screen, renderable)
        if state["armed"] and state["loaded"] and renderable is not None:
            state["armed"] = False
            samples.append((time.perf_counter() - state["t0"]) * 1000)

    GateScreen.check_pin = timed_check  # type: ignore[method-assign]
    HomeScreen.on_home_screen_loaded = timed_loaded  # type: ignore[method-assign]
    App._display = timed_display  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            for _ in range(SIGNINS):
                for _ in range(500):  # bounded waits: 10 s
                    if isinstance(app.screen, SignInScreen):
                        break
                    await pilot.pause(0.02)
                for _ in range(500):  # a person takes longer to type a PIN than this
                    prefetched = app._home_prefetch
                    if samples or (prefetched is not None and prefetched.done()):
                        break
                    await pilot.pause(0.02)
                await pilot.pause()
                await pilot.press(*pin, "enter")  # the name is offered: only the PIN
                for _ in range(500):
                    if not state["armed"]:
                        break
                    await pilot.pause(0.02)
                await app.workers.wait_for_complete()
                app.sign_out()
    finally:
        GateScreen.check_pin = check  # type: ignore[method-assign]
        HomeScreen.on_home_screen_loaded = loaded  # type: ignore[method-assign]
        App._display = display  # type: ignore[method-assign]
        runtime.close()
    return samples


def bench_signin_to_home(db: Path) -> bool:
    from bench.bench_signin import signin_copy

    with tempfile.TemporaryDirectory() as tmp:
        copy, name, pin = signin_copy(db, tmp)  # signing in writes: not in the shared cache
        warm_os_cache(copy)
        samples = asyncio.run(_signin_to_home(copy, name, pin))
    if len(samples) < SIGNINS:
        print(f"  only {len(samples)} of {SIGNINS} sign-ins reached the home screen")
        return False
    print(
        f"  first (home fetched while the PIN was typed) {samples[0]:.0f} ms; median"
        f" {percentile(samples, 50):.0f} ms of {len(samples)}; argon2id verify is most of it"
    )
    return report(
        "sign-in Enter to home with walk list painted p95",
        percentile(samples, 95),
        "ms",
        budget=400,  # the target; the promise is 500 ms
    )


RSS = r"""
import sys, asyncio
from kiosk.runtime import load, open_runtime
from kiosk.app.shell import KioskApp
from textual.widgets import DataTable
async def main():
    rt = open_runtime(load(db=sys.argv[1]))
    app = KioskApp(rt, signed_in=rt.worker)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("f2")
        await pilot.press(*"zhl")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#search-table").row_count > 0
        # The database's own pages mapped through SQLite's mmap are shared, clean page cache
        # (the kernel may map them in 2 MB folios, whatever the app touched): counted apart.
        rss = mapped = 0
        path = None
        for line in open("/proc/self/smaps"):
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5:
                path = head[5] if len(head) > 5 else None
            elif head and head[0] == "Rss:" and path and path.startswith(sys.argv[1]):
                mapped += int(head[1])
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                rss = int(line.split()[1])
        print(mapped // 1024, (rss - mapped) // 1024)
asyncio.run(main())
"""


def bench_memory(db: Path) -> bool:
    env = {**os.environ, "KIOSK_DATA_DIR": tempfile.mkdtemp()}
    out = subprocess.run(
        [sys.executable, "-c", RSS, str(db)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    mapped, own = (float(x) for x in out.stdout.split()[-2:])
    print(f"  the database's pages mapped through mmap besides: {mapped:.0f} MB (page cache)")
    return report(
        "resident memory, 1M database open + search (the database's mapped pages apart)",
        own,
        "MB",
        budget=200,
    )


def bench_demo(households: int) -> bool:
    """Wall time of the real command, then our writes against plain executemany."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "KIOSK_DATA_DIR": tmp}
        t0 = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "kiosk.cli.main",
                "demo",
                "--db",
                f"{tmp}/d.db",
                "--households",
                str(households),
                "--json",
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
        )
        wall = time.perf_counter() - t0
        print(f"  {json.loads(out.stdout)}")
        ok = report(
            f"kiosk demo --households {households}",
            wall,
            "s",
            budget=120.0 * households / 1_000_000,
        )
    ok &= bench_demo_writes(min(households, 300_000))
    return ok


def bench_demo_writes(households: int) -> bool:
    """The demo's writes (its batches, search keys staged and folded into the index at the
    end) against a plain executemany of the same rows into the same tables, each search key
    inserted into the index as it comes."""
    from db.bulk import INSERTS, TABLE_ORDER, fold_staged_terms, stage_search_keys, write_batch
    from db.connection import open_database
    from kiosk.demo.district import stream_district

    with tempfile.TemporaryDirectory() as tmp:
        ours_db = open_database(f"{tmp}/ours.db")
        base_db = open_database(f"{tmp}/base.db")  # same schema, then a plain connection
        base_db.close()
        plain = sqlite3.connect(f"{tmp}/base.db")
        ours = base = 0.0
        for batch, _ in stream_district(ours_db.conn, households, 1, "bench-device", parallel=True):
            stage_search_keys(batch)  # deriving the keys is making the data: not timed
            plain_rows = {t: list(r) for t, r in batch.rows.items() if t != "search_terms_staged"}
            plain_rows["search_terms"] = [
                (term, hh)
                for hh, terms in batch.rows["search_terms_staged"]
                for term in json.loads(terms)
            ]
            t0 = time.perf_counter()
            write_batch(ours_db.conn, batch)
            ours += time.perf_counter() - t0
            t0 = time.perf_counter()
            for table in TABLE_ORDER:
                if plain_rows.get(table):
                    plain.executemany(INSERTS[table], plain_rows[table])
            plain.commit()
            base += time.perf_counter() - t0
        t0 = time.perf_counter()
        fold_staged_terms(ours_db.conn)
        ours += time.perf_counter() - t0
        ours_db.close()
        plain.close()
    speed = base / ours  # our rows per second as a fraction of the plain executemany's
    print(
        f"  writes of {households} households: ours {ours:.1f} s (search keys staged, then"
        f" folded), plain executemany {base:.1f} s"
    )
    return report(
        "demo write speed vs plain executemany", speed, "x", budget=0.5, higher_is_better=True
    )


def main() -> bool:
    households = MILLION
    ok = bench_demo(households)
    db = million_db(households)
    ok &= bench_search(db)
    ok &= idle_and_busy(lambda: bench_keystroke(db))
    ok &= bench_cold_start(db)
    ok &= idle_and_busy(lambda: bench_signin_to_home(db))
    ok &= bench_memory(db)
    return ok

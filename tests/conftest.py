"""Shared fixtures: isolated data/config dirs, small demo databases, a runtime to build apps on."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis's deadline is a timed assertion: on a loaded 2-core machine an example can take
# longer than 200 ms without anything being wrong. Speed is measured in bench/, not here.
settings.register_profile("kiosk", deadline=None)
settings.load_profile("kiosk")

ROOT = Path(__file__).resolve().parent.parent
_DEMO_CACHE: dict[tuple[int, int], Path] = {}


@pytest.fixture(scope="session")
def session_cache_dir(tmp_path_factory) -> Path:
    """One cache folder (compiled translation catalogues) for the whole run."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch, session_cache_dir):
    """Never touch the real user's data, config or cache: every test gets its own dirs."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("KIOSK_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("KIOSK_CONFIG", str(base / "config.toml"))
    monkeypatch.setenv("KIOSK_CACHE_DIR", str(session_cache_dir))
    for var in ("KIOSK_DB", "KIOSK_LANG", "KIOSK_WORKER"):
        monkeypatch.delenv(var, raising=False)
    from kiosk.core.i18n import set_language

    set_language("zh")
    yield base


def _build_demo(path: Path, households: int, seed: int) -> None:
    from kiosk.cli.demo import build_demo
    from kiosk.runtime import load, open_runtime

    runtime = open_runtime(load(db=str(path)))
    try:
        build_demo(runtime, households, seed)
    finally:
        runtime.close()


@pytest.fixture
def demo_db(tmp_path, tmp_path_factory) -> Path:
    """A copy of a 600-household demo database (built once per session)."""
    key = (600, 7)
    if key not in _DEMO_CACHE:
        src = tmp_path_factory.mktemp("demo") / "demo.db"
        _build_demo(src, *key)
        _DEMO_CACHE[key] = src
    dst = tmp_path / "kiosk.db"
    shutil.copy(_DEMO_CACHE[key], dst)
    return dst


@pytest.fixture
def runtime(demo_db):
    from kiosk.runtime import load, open_runtime

    rt = open_runtime(load(db=str(demo_db)))
    rt.ctx.verified = True  # the test stands for a worker signed in with their PIN
    yield rt
    rt.close()


#: The demo district's accounts (README): who does what in a test.
GRID_WORKER, SUPERVISOR, ADMINISTRATOR = "演示网格员", "演示主管", "演示管理员"


@contextlib.contextmanager
def acting_as(runtime, name: str):
    """The writes made in the block are ``name``'s, held to their role and grids like any
    worker's (the administrator sets up grids, the supervisor decides cases...)."""
    from db.workers import worker_by_name

    worker = worker_by_name(runtime.conn, name)
    assert worker is not None, name
    before = runtime.ctx.worker_id, runtime.ctx.verified
    runtime.ctx.worker_id, runtime.ctx.verified = worker.id, True
    try:
        yield worker
    finally:
        runtime.ctx.worker_id, runtime.ctx.verified = before


@pytest.fixture
def empty_runtime(tmp_path):
    from kiosk.runtime import load, open_runtime

    rt = open_runtime(load(db=str(tmp_path / "empty.db")))
    rt.ctx.verified = True
    yield rt
    rt.close()


#: The demo accounts' PINs (kiosk/demo/district.py DEMO_ACCOUNTS), by name.
DEMO_PINS = {"演示网格员": "246810", "演示主管": "135790", "演示管理员": "975310"}


def run_kiosk(
    *args: str,
    env: dict | None = None,
    input: str | None = None,
    timeout: float = 120,
    as_worker: str | None = None,
    pin: str | None = None,
) -> subprocess.CompletedProcess:
    """Run the real ``kiosk`` command as a subprocess; ``as_worker``: as that worker, their
    ``pin`` (a demo account's by default) typed first on standard input (``--as NAME
    --pin-stdin``), as a person would."""
    if as_worker is not None:
        args = ("--as", as_worker, "--pin-stdin", *args)
        input = (pin or DEMO_PINS[as_worker]) + "\n" + (input or "")
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "kiosk.cli.main", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.fixture
def kiosk():
    return run_kiosk


@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL server for the whole run (tests/pg.py); each test that
    needs one takes a new database on it."""
    from tests.pg import PgServer, pg_bin

    if pg_bin() is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
            ".ci/run installs Debian's postgresql package"
        )
    server = PgServer()
    yield server
    server.stop()


@pytest.fixture
def fresh_pg_server(pg_server):
    """A PostgreSQL cluster of the test's own, its transaction ids starting low: for a test
    that must cross a power of ten (the session's cluster only ever counts up, and the next
    power of ten gets ten times further each time it is crossed)."""
    from tests.pg import PgServer

    server = PgServer()
    yield server
    server.stop()

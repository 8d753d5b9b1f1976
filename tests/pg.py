"""Test helpers for the hub: a real hub HTTP server on 127.0.0.1 in a thread, and a real
throwaway PostgreSQL 15 server (initdb + pg_ctl as the ``postgres`` user when running as
root) for the PostgreSQL store. Never a mock."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from db.connection import open_database, transaction
from db.context import WriteContext
from db.households import MemberInput, create_household

PG_BIN_DIRS = [
    Path("/usr/lib/postgresql/15/bin"),
    Path("/usr/lib/postgresql/16/bin"),
    Path("/usr/lib/postgresql/17/bin"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Block until a `kiosk hub serve` process says on stderr that it listens."""
    result: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            if "http://" in line:
                result.append(line)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not result:
        raise RuntimeError(f"the hub did not start (exit status {proc.poll()})")


@contextlib.contextmanager
def hub_thread(store) -> Iterator[str]:
    """Serve ``store`` with uvicorn on a free loopback port; yields the base URL."""
    from kiosk.hub.app import make_server

    port = free_port()
    ready = threading.Event()
    server = make_server(store, "127.0.0.1", port, lambda _url: ready.set())
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        if not ready.wait(30):
            raise RuntimeError("the hub thread did not start")
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


GRIDS = [("g-one", "G1"), ("g-two", "G2")]
STAMP = "000000000000001.00000"


def build_roster(path: Path) -> None:
    """A laptop database with two grids, a compound and two households (one member each)
    in each: the roster a hub is seeded with."""
    db = open_database(path)
    conn = db.conn
    ctx = WriteContext.open(conn)
    with transaction(conn):
        for gid, code in GRIDS:
            conn.execute(
                "INSERT INTO grids(id, code, name, community, street, district, hlc,"
                " worker_id, device_id) VALUES (?,?,?,?,?,?,?,NULL,?)",
                (gid, code, code, "社区", "街道", "区", STAMP, ctx.device_id),
            )
            conn.execute(
                "INSERT INTO compounds(id, grid_id, name, pinyin, initials, hlc,"
                " worker_id, device_id) VALUES (?,?,?,?,?,?,NULL,?)",
                (f"c-{gid}", gid, f"小区{code}", "xiaoqu", "xq", STAMP, ctx.device_id),
            )
            for room in ("101", "102"):
                create_household(
                    ctx,
                    grid_id=gid,
                    compound_id=f"c-{gid}",
                    building="1",
                    unit="1",
                    room=room,
                    members=[MemberInput("张三", phone="13800001111")],
                )
    db.close()


# --- PostgreSQL ------------------------------------------------------------------------------


def pg_bin() -> Path | None:
    for d in PG_BIN_DIRS:
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PgServer:
    """A throwaway cluster in a temp dir, listening on 127.0.0.1:<free port>."""

    def __init__(self) -> None:
        bindir = pg_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-o",
            f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off",
            "start",
        )
        self.dbs = 0

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.root)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        import psycopg

        self.dbs += 1
        name = f"hub{self.dbs}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

"""Encryption at rest: what SQLCipher costs on a 50k-household demo district.

The same database, plain and encrypted (a copy converted as `kiosk encryption on` does):
- `kiosk encryption on` itself (the conversion, checks included);
- opening the database (key check, schema check);
- household search p95 over the foundation benchmark's query mix, warm OS cache;
- one household edit committed (stamping, search keys, outbox), p95.
Rounds alternate between the files so that machine noise falls on all alike. Searches also
run on the plain file through the SQLCipher binding's own SQLite, without a key, to split the
ratio into what the binding's build costs and what the cipher costs. The budget is the
issue's search budget (p95 <= 5 ms), now on the encrypted file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import million_db, percentile, report, warm_os_cache

HOUSEHOLDS = int(os.environ.get("KIOSK_BENCH_ENCRYPTION_HOUSEHOLDS", "50000"))
ROUNDS = 3
WRITES = 200


def _runtime(path: Path, key_file: Path):  # type: ignore[no-untyped-def]
    from kiosk.runtime import load, open_runtime

    settings = load(db=str(path))
    settings.key_file = str(key_file)  # never the user's own config folder
    return open_runtime(settings)


def _cipher_library_plain(path: Path):  # type: ignore[no-untyped-def]
    """The plain file through the SQLCipher binding (no key), with the app's read pragmas."""
    from sqlcipher3 import dbapi2

    conn = dbapi2.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    conn.row_factory = dbapi2.Row
    for pragma in (
        "foreign_keys = ON",
        "cache_size = -32000",
        "mmap_size = 4294967296",
        "temp_store = MEMORY",
    ):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _searches(conn, queries: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    from db.search import search_households

    out = []
    for q in queries:
        t0 = time.perf_counter()
        search_households(conn, q, limit=50)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _writes(runtime, ids: list[str], tag: str) -> list[float]:  # type: ignore[no-untyped-def]
    from db.connection import transaction
    from db.households import update_household

    out = []
    for i, hid in enumerate(ids):
        t0 = time.perf_counter()
        with transaction(runtime.conn):
            update_household(runtime.ctx, hid, note=f"bench {tag} {i}")
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> bool:
    from bench.bench_foundation import sample_queries
    from db.connection import convert_database
    from kiosk.runtime import ensure_key

    source = million_db(HOUSEHOLDS)
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-enc-") as tmp:
        plain, enc, key_file = Path(tmp, "plain.db"), Path(tmp, "enc.db"), Path(tmp, "bench.key")
        shutil.copy(source, plain)
        shutil.copy(source, enc)
        key = ensure_key(key_file)
        t0 = time.perf_counter()
        convert_database(enc, key=None, new_key=key)
        convert_s = time.perf_counter() - t0
        print(
            f"  database: {HOUSEHOLDS} households, {plain.stat().st_size / 1e6:.0f} MB plain,"
            f" {enc.stat().st_size / 1e6:.0f} MB encrypted",
            flush=True,
        )
        ok = report("kiosk encryption on (convert + check)", convert_s, "s")

        opens: dict[str, list[float]] = {"plain": [], "enc": []}
        for _ in range(5):
            for name, path in (("plain", plain), ("enc", enc)):
                t0 = time.perf_counter()
                _runtime(path, key_file).close()
                opens[name].append((time.perf_counter() - t0) * 1000)
        report(
            "open the database, median",
            percentile(opens["enc"], 50),
            "ms",
            baseline=percentile(opens["plain"], 50),
        )

        rts = {"plain": _runtime(plain, key_file), "enc": _runtime(enc, key_file)}
        try:
            queries = [q for qs in sample_queries(rts["plain"].conn, n=100).values() for q in qs]
            # households of the signed-in worker's own grids: the edits a worker may make
            # (the write guard refuses the rest)
            grids = list(rts["plain"].worker.grids)
            ids = [
                r[0]
                for r in rts["plain"].conn.execute(
                    "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
                    f" WHERE g.code IN ({','.join('?' * len(grids))}) ORDER BY h.rid LIMIT ?",
                    (*grids, WRITES),
                )
            ]
            conns = {
                "plain": rts["plain"].conn,
                "enc": rts["enc"].conn,
                "lib": _cipher_library_plain(plain),
            }
            search: dict[str, list[float]] = {"plain": [], "enc": [], "lib": []}
            write: dict[str, list[float]] = {"plain": [], "enc": []}
            for path in (plain, enc):
                warm_os_cache(path)
            for conn in conns.values():
                _searches(conn, queries)  # warm the page cache, as on a laptop in use
            for r in range(ROUNDS):
                for name in ("plain", "enc"):
                    search[name] += _searches(conns[name], queries)
                    write[name] += _writes(rts[name], ids, f"{r}")
                search["lib"] += _searches(conns["lib"], queries)
            conns["lib"].close()
            print(
                f"  {len(queries)} queries x {ROUNDS} rounds; {WRITES} edits x {ROUNDS} rounds",
                flush=True,
            )
            s_p95, s_base = percentile(search["enc"], 95), percentile(search["plain"], 95)
            w_p95, w_base = percentile(write["enc"], 95), percentile(write["plain"], 95)
            l_p95 = percentile(search["lib"], 95)
            ok &= report("search p95 encrypted", s_p95, "ms", budget=5.0, baseline=s_base)
            report(
                "search median encrypted",
                percentile(search["enc"], 50),
                "ms",
                baseline=percentile(search["plain"], 50),
            )
            report(
                "search p95 plain file through the SQLCipher binding", l_p95, "ms", baseline=s_base
            )
            report(
                "search p95 encrypted vs the same binding on the plain file",
                s_p95,
                "ms",
                baseline=l_p95,
            )
            report("household edit committed p95 encrypted", w_p95, "ms", baseline=w_base)
        finally:
            for rt in rts.values():
                rt.close()
        print(
            json.dumps(
                {
                    "households": HOUSEHOLDS,
                    "convert_s": round(convert_s, 2),
                    "search_p95_ms": {"plain": round(s_base, 3), "encrypted": round(s_p95, 3)},
                    "search_ratio": round(s_p95 / s_base, 2) if s_base else None,
                    "search_p95_ms_binding_plain": round(l_p95, 3),
                    "write_p95_ms": {"plain": round(w_base, 3), "encrypted": round(w_p95, 3)},
                    "write_ratio": round(w_p95 / w_base, 2) if w_base else None,
                    "ok": bool(ok),
                }
            ),
            flush=True,
        )
    return ok


if __name__ == "__main__":
    main()

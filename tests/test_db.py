"""The data layer: schema, migrations, stamps, the outbox, transactions, ids and clocks."""

import json
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.areas import get_or_create_compound, get_or_create_grid
from db.connection import open_database, transaction
from db.hlc import HybridClock, parse_stamp
from db.households import (
    DuplicateAddress,
    MemberInput,
    add_member,
    create_household,
    get_household,
    update_household,
    update_member,
)
from db.ids import uuid7, uuid7_time_ms
from db.migrations import latest_version
from db.search import search_households


def make_household(ctx, room="501", members=(("张焕丽", "13812345678"),)):
    grid = get_or_create_grid(ctx, "G001", "第一网格", "安静社区", "新阳路街道", "道里区")
    compound = get_or_create_compound(ctx, grid.id, "阳光小区")
    return create_household(
        ctx,
        grid_id=grid.id,
        compound_id=compound.id,
        building="3",
        unit="2",
        room=room,
        tags=["elderly70"],
        members=[MemberInput(name=n, phone=p, relation="户主") for n, p in members],
    )


def test_pragmas_and_version(tmp_path):
    db = open_database(tmp_path / "k.db")
    conn = db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version()
    with pytest.raises(sqlite3.IntegrityError):
        with transaction(conn):
            conn.execute(
                "INSERT INTO members(id, household_id, name, created_at, updated_at, hlc, device_id)"
                " VALUES ('m', 'no-such-household', 'x', '', '', '', 'd')"
            )


def test_every_write_is_stamped_and_queued_in_the_same_transaction(empty_runtime):
    ctx = empty_runtime.ctx
    with transaction(ctx.conn):
        hid = make_household(ctx)
    conn = ctx.conn
    row = conn.execute("SELECT hlc, device_id FROM households WHERE id = ?", (hid,)).fetchone()
    assert row["device_id"] == ctx.device_id and row["hlc"]
    ops = conn.execute("SELECT entity, kind, payload FROM outbox ORDER BY seq").fetchall()
    assert [o["entity"] for o in ops] == ["grid", "compound", "household", "member"]
    member = json.loads(ops[-1]["payload"])
    assert member["name"] == "张焕丽" and member["household_id"] == hid


def test_a_failed_transaction_leaves_nothing(empty_runtime):
    ctx = empty_runtime.ctx
    with pytest.raises(RuntimeError):
        with transaction(ctx.conn):
            make_household(ctx)
            raise RuntimeError("boom")
    for table in ("households", "members", "outbox", "search_terms", "grids"):
        assert ctx.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_duplicate_room_is_refused(empty_runtime):
    ctx = empty_runtime.ctx
    with transaction(ctx.conn):
        make_household(ctx)
    with pytest.raises(DuplicateAddress):
        with transaction(ctx.conn):
            make_household(ctx)


def test_updates_keep_search_terms_and_base_version(empty_runtime):
    ctx = empty_runtime.ctx
    conn = ctx.conn
    with transaction(conn):
        hid = make_household(ctx)
    h = get_household(conn, hid)
    with transaction(conn):
        update_member(ctx, h.members[0].id, name="曾小明", phone="13900001111")
        update_household(ctx, hid, room="502")
        add_member(ctx, hid, MemberInput(name="单田芳"))
    assert search_households(conn, "张焕丽") == []
    assert [x.household.id for x in search_households(conn, "zxm")] == [hid]
    assert [x.household.id for x in search_households(conn, "cengxiaoming")] == [hid]
    assert [x.household.id for x in search_households(conn, "1111")] == [hid]
    assert [x.household.id for x in search_households(conn, "3-2-502")] == [hid]
    assert search_households(conn, "3-2-501") == []
    update = conn.execute(
        "SELECT base_version, payload FROM outbox WHERE entity='household' AND kind='update'"
    ).fetchone()
    assert update["base_version"] == h.hlc
    assert json.loads(update["payload"]) == {"room": "502"}
    assert get_household(conn, hid).member_count == 2


def test_uuid7_is_time_ordered_and_unique():
    ids = [uuid7() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(i[14] == "7" for i in ids)
    assert uuid7_time_ms(ids[0]) <= uuid7_time_ms(ids[-1])


@given(st.lists(st.integers(min_value=0, max_value=10**13), min_size=1, max_size=50))
def test_hlc_never_goes_backwards(wall_times):
    it = iter(wall_times + [wall_times[-1]] * 200)
    clock = HybridClock(now_ms=lambda: next(it))
    stamps = [clock.now() for _ in wall_times]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


@given(st.integers(min_value=0, max_value=10**13), st.integers(min_value=0, max_value=9999))
def test_hlc_observe_moves_past_remote(wall, counter):
    remote = f"{wall:015d}.{counter:05d}"
    clock = HybridClock(now_ms=lambda: 5)
    after = clock.observe(remote)
    assert after > remote
    assert parse_stamp(after) > parse_stamp(remote)


def test_keys_staged_by_an_older_version_are_folded_after_the_upgrade(tmp_path):
    """A load interrupted under schema 6 left keys a row per key: migration 7 moves them to
    the per-household staging table, and opening the database folds them into the index."""
    from db import migrations

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for mod in migrations._migrations():
        if mod.VERSION <= 6:
            conn.execute("BEGIN")
            mod.up(conn)
            conn.execute(f"PRAGMA user_version = {mod.VERSION}")
            conn.execute("COMMIT")
    conn.executemany(
        "INSERT INTO search_terms_pending(term, hh) VALUES (?, ?)",
        [("n:张焕丽", 7), ("p:zhanghuanli", 7), ("t:5678", 8)],
    )
    conn.close()
    db = open_database(path)
    conn = db.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version()
    assert conn.execute("SELECT count(*) FROM search_terms_staged").fetchone()[0] == 0
    assert [tuple(r) for r in conn.execute("SELECT term, hh FROM search_terms ORDER BY term")] == [
        ("n:张焕丽", 7),
        ("p:zhanghuanli", 7),
        ("t:5678", 8),
    ]
    assert (
        conn.execute(
            "SELECT name FROM sqlite_master WHERE name = 'search_terms_pending'"
        ).fetchone()
        is None
    )


def test_folding_staged_keys_restores_the_connections_settings(tmp_path):
    from db.bulk import Batch, fold_staged_terms, stage_search_keys, write_batch

    db = open_database(tmp_path / "k.db")
    conn = db.conn
    settings = [
        conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("temp_store", "cache_size", "threads")
    ]
    batch = Batch(
        {
            "households": [(5, "h5", "g", "c", "3", "2", "501", "3-2-501", "")],
            "members": [("m", "h5", '引号"张', "", "", "13812345678")],
        }
    )
    stage_search_keys(batch)
    del batch.rows["households"], batch.rows["members"]  # only the keys: no grid to hang them on
    write_batch(conn, batch)
    assert fold_staged_terms(conn) > 0
    assert [
        conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("temp_store", "cache_size", "threads")
    ] == settings
    keys = [tuple(r) for r in conn.execute("SELECT term, hh FROM search_terms")]
    assert ('n:引号"张', 5) in keys and ("a:3-2-501", 5) in keys
    assert fold_staged_terms(conn) == 0


def test_closing_the_runtime_waits_for_a_write_in_flight(empty_runtime):
    """A write on another thread (an audit entry, say) finishes and commits before the
    connection closes under it."""
    import threading

    rt = empty_runtime
    started, go_on, errors = threading.Event(), threading.Event(), []

    def slow_write() -> None:
        try:
            with rt.write_lock, transaction(rt.conn):
                rt.conn.execute("INSERT INTO meta(key, value) VALUES ('in-flight', 'kept')")
                started.set()
                go_on.wait(10)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    writer = threading.Thread(target=slow_write)
    writer.start()
    assert started.wait(10)
    closer = threading.Thread(target=rt.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # waiting for the write
    go_on.set()
    writer.join(10)
    closer.join(10)
    assert not closer.is_alive() and errors == []
    conn = sqlite3.connect(rt.db.path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'in-flight'").fetchone() == ("kept",)


def test_a_case_cache_from_an_early_build_is_upgraded_when_the_database_opens(demo_db):
    from db.migrations.m0014_case_figures_for_early_builds import FIGURE_INDEXES, VERSION

    raw = sqlite3.connect(demo_db)
    for name in FIGURE_INDEXES:
        raw.execute(f"DROP INDEX {name}")
    raw.execute("ALTER TABLE case_state DROP COLUMN fig")
    raw.execute("ALTER TABLE case_state DROP COLUMN week")
    raw.execute(f"PRAGMA user_version = {VERSION - 1}")  # as an early build left it
    raw.commit()
    raw.close()
    db = open_database(demo_db)
    cols = {r[1] for r in db.conn.execute("PRAGMA table_info(case_state)")}
    assert {"fig", "week"} <= cols
    # every case is folded again by the next reader of the figures
    assert db.conn.execute("SELECT count(*) FROM case_state WHERE dirty = 0").fetchone()[0] == 0
    db.close()

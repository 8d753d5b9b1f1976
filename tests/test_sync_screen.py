"""The sync screen driven like a user, against a real hub (HTTP on 127.0.0.1)."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Static

from db import sync as dbsync
from db.connection import open_database, transaction
from db.context import WriteContext
from db.households import update_household
from kiosk.hub.store.sqlite import SqliteHubStore
from kiosk.sync.client import enrol, run_sync
from kiosk.sync.seed import seed_ops
from tests.pg import build_roster, hub_thread
from tests.pilot_helpers import settle, signed_in_app


def _text(screen, selector) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_sync_screen_counts_progress_and_conflicts(tmp_path):
    from kiosk.runtime import load, open_runtime

    roster = tmp_path / "roster.db"
    build_roster(roster)
    store = SqliteHubStore(tmp_path / "hub.db")
    src = open_database(roster).conn
    for batch in seed_ops(src):
        store.ingest(None, batch)
    src.close()
    with hub_thread(store) as url:
        runtime = open_runtime(load(db=str(tmp_path / "mine.db")))
        other = open_database(tmp_path / "other.db")
        octx = WriteContext.open(other.conn)
        for ctx, name in ((runtime.ctx, "mine"), (octx, "other")):
            enrol(ctx, url, store.add_device(name, None, role="office"))
            run_sync(ctx)
        hid = runtime.conn.execute("SELECT id FROM households ORDER BY id LIMIT 1").fetchone()[0]
        for ctx, note in ((runtime.ctx, "本机改的"), (octx, "别处改的")):
            with transaction(ctx.conn):
                update_household(ctx, hid, note=note)
        run_sync(octx)

        from db.workers import Worker

        nobody = Worker("w0", "测试", "worker", (), None, False)  # the roster has no workers
        app = signed_in_app(runtime, nobody)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.press("f4")
            await settle(app, pilot)
            screen = app.screen
            assert type(screen).__name__ == "SyncScreen"
            assert "1" in _text(screen, "#sync-pending")
            before = _text(screen, "#sync-last")
            runtime.conn.execute(
                "UPDATE meta SET value = '2026-01-01T08:00:00+08:00'"
                " WHERE key = 'sync.last_success'"
            )
            await pilot.press("s")
            await settle(app, pilot)
            assert "发送 1 条" in _text(screen, "#sync-phase")
            assert "0 条改动" in _text(screen, "#sync-pending")
            assert "2026-01-01" not in _text(screen, "#sync-last") and "：" in before
            table = screen.query_one("#sync-conflicts", DataTable)
            assert table.row_count == 1
            await pilot.press("enter")
            await settle(app, pilot)
            assert type(app.screen).__name__ == "ConflictScreen"
            body = _text(app.screen, "#conflict-body")
            assert "本机改的" in body and "别处改的" in body
            await pilot.press("e")
            box = app.screen.query_one(Input)
            box.value = ""
            await pilot.press(*"商量后", "enter")
            await settle(app, pilot)
            assert app.screen is screen
            assert table.row_count == 0
            assert "1 条改动" in _text(screen, "#sync-pending")

        assert (
            runtime.conn.execute("SELECT note FROM households WHERE id = ?", (hid,)).fetchone()[0]
            == "商量后"
        )
        assert dbsync.open_conflict_count(runtime.conn) == 0
        run_sync(runtime.ctx)
        run_sync(octx)
        assert (
            other.conn.execute("SELECT note FROM households WHERE id = ?", (hid,)).fetchone()[0]
            == "商量后"
        )
        runtime.close()
        other.close()
    store.close()


async def test_sync_screen_fits_80x24_and_says_not_enrolled(empty_runtime):
    from db.workers import Worker

    nobody = Worker("w0", "测试", "worker", (), None, False)  # the database has no workers
    app = signed_in_app(empty_runtime, nobody)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await settle(app, pilot)
        screen = app.screen
        assert "kiosk enrol" in _text(screen, "#sync-hub")
        for selector in (
            "#sync-hub",
            "#sync-pending",
            "#sync-last",
            "#sync-progress",
            "#sync-phase",
            "#sync-conflicts",
        ):
            region = screen.query_one(selector).region
            assert region.height >= 1 and region.bottom <= 23 and region.right <= 80, selector
        await pilot.press("s")  # not enrolled: a clear message, no crash
        await settle(app, pilot)
        notes = [n.message for n in app._notifications]
        assert any("kiosk enrol" in n for n in notes), notes

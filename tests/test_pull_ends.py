"""A laptop's pull always ends: against a real hub (the Starlette app on 127.0.0.1) whose
store misbehaves, `run_sync` stops with a message instead of looping, and keeps what it had."""

from __future__ import annotations

import pytest

from db.connection import open_database
from db.context import WriteContext
from kiosk.hub.store.base import PullPage
from kiosk.hub.store.sqlite import SqliteHubStore
from kiosk.sync.client import SyncError, enrol, run_sync
from kiosk.sync.seed import seed_ops
from tests.pg import build_roster, hub_thread


class CirclingStore(SqliteHubStore):
    """Serves its first page again and again: the cursor never moves past it (what a text
    comparison of PostgreSQL positions did once transaction ids gained a digit)."""

    def pull(self, device, cursor, limit, **kwargs):  # type: ignore[no-untyped-def]
        first = super().pull(device, None, min(limit, 5), **kwargs)
        return PullPage(first.ops, first.cursor, more=False)


@pytest.fixture
def laptop(tmp_path):
    database = open_database(tmp_path / "laptop.db")
    yield WriteContext.open(database.conn)
    database.close()


def test_a_hub_serving_the_same_page_again_ends_the_pull_with_a_message(tmp_path, laptop):
    roster = tmp_path / "roster.db"
    build_roster(roster)
    store = CirclingStore(tmp_path / "hub.db")
    src = open_database(roster).conn
    for batch in seed_ops(src):
        store.ingest(None, batch)
    src.close()
    try:
        with hub_thread(store) as url:
            enrol(laptop, url, store.add_device("laptop", None, role="office"))
            with pytest.raises(SyncError) as caught:
                run_sync(laptop, batch_size=5)
        assert caught.value.key == "sync.error.no_progress"
        # what the first page brought is kept
        assert laptop.conn.execute("SELECT count(*) FROM oplog").fetchone()[0] == 5
    finally:
        store.close()

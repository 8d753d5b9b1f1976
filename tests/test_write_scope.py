"""Scope is checked on every write, in one place the CLI and the screens share
(kiosk/security/roles.py guard_write on the write context): the G001 grid worker records
nothing on a G002 household, whichever way the write comes; nothing is written."""

from __future__ import annotations

import pytest

from db.connection import open_database, transaction
from db.visits import VisitInput, save_visit
from kiosk.core.errors import UserError
from kiosk.runtime import load, open_runtime


def _household(db_path, grid: str) -> str:
    conn = open_database(db_path).conn
    hid = conn.execute(
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code = ?"
        " ORDER BY h.id LIMIT 1",
        (grid,),
    ).fetchone()[0]
    conn.close()
    return hid


def _counts(db_path) -> tuple[int, int, int]:
    conn = open_database(db_path).conn
    counts = tuple(
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("visits", "cases", "outbox")
    )
    conn.close()
    return counts


@pytest.mark.parametrize(
    "args",
    [
        ("visits", "add", "{hid}", "--met", "住户本人", "--note", "门口聊了几句"),
        ("visits", "add", "{hid}", "--met", "住户本人", "--problem", "parking:楼下停车难"),
        ("cases", "add", "--household", "{hid}", "--category", "parking", "--summary", "停车难"),
    ],
)
def test_the_cli_refuses_a_write_outside_the_workers_grids(kiosk, demo_db, args):
    other = _household(demo_db, "G002")
    before = _counts(demo_db)
    out = kiosk(*(a.format(hid=other) for a in args), "--db", str(demo_db), as_worker="演示网格员")
    assert out.returncode != 0
    assert "G002" in out.stderr and "Traceback" not in out.stderr
    assert _counts(demo_db) == before
    mine = _household(demo_db, "G001")
    ok = kiosk(*(a.format(hid=mine) for a in args), "--db", str(demo_db), as_worker="演示网格员")
    assert ok.returncode == 0, ok.stderr


def test_the_screens_write_path_is_guarded_too(demo_db):
    """The interface writes through the same context (app.write → runtime.ctx): its guard
    refuses the G002 household for the signed-in G001 worker and the transaction rolls back."""
    runtime = open_runtime(load(str(demo_db), None, worker="演示网格员"))
    try:
        runtime.ctx.verified = True  # signed in with the PIN, as the sign-in screen does
        before = _counts(demo_db)
        with pytest.raises(UserError) as err, transaction(runtime.conn):
            save_visit(runtime.ctx, VisitInput(household_id=_household(demo_db, "G002")))
        assert err.value.key == "error.role_out_of_scope"
        assert _counts(demo_db) == before
    finally:
        runtime.close()

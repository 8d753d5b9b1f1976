"""The walk list brings forward households whose case waits for a follow-up visit or rating."""

from datetime import date

from db.cases import append_event, households_awaiting_follow_up, register_case
from db.connection import transaction
from db.walklist import case_due_households, walk_list


def test_resolved_case_puts_its_household_second_on_the_walk_list(runtime):
    conn, ctx = runtime.conn, runtime.ctx
    gid = runtime.conn.execute("SELECT id FROM grids ORDER BY code LIMIT 1").fetchone()[0]
    households = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM households WHERE grid_id = ? ORDER BY rid DESC LIMIT 2", (gid,)
        )
    ]
    before = set(households_awaiting_follow_up(conn, [gid]))
    with transaction(conn):
        resolved = register_case(
            ctx, household_ids=[households[0]], category="路灯", summary="楼道路灯不亮"
        )
        open_case = register_case(
            ctx, household_ids=[households[1]], category="路灯", summary="路灯闪烁"
        )
    with transaction(conn):
        append_event(ctx, resolved, "resolve_on_spot", {"note": "换了灯泡"})
    due = set(households_awaiting_follow_up(conn, [gid])) - before
    assert due == {households[0]}
    assert households[0] in case_due_households(conn, [gid])
    entries = walk_list(
        conn,
        [gid],
        today=date.today(),
        care_days=30,
        case_households=case_due_households(conn, [gid]),
        limit=1000,
    )
    reasons = {e.household_id: e.reason for e in entries}
    assert reasons[households[0]] in ("revisit", "case")
    assert reasons[households[1]] != "case"
    # Rated: no longer waiting.
    with transaction(conn):
        append_event(ctx, resolved, "rate", {"rating": "satisfied"})
    assert households[0] not in set(households_awaiting_follow_up(conn, [gid]))
    assert open_case

"""What the home screen shows: the grid's summary and the first page of its walk list.

Kept free of Textual so the app can start fetching it on a thread while Textual itself is
still being imported (see :func:`kiosk.cli.run.start_app`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from db.households import CARE_TAGS, households_to_verify
from db.sync import pending_count
from db.walklist import WalkEntry, case_due_households, walk_counts, walk_list
from db.workers import Worker


@dataclass
class GridSummary:
    grid_names: list[str]
    grid_ids: list[str]
    households: int
    members: int
    pending: int
    tag_counts: dict[str, int]
    walk: dict[str, int]
    case_households: set[str]
    to_verify: int = 0  # households with a number kept as typed from a roster (待核实)


def load_home(
    conn: sqlite3.Connection, worker: Worker | None, care_days: int, page_size: int
) -> tuple[GridSummary, list[WalkEntry]]:
    """The grid's summary and the first page of its walk list (any thread).

    The grids are the worker's own (kiosk.security.roles.in_scope): a grid worker's grids, a
    community supervisor's community. A worker whose grids are not on this laptop (yet) gets
    an empty list, never somebody else's grid.
    """
    if worker is not None and worker.role == "supervisor" and not worker.grids:
        rows = conn.execute(
            "SELECT id, name FROM grids WHERE community = ? ORDER BY code", (worker.community,)
        ).fetchall()
    elif worker is not None:
        codes = list(worker.grids)
        rows = conn.execute(
            f"SELECT id, name FROM grids WHERE code IN"
            f" ({','.join('?' * len(codes))}) ORDER BY code",
            codes,
        ).fetchall()
    else:  # no worker (embedding, an empty database): the first grid, not a whole district
        rows = conn.execute("SELECT id, name FROM grids ORDER BY code LIMIT 1").fetchall()
    grid_ids, names = [r[0] for r in rows], [r[1] for r in rows]
    # the households somebody lives in (not moved out, not an empty flat)
    where = f"grid_id IN ({','.join('?' * len(grid_ids))}) AND status = ''" if grid_ids else "0"
    households, members = conn.execute(
        f"SELECT count(*), COALESCE(sum(member_count), 0) FROM households WHERE {where}", grid_ids
    ).fetchone()
    # One pass over the grid's households for all six care groups.
    tag_counts = dict(
        zip(
            CARE_TAGS,
            conn.execute(
                "SELECT "
                + ", ".join("COALESCE(sum((' ' || tags || ' ') LIKE ?), 0)" for _ in CARE_TAGS)
                + f" FROM households WHERE {where}",
                [f"% {tag} %" for tag in CARE_TAGS] + grid_ids,
            ).fetchone(),
            strict=True,
        )
    )
    pending = pending_count(conn)
    today = date.today()
    cases = case_due_households(conn, grid_ids)
    counts = walk_counts(conn, grid_ids, today=today, care_days=care_days, case_households=cases)
    entries = walk_list(
        conn, grid_ids, today=today, care_days=care_days, case_households=cases, limit=page_size
    )
    return (
        GridSummary(
            names,
            grid_ids,
            households,
            members,
            pending,
            tag_counts,
            counts,
            cases,
            households_to_verify(conn, grid_ids),
        ),
        entries,
    )

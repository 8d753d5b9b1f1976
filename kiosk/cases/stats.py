"""Figures for ``kiosk stats`` and the figures screen.

Each provider takes a connection and returns a dict merged into the result; later features
append their providers to :data:`PROVIDERS`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Provider = Callable[[sqlite3.Connection], dict]


def _table_exists(conn: sqlite3.Connection, name: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?", (name,)
        ).fetchone()
        is not None
    )


def count(conn: sqlite3.Connection, table: str, where: str = "") -> int:
    if not _table_exists(conn, table):
        return 0
    return conn.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0]


def basic_counts(conn: sqlite3.Connection) -> dict:
    from db.households import lived_in_counts

    # who lives here: not households that moved out or left the flat empty, nor members who
    # moved out or died (their records stay, docs/household-editing.md)
    households, members = lived_in_counts(conn)
    return {
        "households": households,
        "members": members,
        "visits": count(conn, "visits"),
        "feedback": count(conn, "feedback"),
        "cases": count(conn, "cases"),
        "grids": count(conn, "grids"),
        "compounds": count(conn, "compounds"),
        "pending_sync": count(conn, "outbox"),
    }


PROVIDERS: list[Provider] = [basic_counts]


def case_figures(conn: sqlite3.Connection) -> dict:
    """The case ledger's figures (definitions in docs/cases.md)."""
    from kiosk.cases.figures import stats_provider

    return stats_provider(conn)


PROVIDERS.append(case_figures)


def visit_figures(conn: sqlite3.Connection) -> dict:
    """Visits today / this week, households visited, nobody-home visits (docs/visits.md)."""
    if not _table_exists(conn, "visit_status"):
        return {}
    from datetime import date

    from db.visits import visit_figures as figures

    return figures(conn, date.today())


PROVIDERS.append(visit_figures)


def collect(conn: sqlite3.Connection) -> dict:
    out: dict = {}
    for provider in PROVIDERS:
        out.update(provider(conn))
    return out

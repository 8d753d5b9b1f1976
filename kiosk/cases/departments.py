"""Assigning a case: to one of its community's responsible departments (责任单位), with a
deadline.

The community's supervisor keeps the list (kiosk/households/departments.py). Assigning a
case chooses from the list of the case's community; a community that has no list yet takes
any name (a new office works from its first day). Every assignment has a deadline: when none
is given, the category's kind gives it (kiosk/domain/categories.py: 简单事项 3 days, 一般事项 15).
See docs/cases.md#departments.
"""

from __future__ import annotations

import datetime as _dt
import re
import sqlite3

from db.areas import grid_by_id
from db.case_fold import CaseRefused
from db.cases import case_grid_and_category
from db.departments import list_departments


def community_of_case(conn: sqlite3.Connection, case_id: str) -> str | None:
    found = case_grid_and_category(conn, case_id)
    grid = grid_by_id(conn, found[0]) if found and found[0] else None
    return grid.community if grid else None


def assignable(conn: sqlite3.Connection, community: str | None) -> list[str]:
    """The names a case of ``community`` may be assigned to (empty: the community keeps no
    list yet, and any name is taken)."""
    if community is None:
        return []
    return [d.name for d in list_departments(conn, community)]


def check_department(conn: sqlite3.Connection, community: str | None, name: str) -> str:
    """``name`` as assigned: one of the community's departments (matched whatever its
    spaces), or any name while the community keeps no list. Raises :class:`CaseRefused`."""
    known = assignable(conn, community)
    typed = re.sub(r"\s+", " ", name).strip()
    if not known:
        return typed
    for k in known:
        if k == typed or k.replace(" ", "") == typed.replace(" ", ""):
            return k
    raise CaseRefused(
        "cases.rule.unknown_department",
        exit_code=2,
        name=typed[:40],
        community=community or "",
        known="、".join(known[:8]) + ("……" if len(known) > 8 else ""),
    )


def default_due(conn: sqlite3.Connection, categories, case_id: str, today: _dt.date) -> str:
    """The deadline a case is assigned with when none is given: its category's kind's."""
    found = case_grid_and_category(conn, case_id)
    return categories.default_due(found[1] if found else None, today)

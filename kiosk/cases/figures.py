"""The figures supervisors report, computed in SQL over the folded-state cache.

Exact definitions (also in docs/cases.md). The scope is the cases registered in the period
(``date_from``..``date_to`` inclusive, by registration date), optionally one grid, or the
grids a worker reaches (on an office replica a supervisor sees their community's, a street's
overseer their street's). The breakdowns by street and community add up the grids' counts
(every measure is a count; rates are computed after), so they roll up exactly:
street → community → grid → category → department.

- registered: every case in scope. repeats: cases closed as a repeat of another (重复).
- base: registered minus repeats; every rate below counts non-repeat cases only.
- resolved (化解): status resolved or closed. 化解率 resolution rate = resolved / base.
- closed (办结/销号): status closed. 办结率 completion rate = closed / base.
- first_time (一次性化解): resolved and never reopened (no 不满意 rating, no reopen event).
  一次性化解率 first-time resolution rate = first_time / resolved.
- rated: cases with at least one rating; satisfied: whose latest rating is 满意 or 基本满意.
  群众满意率 satisfaction rate = satisfied / rated.
- open: registered, assigned or in progress. overdue: open and past the deadline today.
  level_1..level_3: open cases at that escalation level today (see db.case_fold).
- on_spot: resolved or closed cases whose last resolution was on the spot (马上办).
- unreachable: closed without a rating after the configured unanswered follow-ups.

A rate whose denominator is 0 is ``None``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from db.case_fold import EscalationRules
from db.cases import level_thresholds, refresh_dirty

MEASURES = (
    "registered",
    "repeats",
    "base",
    "resolved",
    "closed",
    "first_time",
    "rated",
    "satisfied",
    "open",
    "overdue",
    "level_1",
    "level_2",
    "level_3",
    "on_spot",
    "unreachable",
)
RATES = {
    "resolution_rate": ("resolved", "base"),
    "completion_rate": ("closed", "base"),
    "first_time_rate": ("first_time", "resolved"),
    "satisfaction_rate": ("satisfied", "rated"),
}
#: Breakdown -> the case_state column it groups by (each has a covering index, m0003).
DIMENSIONS = {
    "grid": "grid_id",
    "category": "category",
    "category_group": "category_group",
    "department": "department",
    "week": "week",  # Monday of the registration week
}


@lru_cache(maxsize=1024)
def _increments(fig: int) -> tuple[int, ...]:
    """What one case with these flags adds to each measure (clock-free measures only)."""
    from db.cases import (
        FLAG_CLOSED,
        FLAG_DONE,
        FLAG_ON_SPOT,
        FLAG_OPEN,
        FLAG_RATED,
        FLAG_REOPENED,
        FLAG_REPEAT,
        FLAG_SATISFIED,
        FLAG_UNREACHABLE,
    )

    counted = not fig & FLAG_REPEAT  # rates count non-repeat cases only
    done = bool(fig & FLAG_DONE) and counted
    values = {
        "registered": 1,
        "repeats": int(not counted),
        "base": int(counted),
        "resolved": int(done),
        "closed": int(bool(fig & FLAG_CLOSED) and counted),
        "first_time": int(done and not fig & FLAG_REOPENED),
        "rated": int(bool(fig & FLAG_RATED) and counted),
        "satisfied": int(bool(fig & FLAG_SATISFIED) and counted),
        "open": int(bool(fig & FLAG_OPEN)),
        "overdue": 0,
        "level_1": 0,
        "level_2": 0,
        "level_3": 0,
        "on_spot": int(bool(fig & FLAG_ON_SPOT) and done),
        "unreachable": int(bool(fig & FLAG_UNREACHABLE)),
    }
    return tuple(values[m] for m in MEASURES)


def rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def with_rates(m: dict[str, Any]) -> dict[str, Any]:
    out = dict(m)
    for name, (num, den) in RATES.items():
        out[name] = rate(m[num], m[den])
    return out


def _as_dict(values: list[int]) -> dict[str, Any]:
    return with_rates(dict(zip(MEASURES, values, strict=True)))


_LEVEL_AT = {
    1: MEASURES.index("level_1"),
    2: MEASURES.index("level_2"),
    3: MEASURES.index("level_3"),
}
_OVERDUE_AT = MEASURES.index("overdue")


def _breakdown(
    conn: sqlite3.Connection, column: str | None, where: str, params: dict[str, Any]
) -> dict[Any, list[int]]:
    """Measures per value of ``column`` (all cases as one group when None): one index-ordered
    count per (value, flags), plus the open cases that are overdue or escalated."""
    from db.cases import FLAG_OPEN

    key = f"s.{column}" if column else "NULL"
    out: dict[Any, list[int]] = {}
    n = len(MEASURES)
    order = f" GROUP BY {key}, s.fig" if column else " GROUP BY s.fig"
    for k, fig, count in conn.execute(
        f"SELECT {key}, s.fig, count(*) FROM case_state s{where}{order}", params
    ):
        acc = out.get(k)
        if acc is None:
            acc = out[k] = [0] * n
        for i, inc in enumerate(_increments(fig)):
            if inc:
                acc[i] += inc * count
    clock = (" AND " if where else " WHERE ") + (
        f"s.fig & {FLAG_OPEN} AND (s.manual_level > 0 OR s.due < :lv_d1)"
    )
    level = (
        "max(s.manual_level, CASE WHEN s.due IS NULL THEN 0 WHEN s.due < :lv_d3 THEN 3"
        " WHEN s.due < :lv_d2 THEN 2 WHEN s.due < :lv_d1 THEN 1 ELSE 0 END)"
    )
    for k, lv, late, count in conn.execute(
        f"SELECT {key}, {level} AS lv, s.due < :lv_d1 AS late, count(*) FROM case_state s"
        f"{where}{clock} GROUP BY 1, 2, 3",
        params,
    ):
        acc = out.setdefault(k, [0] * n)
        if lv:
            acc[_LEVEL_AT[lv]] += count
        if late:
            acc[_OVERDUE_AT] += count
    return out


#: Roll-ups of the by-grid counts: breakdown -> the grids column it groups by.
AREAS = {"street": "street", "community": "community"}


@dataclass(frozen=True)
class Scope:
    date_from: date | None = None
    date_to: date | None = None
    grid_id: str | None = None
    #: the grids a worker reaches (None: every grid in the database)
    grid_ids: tuple[str, ...] | None = None


def _covers_every_grid(conn: sqlite3.Connection, reach: tuple[str, ...]) -> bool:
    from db.areas import grid_ids

    return grid_ids(conn) <= set(reach)


def compute(
    conn: sqlite3.Connection,
    scope: Scope | None = None,
    *,
    today: date | None = None,
    rules: EscalationRules | None = None,
    dimensions: tuple[str, ...] = (*DIMENSIONS, *AREAS),
) -> dict[str, Any]:
    """Totals and breakdowns (by grid, category, group, department, week) with their rates."""
    scope, today, rules = scope or Scope(), today or date.today(), rules or EscalationRules()
    refresh_dirty(conn)
    params: dict[str, Any] = dict(level_thresholds(today, rules))
    where = []
    if scope.date_from:
        where.append("s.registered_at >= :dfrom")
        params["dfrom"] = scope.date_from.isoformat()
    if scope.date_to:
        where.append("s.registered_at < :dto")
        params["dto"] = (scope.date_to + timedelta(days=1)).isoformat()
    if scope.grid_id:
        where.append("s.grid_id = :grid")
        params["grid"] = scope.grid_id
    if scope.grid_ids is not None and _covers_every_grid(conn, scope.grid_ids):
        # A street's overseer on the street's replica reaches every grid it holds: no filter,
        # so each breakdown reads its covering index in order (a 100-grid IN list does not).
        scope = Scope(scope.date_from, scope.date_to, scope.grid_id)
    if scope.grid_ids is not None:
        marks = ",".join(f":r{i}" for i in range(len(scope.grid_ids))) or "NULL"
        where.append(f"s.grid_id IN ({marks})")
        params.update({f"r{i}": g for i, g in enumerate(scope.grid_ids)})
    w = (" WHERE " + " AND ".join(where)) if where else ""
    areas = [a for a in AREAS if a in dimensions]
    if areas and "grid" not in dimensions:
        dimensions = (*dimensions, "grid")
    names: dict[str, dict[str, str]] = {}
    grid_rows: list[Any] = []
    if "grid" in dimensions:
        from db.areas import list_grids

        grid_rows = [(g.id, g.code, g.community, g.street) for g in list_grids(conn)]
        names["grid"] = {r[0]: r[1] for r in grid_rows}
    out: dict[str, Any] = {
        "as_of": today.isoformat(),
        "from": scope.date_from.isoformat() if scope.date_from else None,
        "to": scope.date_to.isoformat() if scope.date_to else None,
        "total": None,
    }
    total: list[int] | None = None
    by_grid: dict[Any, list[int]] = {}
    for dim in dimensions:
        if dim in AREAS:
            continue
        groups = _breakdown(conn, DIMENSIONS[dim], w, params)
        if dim == "grid":
            by_grid = groups
        lookup = names.get(dim, {})
        rows = []
        for k in sorted(groups, key=lambda v: (v is None, v or "")):
            rows.append({"key": lookup.get(k, k) if k is not None else "", **_as_dict(groups[k])})
        out[f"by_{dim}"] = rows
        if total is None:  # every case is in exactly one group of any breakdown
            total = [sum(col) for col in zip(*groups.values(), strict=True)] if groups else None
    for area in areas:
        column = 2 if AREAS[area] == "community" else 3
        area_of = {r[0]: r[column] for r in grid_rows}
        summed: dict[str, list[int]] = {}
        for gid, counts in by_grid.items():
            acc = summed.setdefault(area_of.get(gid) or "", [0] * len(MEASURES))
            for i, c in enumerate(counts):
                acc[i] += c
        out[f"by_{area}"] = [{"key": k, **_as_dict(summed[k])} for k in sorted(summed)]
    if total is None:
        total = _breakdown(conn, None, w, params).get(None, [0] * len(MEASURES))
    out["total"] = _as_dict(total)
    return out


def stats_provider(conn: sqlite3.Connection) -> dict:
    """For ``kiosk stats``: headline figures flat, the full breakdown under ``case_figures``."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'case_state'").fetchone() is None:
        return {}
    try:
        from kiosk.core.config import load_settings

        rules = EscalationRules.from_settings(load_settings())
    except Exception:  # noqa: BLE001 - a bad config is reported by the CLI itself
        rules = EscalationRules()
    figures = compute(conn, rules=rules)
    total = figures["total"]
    flat = {
        f"cases_{k}": total[k]
        for k in (
            "open",
            "overdue",
            "level_1",
            "level_2",
            "level_3",
            "repeats",
            "resolved",
            "closed",
        )
    }
    flat.update({k: total[k] for k in RATES})
    return {**flat, "case_figures": figures}

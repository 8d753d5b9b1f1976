"""The figures supervisors report, computed in SQL over the folded-state cache.

Exact definitions (also in docs/cases.md). The scope is the cases registered in the period
(``date_from``..``date_to`` inclusive, by registration date), optionally one grid.

- registered: every case in scope. repeats: cases closed as a repeat of another (重复).
- base: registered minus repeats; every rate below counts non-repeat cases only.
- resolved (化解): status resolved or closed. 化解率 resolution rate = resolved / base.
- closed (办结/销号): status closed. 办结率 completion rate = closed / base.
- first_time (一次性化解): resolved and never reopened (no 不满意 rating, no reopen event).
  一次性化解率 first-time resolution rate = first_time / resolved.
- rated: cases with at least one rating; satisfied: whose latest rating is 满意 or 基本满意.
  群众满意率 satisfaction rate = satisfied / rated.
- open: registered, assigned or in progress. overdue: open and past the deadline today.
  level_1..level_3: open cases at that escalation level today (see kiosk.cases).
- on_spot: resolved or closed cases whose last resolution was on the spot (马上办).
- unreachable: closed without a rating after the configured unanswered follow-ups.

A rate whose denominator is 0 is ``None``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from db.cases import level_sql, refresh_dirty
from kiosk.cases import EscalationRules

MEASURES = ("registered", "repeats", "base", "resolved", "closed", "first_time", "rated",
            "satisfied", "open", "overdue", "level_1", "level_2", "level_3", "on_spot",
            "unreachable")
RATES = {
    "resolution_rate": ("resolved", "base"),
    "completion_rate": ("closed", "base"),
    "first_time_rate": ("first_time", "resolved"),
    "satisfaction_rate": ("satisfied", "rated"),
}
DIMENSIONS = {
    "grid": "s.grid_id",
    "category": "s.category",
    "category_group": "s.category_group",
    "department": "COALESCE(s.department, '')",
    # Monday of the registration week
    "week": "date(substr(s.registered_at, 1, 10), '-' || ((CAST(strftime('%w',"
            " substr(s.registered_at, 1, 10)) AS INTEGER) + 6) % 7) || ' days')",
}


def _measures_sql(level: str) -> str:
    nr = "COALESCE(s.close_kind, '') != 'repeat'"
    done = f"s.status IN ('resolved', 'closed') AND {nr}"
    is_open = "s.status IN ('registered', 'assigned', 'in_progress')"
    return ", ".join([
        "count(*)",
        "sum(s.close_kind = 'repeat')",
        f"sum({nr})",
        f"sum({done})",
        f"sum(s.status = 'closed' AND {nr})",
        f"sum({done} AND s.reopen_count = 0)",
        f"sum(s.last_rating IS NOT NULL AND {nr})",
        f"sum(s.last_rating IN ('satisfied', 'basic') AND {nr})",
        f"sum({is_open})",
        f"sum({is_open} AND s.due < :today)",
        f"sum({level} = 1)",
        f"sum({level} = 2)",
        f"sum({level} = 3)",
        f"sum({done} AND s.on_spot = 1)",
        "sum(s.close_kind = 'unreachable')",
    ])


def rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def with_rates(m: dict[str, Any]) -> dict[str, Any]:
    out = dict(m)
    for name, (num, den) in RATES.items():
        out[name] = rate(m[num], m[den])
    return out


def _row(values: tuple) -> dict[str, Any]:
    return with_rates({k: int(v or 0) for k, v in zip(MEASURES, values, strict=True)})


@dataclass(frozen=True)
class Scope:
    date_from: date | None = None
    date_to: date | None = None
    grid_id: str | None = None


def compute(conn: sqlite3.Connection, scope: Scope | None = None, *, today: date | None = None,
            rules: EscalationRules | None = None,
            dimensions: tuple[str, ...] = tuple(DIMENSIONS)) -> dict[str, Any]:
    """Totals and breakdowns (by grid, category, group, department, week) with their rates."""
    scope, today, rules = scope or Scope(), today or date.today(), rules or EscalationRules()
    refresh_dirty(conn)
    level, params = level_sql(today, rules)
    params = {**params, "today": today.isoformat()}
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
    w = (" WHERE " + " AND ".join(where)) if where else ""
    measures = _measures_sql(level)
    out: dict[str, Any] = {
        "as_of": today.isoformat(),
        "from": scope.date_from.isoformat() if scope.date_from else None,
        "to": scope.date_to.isoformat() if scope.date_to else None,
        "total": _row(conn.execute(f"SELECT {measures} FROM case_state s{w}", params).fetchone()),
    }
    names: dict[str, dict[str, str]] = {}
    if "grid" in dimensions:
        names["grid"] = {r[0]: r[1] for r in conn.execute("SELECT id, code FROM grids")}
    for dim in dimensions:
        expr = DIMENSIONS[dim]
        rows = conn.execute(
            f"SELECT {expr} AS k, {measures} FROM case_state s{w} GROUP BY k ORDER BY k", params
        ).fetchall()
        lookup = names.get(dim, {})
        out[f"by_{dim}"] = [{"key": lookup.get(r[0], r[0]) if r[0] is not None else "",
                             **_row(tuple(r[1:]))} for r in rows]
    return out


def stats_provider(conn: sqlite3.Connection) -> dict:
    """For ``kiosk stats``: headline figures flat, the full breakdown under ``case_figures``."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'case_state'").fetchone() is None:
        return {}
    try:
        from kiosk.config import load_settings

        rules = EscalationRules.from_settings(load_settings())
    except Exception:  # noqa: BLE001 - a bad config is reported by the CLI itself
        rules = EscalationRules()
    figures = compute(conn, rules=rules)
    total = figures["total"]
    flat = {f"cases_{k}": total[k] for k in ("open", "overdue", "level_1", "level_2", "level_3",
                                              "repeats", "resolved", "closed")}
    flat.update({k: total[k] for k in RATES})
    return {**flat, "case_figures": figures}

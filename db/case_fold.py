"""The case state machine: a case is its event log, its status a deterministic fold.

Pure functions, no database: :func:`fold` takes the events of one case (any order), sorts them
by (HLC, device id, event id) and replays them. An event that is not valid from the state
where it lands is kept and flagged (:attr:`CaseState.invalid`), never dropped, and changes
nothing. The rules that depend on local settings (how many unreachable attempts allow a
close) are written into the event when it is made, so every replica folds the same log to the
same state whatever its own settings. The escalation level is derived from the folded state
and the clock (:func:`escalation_level`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from db.errors import UserError

STATUSES = ("registered", "assigned", "in_progress", "resolved", "closed")
OPEN_STATUSES = ("registered", "assigned", "in_progress")
EVENT_TYPES = (
    "register",
    "assign",
    "progress",
    "resolve_on_spot",
    "resolve",
    "follow_up",
    "rate",
    "reopen",
    "escalate",
    "close",
    "repeat_of",
)
#: CLI action name -> event type.
ACTIONS = {
    "assign": "assign",
    "progress": "progress",
    "resolve": "resolve",
    "resolve-on-spot": "resolve_on_spot",
    "follow-up": "follow_up",
    "rate": "rate",
    "reopen": "reopen",
    "escalate": "escalate",
    "close": "close",
    "repeat-of": "repeat_of",
}
RATINGS = ("satisfied", "basic", "dissatisfied")
RATING_ALIASES = {
    "satisfied": "satisfied",
    "满意": "satisfied",
    "basic": "basic",
    "基本满意": "basic",
    "basically_satisfied": "basic",
    "dissatisfied": "dissatisfied",
    "不满意": "dissatisfied",
}
MAX_LEVEL = 3


class CaseRefused(UserError):
    """An action the rules do not allow from the case's state; the key names the rule."""


@dataclass(frozen=True)
class Event:
    """One immutable case event as the fold sees it."""

    id: str
    type: str
    hlc: str
    device_id: str
    at: str  # ISO date-time the worker did it (wall clock)
    by: str | None = None  # worker id
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> tuple[str, str, str]:
        return (self.hlc, self.device_id, self.id)


@dataclass
class CaseState:
    """The fold of a case's events."""

    status: str = "registered"
    registered: bool = False
    registered_at: str | None = None
    department: str | None = None
    person: str | None = None
    due: str | None = None  # YYYY-MM-DD
    assigned_at: str | None = None
    manual_level: int = 0  # highest level set by escalate events while open
    reopen_count: int = 0
    resolve_count: int = 0
    on_spot: bool = False
    resolved_at: str | None = None  # last resolution
    first_resolved_at: str | None = None
    rating: str | None = None  # rating of the last resolution (None: not rated yet)
    last_rating: str | None = None  # the most recent rating ever given
    unreached: int = 0  # follow-up attempts without reaching the resident
    closed_at: str | None = None
    close_kind: str | None = None  # rated | unreachable | repeat
    repeat_of: str | None = None
    last_at: str | None = None
    n_events: int = 0
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (event id, rule key)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def _day(at: str | None) -> str | None:
    return at[:10] if at else None


def check(state: CaseState, ev: Event) -> str | None:
    """The rule ``ev`` breaks when it lands on ``state`` (a catalogue key), or None."""
    t, s, d = ev.type, state.status, ev.data
    if t not in EVENT_TYPES:
        return "cases.rule.unknown_event"
    if t == "register":
        return "cases.rule.already_registered" if state.registered else None
    if not state.registered:
        return "cases.rule.not_registered"
    if t == "assign":
        if s not in OPEN_STATUSES:
            return "cases.rule.assign_when_open"
        if not d.get("department"):
            return "cases.rule.assign_needs_department"
        due = d.get("due")
        if due:
            try:
                date.fromisoformat(due)
            except (TypeError, ValueError):
                return "cases.rule.bad_due"
            if state.registered_at and due < state.registered_at[:10]:
                return "cases.rule.due_before_registration"
        return None
    if t == "progress":
        return None if s in OPEN_STATUSES else "cases.rule.progress_when_open"
    if t in ("resolve", "resolve_on_spot"):
        return None if s in OPEN_STATUSES else "cases.rule.resolve_when_open"
    if t == "follow_up":
        return None if s == "resolved" else "cases.rule.follow_up_when_resolved"
    if t == "rate":
        if d.get("rating") not in RATINGS:
            return "cases.rule.bad_rating"
        return None if s == "resolved" else "cases.rule.rate_when_resolved"
    if t == "reopen":
        return None if s in ("resolved", "closed") else "cases.rule.reopen_when_done"
    if t == "escalate":
        if s not in OPEN_STATUSES:
            return "cases.rule.escalate_when_open"
        level = d.get("level")
        if level is not None and (not isinstance(level, int) or not 1 <= level <= MAX_LEVEL):
            return "cases.rule.bad_level"
        return None
    if t == "close":
        if s != "resolved":
            return "cases.rule.close_when_resolved"
        if state.rating in ("satisfied", "basic"):
            return None
        need = d.get("attempts_required")
        if (
            isinstance(need, int)
            and need > 0
            and state.unreached >= need
            and str(d.get("reason") or "").strip()
        ):
            return None
        return "cases.rule.close_needs_rating"
    if t == "repeat_of":
        if s == "closed":
            return "cases.rule.repeat_when_not_closed"
        if not d.get("of"):
            return "cases.rule.repeat_needs_case"
        return None
    return "cases.rule.unknown_event"  # pragma: no cover - every type handled above


def offered(state: CaseState) -> frozenset[str]:
    """The event types the case's state allows (what :func:`check` asks of the state; the
    data an action needs is asked for when it is taken): what a screen offers."""
    s = state.status
    if s in OPEN_STATUSES:
        return frozenset(
            {"assign", "progress", "resolve", "resolve_on_spot", "escalate", "repeat_of"}
        )
    if s == "resolved":
        return frozenset({"follow_up", "rate", "reopen", "close", "repeat_of"})
    return frozenset({"reopen"})  # closed


def apply(state: CaseState, ev: Event) -> CaseState:
    """Apply one event in place (after :func:`check` said it is valid)."""
    t, d = ev.type, ev.data
    if t == "register":
        state.registered = True
        state.registered_at = ev.at
        state.status = "registered"
    elif t == "assign":
        state.department = d.get("department")
        state.person = d.get("person") or None
        state.due = d.get("due") or state.due
        state.assigned_at = ev.at
        state.status = "assigned"
    elif t == "progress":
        state.status = "in_progress"
    elif t in ("resolve", "resolve_on_spot"):
        state.status = "resolved"
        state.resolve_count += 1
        state.on_spot = t == "resolve_on_spot"
        state.resolved_at = ev.at
        state.first_resolved_at = state.first_resolved_at or ev.at
        state.rating = None
        state.unreached = 0
    elif t == "follow_up":
        if not d.get("reached", False):
            state.unreached += 1
    elif t == "rate":
        state.rating = d["rating"]
        state.last_rating = d["rating"]
        if d["rating"] == "dissatisfied":  # 不满意 reopens the case
            state.status = "in_progress"
            state.reopen_count += 1
    elif t == "reopen":
        state.status = "in_progress"
        state.reopen_count += 1
        state.closed_at = None
        state.close_kind = None
        state.rating = None
    elif t == "escalate":
        level = d.get("level") or min(MAX_LEVEL, state.manual_level + 1)
        state.manual_level = max(state.manual_level, int(level))
    elif t == "close":
        state.status = "closed"
        state.closed_at = ev.at
        state.close_kind = "rated" if state.rating in ("satisfied", "basic") else "unreachable"
    elif t == "repeat_of":
        state.status = "closed"
        state.closed_at = ev.at
        state.close_kind = "repeat"
        state.repeat_of = d.get("of")
    return state


def fold(events: list[Event]) -> CaseState:
    """The state of a case: its events replayed in (HLC, device id, event id) order."""
    state = CaseState()
    for ev in sorted(events, key=lambda e: e.order):
        state.n_events += 1
        state.last_at = ev.at if state.last_at is None or ev.at > state.last_at else state.last_at
        rule = check(state, ev)
        if rule is not None:
            state.invalid.append((ev.id, rule))
            continue
        apply(state, ev)
    return state


# --- escalation -------------------------------------------------------------------------------
@dataclass(frozen=True)
class EscalationRules:
    """Days after the deadline at which an open case climbs the ladder (see docs/cases.md)."""

    urge_days: int = 7  # overdue by more than this: 二级催办
    investigate_days: int = 7  # and by this many more: 三级查办

    @classmethod
    def from_settings(cls, settings: Any) -> EscalationRules:
        return cls(int(settings.escalate_urge_days), int(settings.escalate_investigate_days))


def days_overdue(due: str | None, today: date) -> int:
    """Whole days past the deadline (0 when not past it or no deadline)."""
    if not due:
        return 0
    try:
        d = date.fromisoformat(due)
    except ValueError:
        return 0
    return max(0, (today - d).days)


def clock_level(due: str | None, today: date, rules: EscalationRules) -> int:
    late = days_overdue(due, today)
    if late <= 0:
        return 0
    if late > rules.urge_days + rules.investigate_days:
        return 3
    if late > rules.urge_days:
        return 2
    return 1


def escalation_level(state: CaseState, today: date, rules: EscalationRules) -> int:
    """0 (none) .. 3 (三级查办) for an open case; a finished case is at level 0."""
    if not state.is_open:
        return 0
    return max(state.manual_level, clock_level(state.due, today, rules))


def is_overdue(state: CaseState, today: date) -> bool:
    return state.is_open and days_overdue(state.due, today) > 0


# --- input parsing (CLI and screens) ---------------------------------------------------------
def parse_rating(value: str | None) -> str:
    key = (value or "").strip().lower()
    rating = RATING_ALIASES.get(key) or RATING_ALIASES.get((value or "").strip())
    if rating is None:
        raise CaseRefused("cases.rule.bad_rating", exit_code=2)
    return rating


def parse_action(value: str) -> str:
    ev = ACTIONS.get(value.strip().lower())
    if ev is None:
        raise CaseRefused(
            "cases.error.unknown_action", exit_code=2, action=value[:40], actions=", ".join(ACTIONS)
        )
    return ev


def parse_due(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise CaseRefused("cases.rule.bad_due", exit_code=2) from None


def parse_at(value: str | None) -> str | None:
    """An ISO date or date-time (for back-dated entries); None means now."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat() + "T09:00:00+08:00"
        return datetime.fromisoformat(value).isoformat(timespec="seconds")
    except ValueError:
        raise CaseRefused("cases.error.bad_date", exit_code=2, value=value[:40]) from None

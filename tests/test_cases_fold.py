"""The case fold: rules, escalation, and properties over random event logs (hypothesis)."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db.case_fold import (
    EVENT_TYPES,
    OPEN_STATUSES,
    STATUSES,
    CaseRefused,
    CaseState,
    EscalationRules,
    Event,
    clock_level,
    escalation_level,
    fold,
    is_overdue,
    parse_action,
    parse_rating,
)

REG = "2026-03-01T09:00:00+08:00"


def log(*steps: tuple[str, dict]) -> list[Event]:
    """Events in order, one millisecond apart, on one device."""
    out = [Event("e000", "register", "000000000000001.00000", "dev", REG)]
    for i, (type_, data) in enumerate(steps, start=1):
        out.append(
            Event(
                f"e{i:03d}",
                type_,
                f"{i + 1:015d}.00000",
                "dev",
                f"2026-03-{min(28, 1 + i):02d}T10:00:00+08:00",
                "w1",
                data,
            )
        )
    return out


def test_register_assign_progress_resolve_rate_close():
    s = fold(log(("assign", {"department": "房管所", "due": "2026-03-20"})))
    assert (s.status, s.department, s.due) == ("assigned", "房管所", "2026-03-20")
    s = fold(log(("assign", {"department": "房管所"}), ("progress", {"note": "n"})))
    assert s.status == "in_progress"
    s = fold(
        log(
            ("assign", {"department": "d"}),
            ("resolve", {}),
            ("rate", {"rating": "basic"}),
            ("close", {}),
        )
    )
    assert (s.status, s.close_kind, s.invalid) == ("closed", "rated", [])


def test_close_needs_a_rating_and_the_refused_event_is_kept_and_flagged():
    events = log(("resolve", {}), ("close", {}))
    s = fold(events)
    assert s.status == "resolved"
    assert s.n_events == 3
    assert s.invalid == [("e002", "cases.rule.close_needs_rating")]


def test_dissatisfied_reopens():
    s = fold(log(("resolve", {}), ("rate", {"rating": "dissatisfied"})))
    assert (s.status, s.reopen_count) == ("in_progress", 1)
    s = fold(
        log(
            ("resolve", {}),
            ("rate", {"rating": "dissatisfied"}),
            ("resolve", {}),
            ("rate", {"rating": "satisfied"}),
            ("close", {}),
        )
    )
    assert (s.status, s.reopen_count, s.last_rating) == ("closed", 1, "satisfied")


def test_resolve_on_spot_still_asks_for_the_rating():
    s = fold(log(("resolve_on_spot", {}), ("close", {})))
    assert s.status == "resolved" and s.on_spot
    assert s.invalid[0][1] == "cases.rule.close_needs_rating"
    s = fold(log(("resolve_on_spot", {}), ("rate", {"rating": "satisfied"}), ("close", {})))
    assert s.status == "closed"


def test_close_after_unanswered_attempts_needs_the_count_and_a_reason():
    unreached = ("follow_up", {"reached": False})
    close = ("close", {"attempts_required": 3, "reason": "长期外出"})
    assert fold(log(("resolve", {}), unreached, unreached, close)).status == "resolved"
    assert (
        fold(
            log(
                ("resolve", {}),
                unreached,
                unreached,
                unreached,
                ("close", {"attempts_required": 3}),
            )
        ).status
        == "resolved"
    )
    s = fold(log(("resolve", {}), unreached, unreached, unreached, close))
    assert (s.status, s.close_kind) == ("closed", "unreachable")
    # a reached follow-up does not count as an attempt
    s = fold(log(("resolve", {}), unreached, ("follow_up", {"reached": True}), unreached, close))
    assert s.status == "resolved"


def test_rating_rules():
    s = fold(log(("rate", {"rating": "satisfied"})))
    assert s.invalid[0][1] == "cases.rule.rate_when_resolved"
    s = fold(log(("resolve", {}), ("rate", {"rating": "great"})))
    assert s.invalid[0][1] == "cases.rule.bad_rating"


def test_due_before_registration_is_invalid():
    s = fold(log(("assign", {"department": "d", "due": "2026-02-01"})))
    assert s.status == "registered"
    assert s.invalid[0][1] == "cases.rule.due_before_registration"


def test_repeat_and_reopen():
    s = fold(log(("repeat_of", {"of": "other"})))
    assert (s.status, s.close_kind, s.repeat_of) == ("closed", "repeat", "other")
    s = fold(log(("resolve", {}), ("rate", {"rating": "satisfied"}), ("close", {}), ("reopen", {})))
    assert (s.status, s.reopen_count) == ("in_progress", 1)


def test_events_before_registration_are_invalid_and_double_register_too():
    events = [
        Event("a", "progress", "000000000000001.00000", "dev", REG),
        Event("b", "register", "000000000000002.00000", "dev", REG),
        Event("c", "register", "000000000000003.00000", "dev", REG),
    ]
    s = fold(events)
    assert s.status == "registered"
    assert [r for _, r in s.invalid] == [
        "cases.rule.not_registered",
        "cases.rule.already_registered",
    ]


def test_escalation_ladder_from_the_clock_and_events():
    rules = EscalationRules(urge_days=7, investigate_days=7)
    due = "2026-03-10"
    assert clock_level(due, date(2026, 3, 10), rules) == 0
    assert clock_level(due, date(2026, 3, 11), rules) == 1
    assert clock_level(due, date(2026, 3, 17), rules) == 1
    assert clock_level(due, date(2026, 3, 18), rules) == 2
    assert clock_level(due, date(2026, 3, 24), rules) == 2
    assert clock_level(due, date(2026, 3, 25), rules) == 3
    s = fold(log(("assign", {"department": "d", "due": due}), ("escalate", {})))
    assert (
        escalation_level(s, date(2026, 3, 5), rules) == 1
    )  # escalated by hand before the deadline
    assert escalation_level(s, date(2026, 3, 20), rules) == 2
    assert is_overdue(s, date(2026, 3, 11)) and not is_overdue(s, date(2026, 3, 10))
    s = fold(log(("assign", {"department": "d", "due": due}), ("escalate", {"level": 3})))
    assert escalation_level(s, date(2026, 3, 5), rules) == 3
    done = fold(log(("assign", {"department": "d", "due": due}), ("resolve", {})))
    assert escalation_level(done, date(2026, 4, 30), rules) == 0
    assert not is_overdue(done, date(2026, 4, 30))
    other = EscalationRules(urge_days=2, investigate_days=1)
    assert clock_level(due, date(2026, 3, 13), other) == 2
    assert clock_level(due, date(2026, 3, 14), other) == 3


def test_parsing_actions_and_ratings():
    assert parse_action("resolve-on-spot") == "resolve_on_spot"
    assert parse_action("repeat-of") == "repeat_of"
    assert parse_rating("满意") == "satisfied" and parse_rating("基本满意") == "basic"
    assert parse_rating("DISSATISFIED") == "dissatisfied"
    with pytest.raises(CaseRefused):
        parse_action("delete")
    with pytest.raises(CaseRefused):
        parse_rating("5 stars")


# --- properties ---------------------------------------------------------------------------
def _data(type_: str, draw) -> dict:
    if type_ == "assign":
        return {
            "department": draw(st.sampled_from(["", "房管所", "城管"])),
            "due": draw(st.sampled_from([None, "2026-02-01", "2026-04-01", "bad"])),
        }
    if type_ == "rate":
        return {"rating": draw(st.sampled_from(["satisfied", "basic", "dissatisfied", "x"]))}
    if type_ == "follow_up":
        return {"reached": draw(st.booleans())}
    if type_ == "close":
        return {
            "attempts_required": draw(st.sampled_from([None, 1, 2])),
            "reason": draw(st.sampled_from(["", "外出"])),
        }
    if type_ == "escalate":
        return {"level": draw(st.sampled_from([None, 1, 2, 3, 7]))}
    if type_ == "repeat_of":
        return {"of": draw(st.sampled_from(["", "c2"]))}
    return {}


@st.composite
def event_logs(draw) -> list[Event]:
    n = draw(st.integers(0, 40))
    events = []
    if draw(st.booleans()) or n == 0:
        events.append(Event("r", "register", "000000000000000.00000", "devA", REG))
    for i in range(n):
        type_ = draw(st.sampled_from(EVENT_TYPES + ("bogus",)))
        # few distinct HLCs, so ties are broken by device id and then event id
        hlc = f"{draw(st.integers(1, 15)):015d}.{draw(st.integers(0, 2)):05d}"
        dev = draw(st.sampled_from(["devA", "devB"]))
        events.append(
            Event(
                f"e{i:03d}",
                type_,
                hlc,
                dev,
                f"2026-03-{1 + i % 28:02d}T10:00:00",
                None,
                _data(type_, draw),
            )
        )
    return events


def _snapshot(s: CaseState) -> dict:
    return dict(vars(s))


@settings(max_examples=300, deadline=None)
@given(event_logs())
def test_fold_always_reaches_a_defined_state(events):
    s = fold(events)
    assert s.status in STATUSES
    assert s.n_events == len(events)
    assert len(s.invalid) <= len(events)
    assert 0 <= s.manual_level <= 3
    assert s.reopen_count >= 0 and s.unreached >= 0
    if s.status == "closed":
        assert s.close_kind in ("rated", "unreachable", "repeat")
    if s.status in OPEN_STATUSES:
        assert s.closed_at is None
    for level_day in (date(2026, 1, 1), date(2027, 1, 1)):
        assert 0 <= escalation_level(s, level_day, EscalationRules()) <= 3
    # every invalid event is one of the log's events, flagged once
    ids = [e.id for e in events]
    assert len({i for i, _ in s.invalid}) == len(s.invalid)
    assert all(i in ids for i, _ in s.invalid)


@settings(max_examples=300, deadline=None)
@given(event_logs(), st.integers(0, 2**32))
def test_fold_is_independent_of_arrival_order(events, seed):
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    assert _snapshot(fold(shuffled)) == _snapshot(fold(events))


@settings(max_examples=200, deadline=None)
@given(event_logs())
def test_a_valid_prefix_plus_one_event_matches_check(events):
    """Folding a log one event at a time agrees with folding it whole (no hidden state)."""
    ordered = sorted(events, key=lambda e: e.order)
    for k in range(len(ordered) + 1):
        partial = fold(ordered[:k])
        assert partial.n_events == k
    assert _snapshot(fold(ordered)) == _snapshot(fold(events))


def test_what_a_state_offers_is_what_check_accepts_with_the_data_it_needs():
    from db.case_fold import STATUSES, CaseState, check, offered

    good = {
        "department": "房管所",
        "rating": "satisfied",
        "of": "another",
        "level": 1,
        "reason": "搬走了",
        "attempts_required": 1,
    }
    for status in STATUSES:
        state = CaseState(
            status=status,
            registered=True,
            registered_at="2026-01-01T09:00",
            rating="satisfied",
            unreached=1,
        )
        for ev_type in EVENT_TYPES:
            if ev_type == "register":
                continue
            ev = Event(
                id="e", type=ev_type, hlc="1", device_id="d", at="2026-01-02T09:00", data=good
            )
            assert (check(state, ev) is None) == (ev_type in offered(state)), (status, ev_type)

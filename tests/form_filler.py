"""Fill a form through the screen's logic (kiosk.domain.form_session) with generated answers
that satisfy its rules: every relevant question on every page gets the first candidate its
constraint accepts, a repeat gets a second instance, and pages are walked again until
nothing new appears (answers make other questions relevant). Used by the corpus test."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from kiosk.domain.form_session import AnswerInvalid, FormSession, Prompt

TODAY = date(2026, 12, 3)


def candidates(prompt: Prompt) -> list[Any]:
    kind = prompt.kind
    if kind == "select1":
        return [v for v, _ in prompt.choices]
    if kind == "select":
        values = [v for v, _ in prompt.choices]
        return [[v] for v in values] + ([values[:2]] if len(values) > 1 else [])
    if kind in ("integer", "decimal"):
        return ["1", "2", "0", "3", "5", "10", "18", "25", "40", "70", "100", "1000", "-1"]
    if kind == "range":
        if prompt.control.range is None:
            return ["1"]
        lo, hi, step = prompt.control.range
        return [str(lo), str(hi), str(lo + step)]
    if kind == "date":
        return [(TODAY - timedelta(days=d)).isoformat() for d in (1, 0, 10, 400, 7000, 20000)]
    if kind == "time":
        return ["09:30", "12:00", "18:45"]
    if kind == "datetime":
        return ["2026-12-02 09:30", "2026-12-03 08:00"]
    if kind == "geopoint":
        return ["39.9042 116.4074", "0 0"]
    if kind == "trigger":
        return ["OK"]
    if kind in ("text", "multiline", "barcode"):
        return ["测试", "a", "abc123", "1", "yes", "Test answer"]
    return []


def _answer(session: FormSession, prompt: Prompt) -> bool:
    """Give ``prompt`` the first candidate its rules accept; True when it changed."""
    if prompt.readonly or prompt.kind in ("note", "skipped"):
        return False
    if prompt.node.value and session.broken_rule(prompt) is None:
        return False
    for value in candidates(prompt):
        try:
            session.set_answer(prompt, value)
        except AnswerInvalid:
            continue
        if session.broken_rule(prompt) is None:
            return True
    if prompt.node.value:
        session.set_answer(prompt, "")  # unanswered rather than wrong
    return False


def fill(session: FormSession, *, rounds: int = 20) -> list[str]:
    """Answer what can be answered; returns what could not be (question: why)."""
    added: set[str] = set()
    for _ in range(rounds):
        changed = False
        for page in session.pages():
            if page.repeat and page.can_add and page.repeat not in added:
                parent = page.instance if page.count == 0 else page.instance.parent
                if parent is not None:
                    session.add_repeat(page.repeat, parent)
                    added.add(page.repeat)
                    changed = True
                    break  # the pages changed
            for prompt in page.prompts:
                changed |= _answer(session, prompt)
        if not changed:
            break
    broken = session.broken()
    return [] if broken is None else [f"{broken[0].node.name}: {broken[1]}"]

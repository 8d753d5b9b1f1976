"""Case events as a person gives and reads them: the data of one action from what was typed
(the command's options or the action form), and an event's details as one line. Shared by
the ``kiosk cases`` commands and the case screens; the state rules are db/case_fold.py's."""

from __future__ import annotations

from db.case_fold import CaseRefused, parse_due, parse_rating
from db.cases import case_number, find_case_id
from kiosk.core.errors import UserError
from kiosk.core.i18n import t


def resolve_case(conn, text: str) -> str:
    cid = find_case_id(conn, text)
    if cid is None:
        raise UserError("cases.error.not_found", exit_code=2, id=(text or "")[:40])
    return cid


def describe_event(data: dict, categories=None) -> str:
    """An event's details as one line of text (department, due, rating, note...)."""
    parts = []
    if data.get("department"):
        parts.append(str(data["department"]))
    if data.get("person"):
        parts.append(str(data["person"]))
    if data.get("due"):
        parts.append(t("cases.detail.due", due=data["due"]))
    if data.get("rating"):
        parts.append(t(f"cases.rating.{data['rating']}"))
    if data.get("level"):
        parts.append(t(f"cases.level.{data['level']}"))
    if "reached" in data and not data["reached"]:
        parts.append(t("cases.detail.unreached"))
    if data.get("of"):
        parts.append(t("cases.detail.repeat_of", of=data.get("of_number") or data["of"]))
    for key in ("note", "reason"):
        if data.get(key):
            parts.append(str(data[key]))
    return " · ".join(parts)


def build_event(
    conn,
    settings,
    case_id: str,
    event_type: str,
    *,
    department=None,
    person=None,
    due=None,
    note=None,
    rating=None,
    of=None,
    level=None,
    unreached=False,
) -> dict:
    """The data of one event from the action's options, checked as far as options go (the
    state rules are checked by :func:`db.cases.append_event`)."""
    data: dict = {}
    note = (note or "").strip() or None
    if event_type == "assign":
        import datetime as _dt

        from kiosk.cases.departments import check_department, community_of_case, default_due
        from kiosk.domain.categories import load_categories

        data = {
            "department": (department or "").strip() or None,
            "person": (person or "").strip() or None,
            # never without a deadline: the category's kind's when none is given
            "due": parse_due(due)
            or default_due(conn, load_categories(settings), case_id, _dt.date.today()),
        }
        if not data["department"]:
            raise CaseRefused("cases.rule.assign_needs_department", exit_code=2)
        data["department"] = check_department(
            conn, community_of_case(conn, case_id), data["department"]
        )
    elif event_type == "rate":
        data = {"rating": parse_rating(rating)}
    elif event_type == "follow_up":
        data = {"reached": not unreached}
        if rating:  # a follow-up visit may bring the rating along: recorded as its own event
            data["rating_given"] = parse_rating(rating)
    elif event_type == "escalate":
        if level is not None and not 1 <= level <= 3:
            raise CaseRefused("cases.rule.bad_level", exit_code=2)
        data = {"level": level}
    elif event_type == "close":
        data = {"reason": note, "attempts_required": int(settings.close_after_attempts)}
        note = None
    elif event_type == "repeat_of":
        if not of:
            raise CaseRefused("cases.rule.repeat_needs_case", exit_code=2)
        other = resolve_case(conn, of)
        if other == case_id:
            raise CaseRefused("cases.rule.repeat_of_self", exit_code=2)
        data = {"of": other, "of_number": case_number(conn, other)}
    if note:
        data["note"] = note
    return {k: v for k, v in data.items() if v is not None}

"""The resident self-service counter (``kiosk resident``), without Textual: what a scanned case
slip shows a resident, the rating they give, the suggestion they leave.

A slip shows what the printed slip shows and where the case stands: its number, category,
status, department, deadline and the dated steps of its timeline. It reads the ``labels``,
``cases`` and ``case_events`` tables only: never a household, a member, who raised the case,
its summary or the notes of its steps (any of them may name a person). Every lookup is
audited, refused ones too. See docs/user-guide.md, "The resident kiosk".
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from db.areas import first_grid_of_community
from db.case_fold import fold
from db.cases import append_event, load_events
from db.context import WriteContext
from db.feedback import save_feedback
from db.labels import find_label, newer_case_slip, slip_case
from kiosk.core.errors import UserError
from kiosk.core.i18n import t
from kiosk.domain.feedback import validate_feedback
from kiosk.qr.payload import Payload
from kiosk.security.roles import RESIDENT_SOURCE

#: the ratings a resident picks from, in the order the screen offers them
RATINGS = ("satisfied", "basic", "dissatisfied")
#: a resident's comment with a rating, at most (characters)
MAX_COMMENT = 500


class SlipRefused(UserError):
    """A slip the counter does not show: unknown, replaced by a reprint, withdrawn, a door
    label, or a case of another community."""


@dataclass(frozen=True)
class Step:
    """One step of the timeline: when, what, and the one public detail it carries (the
    department and deadline of an assignment, a rating, an escalation's level)."""

    at: str
    kind: str
    detail: str


@dataclass(frozen=True)
class SlipView:
    case_id: str
    number: str
    category: str
    status: str  # registered, assigned, in_progress, resolved, closed
    department: str | None
    due: str | None
    steps: tuple[Step, ...]
    #: resolved and not rated since: the resident may rate it now
    can_rate: bool
    rating: str | None


def _step(kind: str, data: dict[str, Any]) -> str:
    if kind == "assign":
        parts = [str(data.get("department") or "")]
        if data.get("due"):
            parts.append(t("resident.due_on", due=data["due"]))
        return " · ".join(p for p in parts if p)
    if kind == "rate" and data.get("rating") in RATINGS:
        return t(f"cases.rating.{data['rating']}")
    if kind == "escalate" and data.get("level"):
        return t(f"cases.level.{data['level']}")
    return ""


def read_slip(
    conn: sqlite3.Connection,
    payload: Payload,
    *,
    categories: Any,
    community: str | None = None,
) -> SlipView:
    """What the counter shows for a scanned slip, or :class:`SlipRefused`. ``community``: the
    counter's; a slip of a case elsewhere is refused (its cases are not this office's)."""
    if payload.kind != "CS":
        raise SlipRefused("resident.refused.door_label")
    label = find_label(conn, "CS", payload.code)
    if label is None or label.case_id is None:
        raise SlipRefused("resident.refused.unknown", code=payload.readable)
    if not label.active:
        key = "superseded" if newer_case_slip(conn, label) else "revoked"
        raise SlipRefused(f"resident.refused.{key}", code=payload.readable)
    row = slip_case(conn, label.case_id)
    if row is None:
        raise SlipRefused("resident.refused.unknown", code=payload.readable)
    if community is not None and row[2] != community:
        raise SlipRefused("resident.refused.elsewhere", code=payload.readable)
    events = load_events(conn, label.case_id)
    state = fold(events)
    bad = {eid for eid, _rule in state.invalid}
    steps = tuple(
        Step(e.at[:16].replace("T", " "), e.type, _step(e.type, e.data))
        for e in events
        if e.id not in bad
    )
    return SlipView(
        case_id=label.case_id,
        number=row[0],
        category=categories.label(row[1]),
        status=state.status,
        department=state.department,
        due=state.due,
        steps=steps,
        can_rate=state.status == "resolved" and state.rating is None,
        rating=state.rating,
    )


def audit_lookup(ctx: WriteContext, payload: Payload, case_id: str | None, refused: str) -> None:
    """Every scan at the counter is in the audit trail: the case it showed, or why not."""
    detail: dict[str, Any] = {"via": "resident", "code": payload.readable}
    if refused:
        detail["refused"] = refused
    ctx.audit("lookup", "case", case_id, detail=detail)


def rate(ctx: WriteContext, case_id: str, rating: str, comment: str = "") -> str:
    """The resident's rating of a resolved case: a ``rate`` event with the source "resident
    kiosk", through the same rules as a worker's (不满意 reopens the case)."""
    if rating not in RATINGS:
        raise UserError("resident.rate.bad_rating", exit_code=2)
    comment = " ".join((comment or "").split())
    if len(comment) > MAX_COMMENT:
        raise UserError("resident.rate.too_long", exit_code=2, max=MAX_COMMENT)
    data: dict[str, Any] = {"rating": rating, "source": RESIDENT_SOURCE}
    if comment:
        data["note"] = comment
    return append_event(ctx, case_id, "rate", data)


def suggest(ctx: WriteContext, category: str, text: str, *, categories: Any, grid_id: str) -> str:
    """An anonymous suggestion left at the counter: community feedback, no name kept."""
    fb = validate_feedback(
        {"category": category, "text": text, "anonymous": True, "source": "other"},
        categories=categories,
        grid_id=grid_id,
    )
    return save_feedback(ctx, fb)


def counter_grid(conn: sqlite3.Connection, community: str) -> str | None:
    """The grid a counter's suggestions are filed under: its community's first (the hub holds
    a counter's records to its community's grids, like a laptop's to its own)."""
    return first_grid_of_community(conn, community)


def rating_of(data: str | None) -> str | None:
    """The rating in a stored event's data (tests and the journey read it back)."""
    try:
        return json.loads(data or "{}").get("rating")
    except ValueError:
        return None

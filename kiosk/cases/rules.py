"""A community's case rules as its supervisor keeps them: which category groups are resolved
only with a photo of the repair (整改后照片). The rule itself is checked where every
resolution is written (db/case_rules.py, called by db.cases.append_event); this module is
the keeping: who may change it, for which community, and the group named by a person.
See docs/cases.md#after-photos.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from db.case_rules import list_rules, set_after_photo
from db.context import WriteContext, get_meta
from db.errors import Phrase, UserError
from db.sync import META_ROLE
from db.workers import Worker
from kiosk.domain.categories import Categories, Group
from kiosk.security.roles import ADMIN, SUPERVISOR, action_label, require

ACTION = "case_rules.manage"


@dataclass(frozen=True)
class GroupRule:
    group: Group
    after_photo: bool


def rules_community(
    conn: sqlite3.Connection, worker: Worker | None, community: str | None, *, changing: bool
) -> str | None:
    """The community whose rules are read or changed: a supervisor's own (another is refused
    when changing), the one named, else the worker's. Changing needs :data:`ACTION`, a
    community (an administrator names it), and a computer that may change it: not a field
    laptop (the hub takes a community's rules only from office and administrator devices;
    set on a field laptop, the rule would hold there alone until the hub refused it)."""
    if changing:
        worker = require(worker, ACTION)
        device = get_meta(conn, META_ROLE)
        if device not in (None, "office", "admin"):
            raise UserError(
                "cases.rules.office_device_only",
                exit_code=3,
                device=Phrase(f"sync.hub_cli.role_{device}"),
            )
    if worker is not None and worker.role == SUPERVISOR:
        if changing and community and community != worker.community:
            raise UserError(
                "error.role_out_of_scope",
                exit_code=3,
                name=worker.name,
                action=action_label(ACTION),
                grid=community,
            )
        return community or worker.community
    if community:
        return community
    if worker is not None and worker.role != ADMIN and worker.community:
        return worker.community
    if changing:
        raise UserError("cases.rules.community_needed", exit_code=2)
    return None


def find_group(categories: Categories, text: str) -> Group:
    """A category group by its code or its Chinese or English name."""
    q = (text or "").strip()
    for g in categories.groups:
        if q.lower() in (g.code.lower(), g.en.lower()) or q == g.zh:
            return g
    raise UserError(
        "cases.rules.unknown_group",
        exit_code=2,
        group=q[:40],
        known=", ".join(f"{g.code} ({g.name})" for g in categories.groups),
    )


def group_rules(
    conn: sqlite3.Connection, categories: Categories, community: str
) -> list[GroupRule]:
    """Every group of the category table with whether ``community`` requires an after-photo."""
    required = {r.category_group for r in list_rules(conn, community) if r.after_photo}
    return [GroupRule(g, g.code in required) for g in categories.groups]


def require_after_photo(ctx: WriteContext, community: str, group: Group, required: bool) -> bool:
    """Set the rule (inside the caller's transaction); whether anything was written."""
    return set_after_photo(ctx, community, group.code, required)

"""Who may do what: the one map of actions to roles, and the scope of each role.

Five roles (docs/security.md): a grid **worker** works the households of their own grids; a
community **supervisor** sees their community's grids and assigns, escalates and closes its
cases; an **administrator** manages workers, devices and settings and does no case work. Above
the community, a **street** (街道) or **district** overseer follows the figures, cases and
ledgers of every grid of their street or district, and writes nothing and opens no household:
supervision of the work, not the work (the office replica, docs/office.md).
The interface and the CLI both ask :func:`allowed` / :func:`require` before acting, so a
refusal reads the same everywhere.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from db.areas import Grid, grid_by_id
from db.context import get_meta
from db.limits import check_payload
from db.scope import UNKNOWN, write_grids
from db.sync import META_ROLE
from db.workers import Worker, worker_by_id
from kiosk.core.errors import UserError
from kiosk.core.i18n import t

WORKER, SUPERVISOR, ADMIN = "worker", "supervisor", "admin"
STREET, DISTRICT = "street", "district"
FIELD = frozenset({WORKER, SUPERVISOR})
#: who oversees a community's work from above it: figures, cases and masked ledgers only
OVERSIGHT = frozenset({STREET, DISTRICT})
#: the community's own staff (an overseer is never among the writers of a record)
EVERYONE = frozenset({WORKER, SUPERVISOR, ADMIN})

#: action -> the roles that may perform it. Actions on a household or case are also limited
#: to the worker's scope (see :func:`in_scope`).
PERMISSIONS: dict[str, frozenset[str]] = {
    # households
    "household.view": FIELD,  # open a household: its members, phones, ID numbers
    "household.search": FIELD,
    "household.edit": FIELD,
    "household.import": EVERYONE,  # a roster update from the community office
    "household.forget": frozenset({SUPERVISOR, ADMIN}),
    # visits, feedback, questionnaires
    "visit.record": FIELD,
    "feedback.record": FIELD,
    "survey.fill": FIELD,
    "survey.manage": frozenset({SUPERVISOR, ADMIN}),
    # the address hierarchy: grids are the administrator's, compounds also the supervisor's
    "areas.manage": frozenset({SUPERVISOR, ADMIN}),
    "areas.import": frozenset({ADMIN}),
    # cases: the community's list of responsible departments (责任单位)
    "departments.manage": frozenset({SUPERVISOR, ADMIN}),
    # cases: the community's rules (which category groups resolve only with a photo)
    "case_rules.manage": frozenset({SUPERVISOR, ADMIN}),
    # cases: a grid worker registers and follows up; a supervisor also decides
    "case.register": FIELD,
    "case.progress": FIELD,
    "case.resolve": FIELD,
    "case.follow_up": FIELD,
    "case.rate": FIELD,
    "case.assign": frozenset({SUPERVISOR}),
    "case.escalate": frozenset({SUPERVISOR}),
    "case.close": frozenset({SUPERVISOR}),
    "case.reopen": frozenset({SUPERVISOR}),
    "case.repeat_of": FIELD,
    # figures and exports
    "figures.view": EVERYONE | OVERSIGHT,
    "cases.view": FIELD | OVERSIGHT,  # the case list and a case's timeline, read only
    "export.masked": FIELD | OVERSIGHT,
    "export.full": frozenset({SUPERVISOR}),  # phone and ID numbers in clear, audited
    # labels and slips
    "labels.print": FIELD,
    # sync
    "sync.run": EVERYONE | OVERSIGHT,
    "sync.resolve": FIELD,
    "sync.discard": frozenset({SUPERVISOR}),  # give up sending changes the hub refused
    # administration
    "workers.manage": frozenset({ADMIN}),
    "devices.manage": frozenset({ADMIN}),
    "settings.encryption": frozenset({ADMIN}),
    "audit.view": frozenset({SUPERVISOR, ADMIN}),
    "audit.verify": frozenset({SUPERVISOR, ADMIN}),
}


def allowed(worker: Worker | None, action: str) -> bool:
    """May ``worker`` perform ``action`` at all (scope aside)? Unknown actions are refused."""
    if worker is None or worker.disabled:
        return False
    if worker.role == KIOSK:
        return action in KIOSK_ACTIONS
    return worker.role in PERMISSIONS.get(action, frozenset())


def in_scope(
    worker: Worker,
    grid_code: str | None,
    community: str | None,
    *,
    street: str | None = None,
    district: str | None = None,
) -> bool:
    """Is a grid (given by its code, community, street and district) inside ``worker``'s
    reach?

    A grid worker reaches their own grids, a supervisor their community's grids, a street or
    district overseer every grid of theirs, an administrator every grid (for management
    only: :data:`PERMISSIONS` keeps them out of case work). A record with no grid (``None``)
    is in everybody's scope.
    """
    if grid_code is None:
        return True
    if worker.role == ADMIN:
        return True
    if worker.role in (SUPERVISOR, KIOSK):
        return community is not None and community == worker.community
    if worker.role == STREET:
        return street is not None and street == worker.street
    if worker.role == DISTRICT:
        return district is not None and district == worker.district
    return grid_code in worker.grids


def grid_in_scope(worker: Worker, grid: Grid) -> bool:
    """:func:`in_scope` of a grid record."""
    return in_scope(worker, grid.code, grid.community, street=grid.street, district=grid.district)


def require(
    worker: Worker | None,
    action: str,
    *,
    grid: str | None = None,
    community: str | None = None,
    street: str | None = None,
    district: str | None = None,
) -> Worker:
    """``worker`` if they may perform ``action`` (on ``grid`` when given), else a
    :class:`UserError` that says who is refused what, and why."""
    if worker is None:
        raise UserError("error.role_no_worker", exit_code=3, action=action_label(action))
    if worker.disabled:
        raise UserError("error.worker_disabled", exit_code=3, name=worker.name)
    if not allowed(worker, action):
        raise UserError(
            "error.role_forbidden",
            exit_code=3,
            name=worker.name,
            role=role_label(worker.role),
            action=action_label(action),
            roles=roles_label(PERMISSIONS.get(action, ())),
        )
    if (grid is not None or community is not None) and not in_scope(
        worker, grid, community, street=street, district=district
    ):
        raise UserError(
            "error.role_out_of_scope",
            exit_code=3,
            name=worker.name,
            action=action_label(action),
            grid=grid or community or "",
        )
    return worker


def role_label(role: str) -> str:
    return t(f"role.{role}")


def roles_label(roles: Iterable[str]) -> str:
    order = [r for r in (WORKER, SUPERVISOR, STREET, DISTRICT, ADMIN) if r in set(roles)]
    return t("role.separator").join(role_label(r) for r in order) or t("role.nobody")


def action_label(action: str) -> str:
    return t(f"action.{action}")


#: case event type -> the action it takes (db/case_fold.py EVENT_TYPES)
CASE_EVENT_ACTIONS = {
    "register": "case.register",
    "assign": "case.assign",
    "progress": "case.progress",
    "resolve_on_spot": "case.resolve",
    "resolve": "case.resolve",
    "follow_up": "case.follow_up",
    "rate": "case.rate",
    "reopen": "case.reopen",
    "escalate": "case.escalate",
    "close": "case.close",
    "repeat_of": "case.repeat_of",
}


def require_in_grid(worker: Worker | None, action: str, grid: Grid | None) -> Worker:
    """:func:`require` for a record of ``grid`` (None: a record of no grid)."""
    if grid is None:
        return require(worker, action)
    return require(
        worker,
        action,
        grid=grid.code,
        community=grid.community,
        street=grid.street,
        district=grid.district,
    )


def require_on_grid(
    worker: Worker | None, action: str, conn: sqlite3.Connection, grid_id: str | None
) -> Worker:
    """:func:`require` for a record that lives in the grid ``grid_id`` (by id)."""
    return require_in_grid(worker, action, grid_by_id(conn, grid_id) if grid_id else None)


def require_on_household(
    worker: Worker | None, action: str, conn: sqlite3.Connection, household_id: str
) -> Worker:
    from db.areas import grid_of_household

    return require_in_grid(worker, action, grid_of_household(conn, household_id))


def require_on_case(
    worker: Worker | None, action: str, conn: sqlite3.Connection, case_id: str
) -> Worker:
    row = conn.execute("SELECT grid_id FROM cases WHERE id = ?", (case_id,)).fetchone()
    return require_on_grid(worker, action, conn, row[0] if row else None)


#: Who may write each replicated entity at all (scope aside): workers, devices and grids are
#: an administrator's; questionnaires a supervisor's or an administrator's; compounds,
#: households and members everyone's (an administrator imports rosters and erases on
#: request); visits, feedback, answers, cases and labels the field's (an administrator does
#: no case work).
WRITERS: dict[str, frozenset[str]] = {
    "device": frozenset({ADMIN}),
    "worker": frozenset({ADMIN}),
    "grid": frozenset({ADMIN}),
    "compound": EVERYONE,
    "survey": frozenset({SUPERVISOR, ADMIN}),
    "department": frozenset({SUPERVISOR, ADMIN}),
    "case_rule": frozenset({SUPERVISOR, ADMIN}),
    "household": EVERYONE,
    "member": EVERYONE,
    "visit": FIELD,
    "visit_item": FIELD,
    "feedback": FIELD,
    "survey_response": FIELD,
    "case": FIELD,
    "case_household": FIELD,
    "case_event": FIELD,
    "photo": FIELD,
    "feedback_photo": FIELD,
    "label": FIELD,
}
#: Changed only on the administrator's PC (the hub refuses them from any other device).
_ADMIN_DEVICE_ONLY = frozenset({"device", "worker", "grid"})
#: The action named in a refusal of an entity's writes.
_WRITE_ACTION = {
    "device": "devices.manage",
    "worker": "workers.manage",
    "grid": "devices.manage",
    "compound": "household.edit",
    "survey": "survey.manage",
    "department": "departments.manage",
    "case_rule": "case_rules.manage",
    "household": "household.edit",
    "member": "household.edit",
    "visit": "visit.record",
    "visit_item": "visit.record",
    "feedback": "feedback.record",
    "survey_response": "survey.fill",
    "case": "case.register",
    "case_household": "case.register",
    "case_event": "case.progress",
    "photo": "case.progress",
    "feedback_photo": "feedback.record",
    "label": "labels.print",
}


def require_unless_setting_up(
    worker: Worker | None, action: str, conn: sqlite3.Connection
) -> Worker | None:
    """:func:`require`, except on a laptop still being set up (:func:`setting_up`), where
    nobody can be asked yet."""
    return None if setting_up(conn) else require(worker, action)


def reach_grids(conn: sqlite3.Connection, worker: Worker | None) -> list[str] | None:
    """The ids of the grids ``worker`` may work in (None: every grid, for an administrator or
    a laptop being set up)."""
    from db.areas import list_grids

    if worker is None or worker.role == ADMIN or setting_up(conn):
        return None
    return [g.id for g in list_grids(conn) if grid_in_scope(worker, g)]


def listing_grids(conn: sqlite3.Connection, worker: Worker | None) -> list[str] | None:
    """The grids whose cases and figures the screens list for ``worker`` (None: all this
    database holds). On a field laptop that is what the laptop holds (the hub gave it its
    grids only); on an office replica, which holds a community's or a street's, it is the
    worker's reach: a community's supervisor sees their community, not the street."""
    if worker is not None and worker.role == WORKER and get_meta(conn, META_ROLE) != "office":
        return None
    return reach_grids(conn, worker)


def setting_up(conn: sqlite3.Connection, but: str = "") -> bool:
    """Is this laptop still being set up: no enabled administrator who can sign in (``but``:
    besides the worker being written, the first administrator)?"""
    return (
        conn.execute(
            "SELECT 1 FROM workers WHERE role = 'admin' AND disabled = 0"
            " AND pin_hash IS NOT NULL AND id != ? LIMIT 1",
            (but,),
        ).fetchone()
        is None
    )


def guard_write(ctx, entity: str, entity_id: str, kind: str, payload: dict) -> None:
    """The one check of every write (``WriteContext.guard``, called before each operation is
    emitted, by the screens and the CLI alike): the acting worker's role may write this
    entity (and take this case step), and every record the write touches or names lies in
    the worker's reach (a grid worker's grids, a supervisor's community; an administrator's
    every grid). Raises :class:`UserError`; the caller's transaction then writes nothing.

    While a laptop is being set up (:func:`setting_up`: nobody can administer it yet), its
    writes are not held to anyone (the demo district, the first administrator, the roster).
    """
    conn = ctx.conn
    too_big = check_payload(entity, payload)
    if too_big is not None:  # the hub would refuse it: refused here, before anything is written
        from kiosk.core.i18n import has

        label = t(f"col.{too_big.field}") if has(f"col.{too_big.field}") else too_big.field
        raise UserError("error.field_too_long", exit_code=2, field=label, limit=too_big.limit)
    if setting_up(conn, entity_id if entity == "worker" else ""):
        return
    worker = worker_by_id(conn, ctx.worker_id) if ctx.worker_id else None
    if worker is None:
        raise UserError(
            "error.role_no_worker",
            exit_code=3,
            action=action_label(_WRITE_ACTION.get(entity, "household.edit")),
        )
    if worker.disabled:
        raise UserError("error.worker_disabled", exit_code=3, name=worker.name)
    if not ctx.verified:
        raise UserError("error.pin_required", exit_code=3, name=worker.name)
    action = _WRITE_ACTION.get(entity, "household.edit")
    if entity == "case_event":
        action = CASE_EVENT_ACTIONS.get(str(payload.get("type")), action)
        require(worker, action)
    if entity in _ADMIN_DEVICE_ONLY:
        device_role = get_meta(conn, META_ROLE)
        if device_role not in (None, "admin"):
            # The hub takes these only from the administrator's PC: refused here, not later.
            raise UserError(
                "error.admin_device_only", exit_code=3, device=t(f"sync.hub_cli.role_{device_role}")
            )
    if worker.role == KIOSK:
        _kiosk_write(worker, entity, kind, payload)
    elif worker.role not in WRITERS.get(entity, frozenset()):
        raise UserError(
            "error.role_forbidden",
            exit_code=3,
            name=worker.name,
            role=role_label(worker.role),
            action=action_label(action),
            roles=roles_label(WRITERS.get(entity, ())),
        )
    if worker.role == ADMIN:
        return
    for _field, grid_id in write_grids(conn, entity, entity_id, kind, payload):
        if grid_id is None or grid_id == UNKNOWN:
            continue
        grid = grid_by_id(conn, grid_id)
        if grid is None or not grid_in_scope(worker, grid):
            raise UserError(
                "error.role_out_of_scope",
                exit_code=3,
                name=worker.name,
                action=action_label(action),
                grid=grid.name if grid is not None else grid_id[:12],
            )


# --- the resident self-service counter -----------------------------------------------------
#: The identity a community's counter PC acts as (居民自助终端, ``kiosk resident``): created by
#: an administrator for one community, it reads slips and writes two things only, a
#: resident's rating of a resolved case of its community and an anonymous suggestion. It is
#: in no role set of :data:`PERMISSIONS` or :data:`WRITERS`: whatever is added there later
#: stays out of its reach. The hub holds the counter's device to the same two records
#: (kiosk/hub/scope.py, ``counter``).
KIOSK = "kiosk"
KIOSK_ACTIONS = frozenset({"case.rate", "feedback.record"})
#: the ``source`` of a rating given at the counter (a case event's data)
RESIDENT_SOURCE = "resident kiosk"


def _kiosk_write(worker: Worker, entity: str, kind: str, payload: dict) -> None:
    """A counter's write: a new ``rate`` event marked as the resident's, or new feedback."""
    import json

    ok = kind == "insert" and entity == "feedback"
    if kind == "insert" and entity == "case_event" and payload.get("type") == "rate":
        data = payload.get("data")
        try:
            ok = json.loads(data).get("source") == RESIDENT_SOURCE if data else False
        except (ValueError, AttributeError):
            ok = False
    if not ok:
        action = _WRITE_ACTION.get(entity, "household.edit")
        if entity == "case_event":
            action = CASE_EVENT_ACTIONS.get(str(payload.get("type")), action)
        raise UserError(
            "error.role_forbidden",
            exit_code=3,
            name=worker.name,
            role=role_label(worker.role),
            action=action_label(action),
            roles=roles_label(PERMISSIONS.get(action, WRITERS.get(entity, ()))),
        )

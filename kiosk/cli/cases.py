"""``kiosk cases add|list|show|act|report``: the case ledger for scripts and supervisors."""

from __future__ import annotations

import argparse

from kiosk.cases.events import build_event, describe_event, resolve_case
from kiosk.cli.output import open_runtime
from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "cases", parents=[common], help=t("cases.cli.help"), description=t("cases.cli.help")
    )
    cs = p.add_subparsers(dest="cases_command", metavar="ACTION", required=True)

    add = cs.add_parser(
        "add", parents=[common], help=t("cases.cli.add_help"), description=t("cases.cli.add_help")
    )
    add.add_argument(
        "--household",
        action="append",
        required=True,
        metavar="ID_OR_CODE",
        help=t("cases.cli.household"),
    )
    add.add_argument("--category", required=True, metavar="CAT", help=t("cases.cli.category"))
    add.add_argument("--summary", required=True, metavar="TEXT", help=t("cases.cli.summary"))
    add.add_argument("--raised-by", metavar="WHO", help=t("cases.cli.raised_by"))
    add.add_argument("--visit", metavar="VISIT_ID", help=t("cases.cli.visit"))
    add.add_argument("--at", metavar="DATE", help=t("cases.cli.at"))
    add.add_argument(
        "--photo", action="append", default=[], metavar="FILE", help=t("photos.cli.photo_before")
    )
    add.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    add.set_defaults(handler=run_add)

    ls = cs.add_parser(
        "list",
        parents=[common],
        help=t("cases.cli.list_help"),
        description=t("cases.cli.list_help"),
    )
    ls.add_argument("--status", metavar="S", help=t("cases.cli.status"))
    ls.add_argument("--overdue", action="store_true", help=t("cases.cli.overdue"))
    ls.add_argument("--category", metavar="CAT", help=t("cases.cli.category"))
    ls.add_argument("--department", metavar="D", help=t("cases.cli.department"))
    ls.add_argument("--level", type=int, metavar="N", help=t("cases.cli.level"))
    ls.add_argument("--grid", metavar="G", help=t("cases.cli.grid"))
    ls.add_argument("--household", metavar="ID", help=t("cases.cli.household"))
    ls.add_argument("--limit", type=int, default=50, metavar="N", help=t("cli.opt.limit"))
    ls.add_argument("--offset", type=int, default=0, metavar="N", help=t("cases.cli.offset"))
    ls.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    ls.set_defaults(handler=run_list)

    show = cs.add_parser(
        "show",
        parents=[common],
        help=t("cases.cli.show_help"),
        description=t("cases.cli.show_help"),
    )
    show.add_argument("id", metavar="ID")
    show.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    show.set_defaults(handler=run_show)

    act = cs.add_parser(
        "act", parents=[common], help=t("cases.cli.act_help"), description=t("cases.cli.act_help")
    )
    act.add_argument("id", metavar="ID")
    act.add_argument("action", metavar="ACTION", help=t("cases.cli.action"))
    act.add_argument("--department", metavar="D", help=t("cases.cli.department"))
    act.add_argument("--person", metavar="P", help=t("cases.cli.person"))
    act.add_argument("--due", metavar="YYYY-MM-DD", help=t("cases.cli.due"))
    act.add_argument("--note", metavar="TEXT", help=t("cases.cli.note"))
    act.add_argument("--rating", metavar="R", help=t("cases.cli.rating"))
    act.add_argument("--of", metavar="CASE", help=t("cases.cli.of"))
    act.add_argument("--level", type=int, metavar="N", help=t("cases.cli.escalate_level"))
    act.add_argument("--unreached", action="store_true", help=t("cases.cli.unreached"))
    act.add_argument("--at", metavar="DATE", help=t("cases.cli.at"))
    act.add_argument(
        "--photo", action="append", default=[], metavar="FILE", help=t("photos.cli.photo")
    )
    act.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    act.set_defaults(handler=run_act)

    report = cs.add_parser(
        "report",
        parents=[common],
        help=t("photos.report.cli.help"),
        description=t("photos.report.cli.help"),
    )
    report.add_argument("id", metavar="CASE", help=t("photos.report.cli.case"))
    report.add_argument("--pdf", required=True, metavar="FILE", help=t("photos.report.cli.pdf"))
    report.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    report.set_defaults(handler=run_report)
    rp = cs.add_parser(
        "require-photo",
        parents=[common],
        help=t("cases.rules.cli.help"),
        description=t("cases.rules.cli.description"),
    )
    rp.add_argument("group", nargs="?", metavar="GROUP", help=t("cases.rules.cli.group"))
    rp.add_argument(
        "state", nargs="?", choices=["on", "off"], metavar="on|off", help=t("cases.rules.cli.state")
    )
    rp.add_argument("--community", metavar="NAME", help=t("cases.rules.cli.community"))
    rp.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    rp.set_defaults(handler=run_require_photo)


def _write(runtime, fn):
    """Run ``fn(ctx)`` in one transaction: all of it is written, or nothing."""
    from db.connection import transaction

    with transaction(runtime.conn):
        return fn(runtime.ctx)


def resolve_household(conn, text: str) -> str:
    """A household id from its id, its label's code (``HH1:…``, any case, with or without
    hyphens, as a scanner types it), or an address that matches exactly one household."""
    from kiosk.core.errors import UserError
    from kiosk.qr.lookup import resolve_text
    from kiosk.qr.payload import looks_like_label, try_parse

    q = (text or "").strip()
    if not q:
        raise UserError("cases.error.no_household", exit_code=2)
    if conn.execute("SELECT 1 FROM households WHERE id = ?", (q,)).fetchone():
        return q
    payload = try_parse(q)
    if looks_like_label(q) or (payload is not None and payload.kind == "HH"):
        found = resolve_text(conn, q, with_cases=False)  # says why a code is not usable
        if found.payload.kind == "HH" and found.household is not None:
            return found.household.id
        raise UserError("cases.error.unknown_household", exit_code=2, id=q[:40])
    from db.search import search_households

    hits = [h for h in search_households(conn, q, limit=3) if h.rank == 0]
    if len(hits) == 1:
        return hits[0].household.id
    raise UserError("cases.error.unknown_household", exit_code=2, id=q[:40])


def run_add(args: argparse.Namespace) -> int:
    from db.case_fold import EscalationRules, parse_at
    from db.cases import get_case, register_case, repeat_candidates
    from db.photos import register_event
    from kiosk.cli.output import emit_json, info
    from kiosk.domain.categories import load_categories
    from kiosk.photos.attach import attach_prepared, prepare_files
    from kiosk.security.roles import require_on_household

    runtime = open_runtime(args, writes=True)
    try:
        conn, settings = runtime.conn, runtime.settings
        photos = prepare_files(args.photo, settings)  # a bad file refused before any write
        cats = load_categories(settings)
        cat = cats.resolve(args.category)
        households = [resolve_household(conn, h) for h in args.household]
        for hid in households:
            require_on_household(runtime.worker, "case.register", conn, hid)
        at = parse_at(args.at)
        rules = EscalationRules.from_settings(settings)
        candidates = repeat_candidates(
            conn,
            households,
            cat.code,
            args.summary,
            window_days=settings.repeat_window_days,
            rules=rules,
        )

        def write(ctx):
            cid = register_case(
                ctx,
                household_ids=households,
                category=cat.code,
                summary=args.summary,
                visit_id=args.visit,
                raised_by=args.raised_by,
                at=at,
                categories=cats,
            )
            if photos:
                attach_prepared(ctx, cid, register_event(ctx.conn, cid), photos)
            return cid

        cid = _write(runtime, write)
        detail = get_case(conn, cid, rules=rules)
    finally:
        runtime.close()
    assert detail is not None
    if args.json:
        emit_json(
            {
                "id": cid,
                "number": detail.number,
                "status": detail.state.status,
                "repeat_candidates": [
                    {
                        "id": c.case.id,
                        "number": c.case.number,
                        "scope": c.scope,
                        "status": c.case.status,
                        "similarity": round(c.similarity, 2),
                    }
                    for c in candidates
                ],
            }
        )
    else:
        print(cid)
        info(t("cases.cli.added", number=detail.number))
        for c in candidates:
            info(
                t(
                    "cases.cli.maybe_repeat",
                    number=c.case.number,
                    scope=t(f"cases.scope.{c.scope}"),
                    summary=c.case.summary[:30],
                )
            )
    return 0


def case_json(detail, categories) -> dict:
    """The JSON document of ``cases show``."""
    s = detail.state
    return {
        "id": detail.id,
        "number": detail.number,
        "status": s.status,
        "escalation_level": detail.escalation_level,
        "overdue": detail.overdue,
        "category": detail.category,
        "category_name": categories.label(detail.category),
        "category_group": detail.category_group,
        "summary": detail.summary,
        "registered_at": detail.registered_at,
        "grid": detail.grid_code,
        "visit_id": detail.visit_id,
        "department": s.department,
        "person": s.person,
        "due": s.due,
        "rating": s.rating,
        "reopen_count": s.reopen_count,
        "on_spot": s.on_spot,
        "close_kind": s.close_kind,
        "repeat_of": s.repeat_of,
        "households": [h.id for h in detail.households],
        "events": [
            {
                "id": e.id,
                "type": e.type,
                "at": e.at,
                "by": e.by_name or e.by,
                "by_id": e.by,
                "data": e.data,
                "hlc": e.hlc,
                "device_id": e.device_id,
                "valid": e.invalid is None,
                "invalid_rule": e.invalid,
            }
            for e in detail.events
        ],
        "photos": [
            {
                "id": p.id,
                "event_id": p.event_id,
                "event_type": p.event_type,
                "sha256": p.sha256,
                "width": p.width,
                "height": p.height,
                "bytes": p.bytes,
                "on_this_laptop": p.here,
                "erased": p.erased,
            }
            for p in detail.photos
        ],
    }


def run_show(args: argparse.Namespace) -> int:
    from db.case_fold import EscalationRules
    from db.cases import get_case
    from kiosk.cli.output import emit_json
    from kiosk.domain.categories import load_categories

    runtime = open_runtime(args)
    try:
        cid = resolve_case(runtime.conn, args.id)
        detail = get_case(runtime.conn, cid, rules=EscalationRules.from_settings(runtime.settings))
        cats = load_categories(runtime.settings)
    finally:
        runtime.close()
    assert detail is not None
    doc = case_json(detail, cats)
    if args.json:
        emit_json(doc)
        return 0
    print(
        f"{detail.number}  {cats.label(detail.category)}  {t('cases.status.' + doc['status'])}"
        f"  {t('cases.level.' + str(doc['escalation_level']))}"
    )
    print(detail.summary)
    for e in detail.events:
        flag = "" if e.invalid is None else "  ⚠ " + t(e.invalid, status="")
        print(
            f"  {e.at[:16]}  {t('cases.event.' + e.type)}  {e.by_name or ''}  "
            f"{describe_event(e.data, cats)}{flag}"
        )
        for p in (p for p in detail.photos if p.event_id == e.id):
            if p.erased:
                print(f"      {t('photos.erased')}")
                continue
            where = "" if p.here else "  " + t("photos.not_here")
            print(
                f"      {t('photos.one', width=p.width, height=p.height, kb=max(1, p.bytes // 1024))}"
                f"  {p.sha256[:12]}{where}"
            )
    return 0


def run_list(args: argparse.Namespace) -> int:
    from db.areas import grid_by_code
    from db.case_fold import STATUSES, EscalationRules
    from db.cases import CaseFilter, count_cases, list_cases
    from kiosk.cli.output import emit_json, info, table
    from kiosk.core.errors import UserError
    from kiosk.domain.categories import load_categories

    status = args.status
    if status and status not in (*STATUSES, "open"):
        raise UserError("cases.error.bad_status", exit_code=2, status=status[:40])
    if args.level is not None and not 0 <= args.level <= 3:
        raise UserError("cases.error.bad_level", exit_code=2)
    runtime = open_runtime(args)
    try:
        conn, settings = runtime.conn, runtime.settings
        cats = load_categories(settings)
        category = None
        if args.category:
            group = cats.group(args.category)
            category = group.code if group else cats.resolve(args.category).code
        grid_ids = None
        if args.grid:
            g = grid_by_code(conn, args.grid)
            if g is None:
                raise UserError("cases.error.bad_grid", exit_code=2, grid=args.grid[:40])
            grid_ids = [g.id]
        household = resolve_household(conn, args.household) if args.household else None
        f = CaseFilter(
            status=status,
            category=category,
            department=args.department,
            level=args.level,
            grid_ids=grid_ids,
            overdue=args.overdue,
            household_id=household,
        )
        rules = EscalationRules.from_settings(settings)
        limit = max(1, min(args.limit, 10000))
        rows = list_cases(conn, f, limit=limit, offset=max(0, args.offset), rules=rules)
        total = count_cases(conn, f, rules=rules)
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "total": total,
                "offset": max(0, args.offset),
                "cases": [
                    {
                        "id": c.id,
                        "number": c.number,
                        "status": c.status,
                        "category": c.category,
                        "category_group": c.category_group,
                        "summary": c.summary,
                        "registered_at": c.registered_at,
                        "department": c.department,
                        "due": c.due,
                        "escalation_level": c.escalation_level,
                        "overdue": c.overdue,
                        "reopen_count": c.reopen_count,
                        "rating": c.rating,
                        "repeat_of": c.repeat_of,
                    }
                    for c in rows
                ],
            }
        )
        return 0
    if not rows:
        info(t("cases.none"))
        return 0
    print(
        table(
            [
                t("cases.col.number"),
                t("cases.col.status"),
                t("cases.col.category"),
                t("cases.col.department"),
                t("cases.col.due"),
                t("cases.col.level"),
                t("cases.col.summary"),
            ],
            [
                (
                    c.number,
                    t(f"cases.status.{c.status}"),
                    cats.label(c.category),
                    c.department or "",
                    c.due or "",
                    t(f"cases.level.{c.escalation_level}") if c.escalation_level else "",
                    c.summary[:24],
                )
                for c in rows
            ],
        )
    )
    info(t("cases.cli.listed", n=len(rows), total=total))
    return 0


def run_act(args: argparse.Namespace) -> int:
    from db.case_fold import EscalationRules, parse_action, parse_at
    from db.cases import append_event, get_case
    from kiosk.cli.output import emit_json, info
    from kiosk.domain.categories import load_categories
    from kiosk.photos.attach import prepare_files
    from kiosk.security.roles import CASE_EVENT_ACTIONS, require_on_case

    event_type = parse_action(args.action)
    at = parse_at(args.at)
    runtime = open_runtime(args, writes=True)
    try:
        conn, settings = runtime.conn, runtime.settings
        photos = prepare_files(args.photo, settings)  # a bad file refused before any write
        cid = resolve_case(conn, args.id)
        require_on_case(runtime.worker, CASE_EVENT_ACTIONS[event_type], conn, cid)
        if args.rating and event_type == "follow_up":
            require_on_case(runtime.worker, "case.rate", conn, cid)
        data = build_event(
            conn,
            settings,
            cid,
            event_type,
            department=args.department,
            person=args.person,
            due=args.due,
            note=args.note,
            rating=args.rating,
            of=args.of,
            level=args.level,
            unreached=args.unreached,
        )
        rating_given = data.pop("rating_given", None)

        def write(ctx):
            # a resolution the case's community wants a photo of is refused without one
            eid = append_event(ctx, cid, event_type, data, at=at, photos=photos)
            if rating_given:
                append_event(ctx, cid, "rate", {"rating": rating_given}, at=at)
            return eid

        eid = _write(runtime, write)
        detail = get_case(conn, cid, rules=EscalationRules.from_settings(settings))
        cats = load_categories(settings)
    finally:
        runtime.close()
    assert detail is not None
    if args.json:
        emit_json({"event_id": eid, **case_json(detail, cats)})
    else:
        info(
            t(
                "cases.cli.acted",
                number=detail.number,
                action=t(f"cases.event.{event_type}"),
                status=t(f"cases.status.{detail.state.status}"),
            )
        )
    return 0


def run_report(args: argparse.Namespace) -> int:
    """The case as a PDF report (kiosk/cases/report.py): as the acting worker, who must be
    allowed a masked export of the case's grid; audited as an export."""
    from db.case_fold import EscalationRules
    from kiosk.cases.report import check_output, save_report
    from kiosk.cli.output import emit_json, info
    from kiosk.domain.categories import load_categories
    from kiosk.qr.fonts import font_for

    check_output(args.pdf)  # a path that cannot be written: said before the PIN is asked
    runtime = open_runtime(args, writes=True)  # an export, like the ledgers
    try:
        font = font_for(runtime.settings)  # none installed: what to install, before any work
        cid = resolve_case(runtime.conn, args.id)
        summary = save_report(
            runtime.conn,
            lambda fn: _write(runtime, fn),
            runtime.worker,
            cid,
            args.pdf,
            font,
            categories=load_categories(runtime.settings),
            rules=EscalationRules.from_settings(runtime.settings),
        )
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "id": cid,
                "number": summary.number,
                "pdf": summary.path,
                "pages": summary.pages,
                "photos": summary.photos,
            }
        )
    else:
        info(
            t(
                "photos.report.cli.done",
                number=summary.number,
                path=summary.path,
                pages=summary.pages,
                photos=summary.photos,
            )
        )
    return 0


def run_require_photo(args: argparse.Namespace) -> int:
    """``kiosk cases require-photo [GROUP on|off]``: which category groups the community
    resolves only with a photo of the repair; a supervisor's or an administrator's to change."""
    from kiosk.cases.rules import find_group, group_rules, require_after_photo, rules_community
    from kiosk.cli.output import emit_json, info, table
    from kiosk.core.errors import UserError
    from kiosk.domain.categories import load_categories

    changing = args.group is not None
    if changing and args.state is None:
        raise UserError("cases.rules.state_needed", exit_code=2)
    runtime = open_runtime(args, writes=changing)
    try:
        cats = load_categories(runtime.settings)
        community = rules_community(runtime.conn, runtime.worker, args.community, changing=changing)
        wrote = False
        if changing:
            assert community is not None
            group = find_group(cats, args.group)
            wrote = _write(
                runtime,
                lambda ctx: require_after_photo(ctx, community, group, args.state == "on"),
            )
        if not community:  # an administrator lists a community's rules by naming it
            raise UserError("cases.rules.community_needed", exit_code=2)
        rules = group_rules(runtime.conn, cats, community)
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "community": community,
                "changed": wrote,
                "groups": [
                    {"code": r.group.code, "name": r.group.name, "after_photo": r.after_photo}
                    for r in rules
                ],
            }
        )
        return 0
    if changing:
        key = "cases.rules.cli.now_on" if args.state == "on" else "cases.rules.cli.now_off"
        info(t(key, community=community, group=group.name))
    else:
        print(
            table(
                [t("cases.rules.col.group"), t("cases.rules.col.code"), t("cases.rules.col.rule")],
                [
                    (
                        r.group.name,
                        r.group.code,
                        t("cases.rules.after_photo" if r.after_photo else "cases.rules.none"),
                    )
                    for r in rules
                ],
            )
        )
    return 0

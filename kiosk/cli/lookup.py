"""``kiosk lookup PAYLOAD | --image PHOTO``: the household (or case) a label names, with its
unfinished cases."""

from __future__ import annotations

import argparse

from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "lookup",
        parents=[common],
        help=t("qr.cli.lookup_help"),
        description=t("qr.cli.lookup_help"),
    )
    p.add_argument("payload", nargs="?", metavar="PAYLOAD", help=t("qr.cli.payload"))
    p.add_argument("--image", metavar="PHOTO", help=t("qr.cli.image"))
    p.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    p.set_defaults(handler=run)


def payload_from_image(path: str) -> str:
    """The one label payload in a photo: several different labels, or only QR codes that are
    not labels, are refused with a message saying so."""
    from kiosk.core.errors import UserError
    from kiosk.qr.decode import decode_image
    from kiosk.qr.payload import looks_like_label, try_parse

    found = decode_image(path)
    labels = list(
        dict.fromkeys(d.text for d in found if try_parse(d.text) or looks_like_label(d.text))
    )
    if not labels:
        raise UserError("qr.image.not_label", n=len(found))
    if len(labels) > 1:
        raise UserError("qr.image.many", n=len(labels))
    return labels[0]


def audit_lookup(ctx, result, via: str) -> None:
    """Record the lookup of the household (or case) a label led to (shared with ``scan``)."""
    household_id = result.household.id if result.household is not None else None
    entity, entity_id = ("case", result.case_id) if result.case_id else ("household", household_id)
    ctx.audit(
        "lookup",
        entity,
        entity_id,
        household_id=household_id,
        detail={"via": via, "label": result.payload.kind},
    )


def print_result(result) -> None:
    """The human-readable lookup (shared with ``kiosk scan``)."""
    from kiosk.domain import present

    if result.case is not None:
        c = result.case
        print(
            t(
                "qr.lookup.case",
                number=c["number"],
                category=_category(c["category"]),
                status=t(f"qr.status.{c.get('status') or 'registered'}"),
            )
        )
    h = result.household
    if h is not None:
        print(t("qr.lookup.household", address=present.address(h), grid=h.grid_name, id=h.id))
        if h.tags:
            print("  " + present.tags(h.tags))
    if not result.open_cases:
        print(t("qr.lookup.no_cases"))
        return
    print(t("qr.lookup.open_cases", n=len(result.open_cases)))
    for c in result.open_cases:
        flags = " ".join(
            f
            for f in (
                t("qr.lookup.overdue") if c.get("overdue") else "",
                t("qr.lookup.follow_up") if c.get("status") == "resolved" else "",
            )
            if f
        )
        print(
            f"  {c['number']}  {_category(c['category'])}  "
            f"{t('qr.status.' + c['status'])}  {c['registered_at'][:10]}  {flags}".rstrip()
        )


def _category(code: str) -> str:
    from kiosk.domain.categories import active_categories

    return active_categories().label(code)


def run(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json
    from kiosk.core.errors import UserError
    from kiosk.qr.lookup import resolve_text, to_json
    from kiosk.runtime import runtime_for

    if bool(args.payload) == bool(args.image):
        raise UserError("qr.cli.lookup_usage", exit_code=2)
    text = args.payload if args.payload else payload_from_image(args.image)
    runtime = runtime_for(args, create=False)
    try:
        result = resolve_text(runtime.conn, text)
        audit_lookup(runtime.ctx, result, "lookup")
    finally:
        runtime.close()
    if args.json:
        emit_json(to_json(result))
    else:
        print_result(result)
    return 0

"""``kiosk hub serve|devices|import|export|audit|seed``: the hub, for the community office or the
district. Every subcommand addresses the hub's store given by ``--db URL`` (a SQLite path or
``postgresql://...``), else ``KIOSK_HUB_DB``, else ``hub.db`` in the data dir."""

from __future__ import annotations

import argparse
import os

from kiosk.core.i18n import t, when


def register(sub, common) -> None:
    p = sub.add_parser(
        "hub",
        parents=[common],
        help=t("sync.hub_cli.help"),
        description=t("sync.hub_cli.help") + " " + t("sync.hub_cli.db"),
    )
    hs = p.add_subparsers(dest="hub_command", metavar="ACTION", required=True)

    serve = hs.add_parser(
        "serve",
        parents=[common],
        help=t("sync.hub_cli.serve_help"),
        description=t("sync.hub_cli.serve_help") + " " + t("sync.hub_cli.db"),
    )
    serve.add_argument("--host", default="127.0.0.1", help=t("sync.hub_cli.host"))
    serve.add_argument("--port", type=_port, default=8765, help=t("sync.hub_cli.port"))
    serve.add_argument(
        "--workers", type=int, default=1, metavar="N", help=t("sync.hub_cli.workers")
    )
    serve.set_defaults(handler=run_serve)

    devices = hs.add_parser(
        "devices",
        parents=[common],
        help=t("sync.hub_cli.devices_help"),
        description=t("sync.hub_cli.devices_help"),
    )
    ds = devices.add_subparsers(dest="devices_command", metavar="ACTION", required=True)
    add = ds.add_parser(
        "add",
        parents=[common],
        help=t("sync.hub_cli.add_help"),
        description=t("sync.hub_cli.add_help"),
    )
    add.add_argument("name", metavar="NAME", help=t("sync.hub_cli.name"))
    _scope_options(add)
    # (--worker is the common option naming the acting worker on a laptop)
    add.add_argument("--person", metavar="NAME", help=t("sync.hub_cli.worker"))
    add.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    add.set_defaults(handler=run_add)
    scp = ds.add_parser(
        "scope",
        parents=[common],
        help=t("sync.hub_cli.scope_help"),
        description=t("sync.hub_cli.scope_help"),
    )
    scp.add_argument("name", metavar="NAME", help=t("sync.hub_cli.name"))
    _scope_options(scp)
    scp.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    scp.set_defaults(handler=run_scope)
    lst = ds.add_parser(
        "list",
        parents=[common],
        help=t("sync.hub_cli.list_help"),
        description=t("sync.hub_cli.list_help"),
    )
    lst.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    lst.set_defaults(handler=run_list)
    rev = ds.add_parser(
        "revoke",
        parents=[common],
        help=t("sync.hub_cli.revoke_help"),
        description=t("sync.hub_cli.revoke_help"),
    )
    rev.add_argument("name", metavar="NAME", help=t("sync.hub_cli.name"))
    rev.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    rev.set_defaults(handler=run_revoke)

    ref = hs.add_parser(
        "refused",
        parents=[common],
        help=t("sync.hub_cli.refused_help"),
        description=t("sync.hub_cli.refused_help"),
    )
    ref.add_argument("--device", metavar="NAME", help=t("sync.hub_cli.device"))
    ref.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    ref.set_defaults(handler=run_refused)

    clk = hs.add_parser(
        "clock",
        parents=[common],
        help=t("sync.hub_cli.clock_help"),
        description=t("sync.hub_cli.clock_help"),
    )
    clk.add_argument("--repair", action="store_true", help=t("sync.hub_cli.clock_repair"))
    clk.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    clk.set_defaults(handler=run_clock)

    imp = hs.add_parser(
        "import",
        parents=[common],
        help=t("sync.hub_cli.import_help"),
        description=t("sync.hub_cli.import_help"),
    )
    imp.add_argument("file", metavar="FILE", help=t("sync.cli.file"))
    imp.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    imp.set_defaults(handler=run_import)

    exp = hs.add_parser(
        "export",
        parents=[common],
        help=t("sync.hub_cli.export_help"),
        description=t("sync.hub_cli.export_help"),
    )
    exp.add_argument("--device", required=True, metavar="NAME", help=t("sync.hub_cli.device"))
    exp.add_argument("file", metavar="FILE", help=t("sync.cli.file"))
    exp.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    exp.set_defaults(handler=run_export)

    aud = hs.add_parser(
        "audit", parents=[common], help=t("audit.hub.help"), description=t("audit.hub.help")
    )
    aud.add_argument("--device", metavar="NAME", help=t("audit.hub.device"))
    aud.add_argument("--limit", type=int, default=50, metavar="N", help=t("audit.cli.limit"))
    aud.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    aud.set_defaults(handler=run_audit)
    aus = aud.add_subparsers(dest="audit_command", metavar="ACTION")
    ver = aus.add_parser(
        "verify",
        parents=[common],
        help=t("audit.hub.verify_help"),
        description=t("audit.hub.verify_help"),
    )
    ver.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    ver.set_defaults(handler=run_audit_verify)

    seed = hs.add_parser(
        "seed",
        parents=[common],
        help=t("sync.hub_cli.seed_help"),
        description=t("sync.hub_cli.seed_help"),
    )
    seed.add_argument(
        "--from", dest="source", required=True, metavar="PATH", help=t("sync.hub_cli.seed_from")
    )
    seed.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    seed.set_defaults(handler=run_seed)


def _store(args: argparse.Namespace):
    from kiosk.core.errors import UserError
    from kiosk.hub.store.open import open_store
    from kiosk.runtime import load

    settings = load(None, getattr(args, "lang", None))
    url = getattr(args, "db", None) or os.environ.get("KIOSK_HUB_DB") or None
    try:
        store = open_store(url)
        store.set_max_drift(settings.hub_max_drift_hours)
        return store
    except Exception as exc:  # noqa: BLE001 - any driver error becomes one clear message
        from kiosk.hub.store.base import HubError

        if isinstance(exc, HubError):
            raise
        raise UserError(
            "sync.error.hub_store",
            exit_code=2,
            url=_safe_url(url or "hub.db"),
            detail=type(exc).__name__,
        ) from None


def _safe_url(url: str) -> str:
    """A store URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return url


def _port(text: str) -> int:
    """A TCP port, or argparse's usage error in the interface's language."""
    if not text.isdigit() or not 1 <= int(text[:6]) <= 65535 or len(text) > 5:
        raise argparse.ArgumentTypeError(t("error.bad_port", value=text[:12]))
    return int(text)


def _scope_options(parser) -> None:
    """What a device covers: its grids (a field laptop), a community, a street or every grid
    (an office PC), or everything and the administration (the administrator's PC)."""
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--grid", action="append", metavar="G", help=t("sync.hub_cli.grid"))
    scope.add_argument("--community", metavar="NAME", help=t("sync.hub_cli.community"))
    scope.add_argument("--street", metavar="NAME", help=t("sync.hub_cli.street"))
    scope.add_argument("--office", action="store_true", help=t("sync.hub_cli.office"))
    scope.add_argument("--admin", action="store_true", help=t("sync.hub_cli.admin"))
    scope.add_argument("--counter", metavar="NAME", help=t("sync.hub_cli.counter"))


def _role(args: argparse.Namespace) -> str:
    if getattr(args, "counter", None):
        # a resident self-service counter: its community, like a community office PC's
        args.community = args.counter
        return "counter"
    if args.admin:
        return "admin"
    return "office" if args.office or args.community or args.street else "field"


def _hub_error(exc) -> Exception:
    from kiosk.core.errors import UserError

    if exc.code in (
        "device_exists",
        "field_needs_grid",
        "grids_for_field",
        "bad_role",
        "community_for_office",
        "community_or_street",
        "counter_needs_community",
        "bad_name",
    ):
        return UserError(f"sync.error.{exc.code}", exit_code=2, **exc.params)
    return UserError(
        "sync.error.refused",
        exit_code=2,
        status=exc.status,
        message=t(f"sync.hub_error.{exc.code}", **exc.params),
        **exc.params,
    )


def run_serve(args: argparse.Namespace) -> int:
    from kiosk.cli.output import info
    from kiosk.core.errors import UserError
    from kiosk.hub.app import serve, serve_workers

    workers = getattr(args, "workers", 1)
    if not 1 <= workers <= 64:
        raise UserError("sync.error.workers_range", exit_code=2, n=workers)
    store = _store(args)
    url = store.url
    drift_hours = store.max_drift_ms / 3_600_000

    def ready(_url: str) -> None:
        # Said once the hub accepts connections (not before), so scripts can wait for it.
        info(t("sync.hub_cli.listening", host=args.host, port=args.port, store=_safe_url(url)))

    try:
        if workers == 1:
            serve(store, args.host, args.port, ready)
            return 0
        if not url.startswith(("postgresql://", "postgres://")):
            # SQLite serialises writers in one process; several would wait on each other's
            # locks and a push could time out: one process serves a SQLite hub.
            raise UserError("sync.error.workers_sqlite", exit_code=2)
    finally:
        store.close()
    os.environ["KIOSK_HUB_MAX_DRIFT_HOURS"] = str(drift_hours)  # each process's setting
    serve_workers(url, args.host, args.port, workers, ready)
    return 0


def run_add(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json
    from kiosk.hub.devices import CODE_TTL_HOURS
    from kiosk.hub.store.base import HubError

    role = _role(args)
    store = _store(args)
    try:
        code = store.add_device(
            args.name,
            args.grid,
            args.person,
            role=role,
            community=args.community,
            street=args.street,
        )
    except HubError as exc:
        raise _hub_error(exc) from None
    finally:
        store.close()
    if args.json:
        emit_json(
            {
                "name": args.name,
                "code": code,
                "role": role,
                "grids": args.grid,
                "community": args.community,
                "street": args.street,
                "person": args.person,
            }
        )
        return 0
    import qrcode

    print(t("sync.hub_cli.code", name=args.name, hours=CODE_TTL_HOURS, code=code))
    qr = qrcode.QRCode(border=1)
    qr.add_data(code.replace("-", ""))
    qr.print_ascii(invert=True)
    return 0


def run_scope(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError
    from kiosk.hub.store.base import HubError

    role = _role(args)
    store = _store(args)
    try:
        found = store.set_device_scope(
            args.name, args.grid, role=role, community=args.community, street=args.street
        )
    except HubError as exc:
        raise _hub_error(exc) from None
    finally:
        store.close()
    if not found:
        raise UserError("sync.error.unknown_device", exit_code=2, name=args.name)
    if args.json:
        emit_json(
            {
                "name": args.name,
                "role": role,
                "grids": args.grid,
                "community": args.community,
                "street": args.street,
            }
        )
    else:
        info(t("sync.hub_cli.scoped", name=args.name, role=t(f"sync.hub_cli.role_{role}")))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, table

    store = _store(args)
    try:
        devices = store.list_devices()
    finally:
        store.close()
    if args.json:
        emit_json({"devices": [d.public() for d in devices]})
        return 0
    rows = []
    for d in devices:
        state = "state_revoked" if d.revoked else "state_active" if d.device_id else "state_pending"
        reach = (
            t("role.separator").join(d.grids)
            if d.grids
            else d.community or d.street or t("sync.hub_cli.all_grids")
        )
        rows.append(
            (
                d.name,
                t(f"sync.hub_cli.role_{d.role}"),
                reach,
                t(f"sync.hub_cli.{state}"),
                when(d.last_seen_at) or "-",
            )
        )
    print(
        table(
            [
                t("sync.hub_cli.col_name"),
                t("sync.hub_cli.col_role"),
                t("sync.hub_cli.col_grids"),
                t("sync.hub_cli.col_state"),
                t("sync.hub_cli.col_seen"),
            ],
            rows,
        )
    )
    return 0


def run_refused(args: argparse.Namespace) -> int:
    """The operations the hub refused, per device: what, why (ids and codes, no content)."""
    from kiosk.cli.output import emit_json, info, table
    from kiosk.core.errors import UserError

    store = _store(args)
    try:
        devices = store.list_devices()
        if args.device:
            devices = [d for d in devices if d.name == args.device]
            if not devices or devices[0].device_id is None:
                raise UserError("sync.error.unknown_device", exit_code=2, name=args.device)
        found = [(d, r) for d in devices if d.device_id for r in store.refused_for(d.device_id)]
    finally:
        store.close()
    if args.json:
        emit_json(
            {
                "refused": [
                    {
                        "device": d.name,
                        "op_id": r.op_id,
                        "entity": r.entity,
                        "entity_id": r.entity_id,
                        "code": r.code,
                        "params": r.params,
                        "message": t(f"sync.hub_error.{r.code}", **r.params),
                    }
                    for d, r in found
                ]
            }
        )
        return 0
    if not found:
        info(t("sync.hub_cli.none_refused"))
        return 0
    print(
        table(
            [t("sync.hub_cli.col_name"), t("sync.cli.col_record"), t("sync.cli.col_why")],
            [
                (
                    d.name,
                    f"{r.entity} {r.entity_id[-12:]}",
                    t(f"sync.hub_error.{r.code}", **r.params),
                )
                for d, r in found
            ],
        )
    )
    return 0


def run_clock(args: argparse.Namespace) -> int:
    """Operations stamped beyond the drift bound (from a laptop whose clock was set far ahead
    before the hub refused such stamps): list them, and with --repair re-stamp them."""
    from kiosk.cli.output import emit_json, info, table

    store = _store(args)
    try:
        names = {d.device_id: d.name for d in store.list_devices() if d.device_id}
        n, far = store.far_stamps()
        repaired = store.restamp_far() if args.repair and n else 0
        hub_now = store.clock.now()
    finally:
        store.close()
    hours = store.max_drift_ms // 3_600_000
    if args.json:
        emit_json(
            {
                "hub_clock": hub_now,
                "max_drift_hours": hours,
                "far": n,
                "repaired": repaired,
                "operations": [
                    {
                        "op_id": f.op_id,
                        "device": names.get(f.device_id, f.device_id),
                        "entity": f.entity,
                        "entity_id": f.entity_id,
                        "hlc": f.hlc,
                        "received_at": f.received_at,
                    }
                    for f in far
                ],
            }
        )
        return 0
    if not n:
        info(t("sync.hub_cli.clock_ok", hours=hours))
        return 0
    print(
        table(
            [t("sync.hub_cli.col_name"), t("sync.cli.col_record"), t("sync.hub_cli.col_received")],
            [
                (
                    names.get(f.device_id, f.device_id[:8]),
                    f"{f.entity} {f.entity_id[-12:]}",
                    f.received_at,
                )
                for f in far
            ],
        )
    )
    if repaired:
        info(t("sync.hub_cli.clock_repaired", n=repaired))
    else:
        info(t("sync.hub_cli.clock_far", n=n, hours=hours))
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError

    store = _store(args)
    try:
        found = store.revoke_device(args.name)
    finally:
        store.close()
    if not found:
        raise UserError("sync.error.unknown_device", exit_code=2, name=args.name)
    if args.json:
        emit_json({"name": args.name, "revoked": True})
    else:
        info(t("sync.hub_cli.revoked", name=args.name))
    return 0


def run_import(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.hub.bundle import hub_import
    from kiosk.hub.store.base import HubError

    store = _store(args)
    try:
        name, result, pics = hub_import(store, args.file)
    except HubError as exc:
        raise _hub_error(exc) from None
    finally:
        store.close()
    if args.json:
        emit_json(
            {
                "device": name,
                "stored": result.stored,
                "duplicates": result.duplicates,
                "refused": [
                    {"op_id": r.op_id, "entity": r.entity, "code": r.code, "params": r.params}
                    for r in result.refused
                ],
                "photos": len(pics.stored),
                "photos_unknown": len(pics.unknown),
                "photos_mismatch": len(pics.mismatch),
            }
        )
    else:
        info(
            t(
                "sync.hub_cli.imported",
                name=name,
                stored=result.stored,
                duplicates=result.duplicates,
            )
        )
        if result.refused:
            info(t("sync.hub_cli.import_refused", n=len(result.refused), name=name))
        if pics.stored:
            info(t("sync.hub_cli.imported_photos", stored=len(pics.stored)))
        if pics.unknown or pics.mismatch:
            info(t("sync.hub_cli.photos_refused", n=len(pics.unknown) + len(pics.mismatch)))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from kiosk.cli.output import emit_json, info
    from kiosk.hub.bundle import hub_export

    store = _store(args)
    try:
        counts = hub_export(store, args.device, args.file)
    finally:
        store.close()
    if args.json:
        emit_json(
            {
                "device": args.device,
                "file": args.file,
                "ops": counts.ops,
                "photos": counts.pictures,
                "photos_left": counts.pictures_left,
            }
        )
    else:
        info(t("sync.hub_cli.exported", n=counts.ops, name=args.device, path=args.file))
        if counts.pictures:
            info(t("sync.hub_cli.exported_photos", n=counts.pictures))
        if counts.pictures_left:
            info(t("sync.hub_cli.photos_left", n=counts.pictures_left))
    return 0


def run_audit(args: argparse.Namespace) -> int:
    """The audit trail as the hub holds it (every device's), newest first."""
    import json

    from kiosk.cli.audit import detail_text, device_label
    from kiosk.cli.output import emit_json, info, table
    from kiosk.core.errors import UserError

    store = _store(args)
    try:
        names = {d.device_id: d.name for d in store.list_devices() if d.device_id}
        device_id = None
        if args.device:
            device = store.device_by_name(args.device)
            if device is None or device.device_id is None:
                raise UserError("sync.error.unknown_device", exit_code=2, name=args.device)
            device_id = device.device_id
        entries = store.audit_entries(device_id, max(1, min(args.limit, 100_000)))
    finally:
        store.close()
    for e in entries:
        e["device"] = names.get(e["device_id"])
        e["detail"] = json.loads(e["detail"] or "{}")
    if args.json:
        emit_json({"entries": entries, "count": len(entries)})
        return 0
    if not entries:
        info(t("audit.none"))
        return 0
    print(
        table(
            [
                t("audit.col.at"),
                t("audit.col.device"),
                "#",
                t("audit.col.action"),
                t("audit.col.what"),
                t("audit.col.household"),
                t("audit.col.detail"),
            ],
            [
                (
                    e["at"][:19].replace("T", " "),
                    device_label(e["device_id"], names),
                    str(e["dseq"]),
                    e["action"],
                    " ".join(x for x in (e["entity"], (e["entity_id"] or "")[-12:]) if x),
                    (e["household_id"] or "")[-12:],
                    detail_text(e["detail"]),
                )
                for e in entries
            ],
        )
    )
    return 0


def run_audit_verify(args: argparse.Namespace) -> int:
    """Check every device's chain as the hub holds it (read only)."""
    from kiosk.cli.audit import problem_message
    from kiosk.cli.output import emit_json, info

    store = _store(args)
    try:
        names = {d.device_id: d.name for d in store.list_devices() if d.device_id}
        entries, devices, problems = store.verify_audit()
    finally:
        store.close()
    messages = [problem_message(p, names) for p in problems]
    if args.json:
        emit_json(
            {
                "intact": not problems,
                "entries": entries,
                "devices": devices,
                "problems": [
                    {"device_id": p.device_id, "dseq": p.dseq, "kind": p.kind, "message": m}
                    for p, m in zip(problems, messages, strict=True)
                ],
            }
        )
        return 1 if problems else 0
    for message in messages:
        print(message)
    if problems:
        info(t("audit.hub.broken", n=len(problems)))
        return 1
    print(t("audit.intact", entries=entries, devices=devices))
    return 0


def run_seed(args: argparse.Namespace) -> int:
    from pathlib import Path

    from db.connection import connect
    from kiosk.cli.output import emit_json, info
    from kiosk.core.errors import UserError
    from kiosk.sync.seed import seed_ops

    if not Path(args.source).is_file():
        raise UserError("error.file_missing", exit_code=2, path=args.source)
    store = _store(args)
    src = connect(args.source, readonly=True)
    n = 0
    try:
        for batch in seed_ops(src):
            n += store.ingest(None, batch).stored
    finally:
        src.close()
        store.close()
    if args.json:
        emit_json({"from": args.source, "ops": n})
    else:
        info(t("sync.hub_cli.seeded", n=n, path=args.source))
    return 0

"""``kiosk audit [--worker W] [--household H] [--since DATE] [--limit N] [--json]`` and
``kiosk audit verify [--json]``: the audit trail and its hash-chain check.

Here ``--worker W`` shows W's actions; who reads the trail, a supervisor
or administrator, is named with ``--as`` (which every command accepts). See
docs/security.md.
"""

from __future__ import annotations

import argparse
import sqlite3
from datetime import date
from typing import Any

from kiosk.core.i18n import has, t


def register(sub, common) -> None:
    from kiosk.cli.main import common_options

    common = common_options(worker_flags=("--as",))
    p = sub.add_parser(
        "audit", parents=[common], help=t("audit.cli.help"), description=t("audit.cli.description")
    )
    p.add_argument("--worker", "--by", dest="by", metavar="NAME", help=t("audit.cli.by"))
    p.add_argument("--household", metavar="H", help=t("audit.cli.household"))
    p.add_argument("--since", metavar="YYYY-MM-DD", help=t("audit.cli.since"))
    p.add_argument("--limit", type=int, default=50, metavar="N", help=t("audit.cli.limit"))
    p.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    p.set_defaults(handler=run_list)
    actions = p.add_subparsers(dest="audit_command", metavar="ACTION")
    v = actions.add_parser(
        "verify",
        parents=[common],
        help=t("audit.cli.verify_help"),
        description=t("audit.cli.verify_help"),
    )
    v.add_argument("--json", action="store_true", help=t("cli.opt.json"))
    v.set_defaults(handler=run_verify)


def _since(value: str | None) -> str | None:
    from kiosk.core.errors import UserError

    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise UserError("audit.error.bad_date", exit_code=2, value=value[:40]) from None


def _acting(runtime, action: str):
    """The worker named with --as (never the laptop's default grid worker), if they may
    ``action``."""
    from kiosk.security.roles import require

    return require(runtime.worker if runtime.settings.worker else None, action)


def _names(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute(f"SELECT id, name FROM {table}")}


def device_label(device_id: str, devices: dict[str, str]) -> str:
    """A device as people know it: its name and the end of its id (names may repeat)."""
    name = devices.get(device_id)
    return f"{name} (…{device_id[-8:]})" if name else device_id


def _label(prefix: str, value: str | None) -> str:
    if not value:
        return ""
    key = f"{prefix}.{value}"
    return t(key) if has(key) else value


def detail_text(detail: dict[str, Any]) -> str:
    """``detail`` on one line: ``fields=note,tags rows=20 with=case:3,visit_item:3`` (the
    records created with one are counted here; ``--json`` lists their ids)."""
    parts = []
    for key, value in sorted(detail.items()):
        if isinstance(value, dict):
            value = ",".join(
                f"{k}:{len(v) if isinstance(v, list) else v}" for k, v in sorted(value.items())
            )
        elif isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "1" if value else "0"
        parts.append(f"{key}={value}")
    return " ".join(parts)


def run_list(args: argparse.Namespace) -> int:
    from db.audit import list_entries
    from db.connection import transaction
    from db.workers import worker_by_name
    from kiosk.cli.output import emit_json, info, table
    from kiosk.core.errors import UserError
    from kiosk.runtime import runtime_for

    since = _since(args.since)
    limit = max(1, min(args.limit, 100_000))
    runtime = runtime_for(args, create=False)
    try:
        _acting(runtime, "audit.view")
        conn = runtime.conn
        by = household = None
        if args.by is not None:
            worker = worker_by_name(conn, args.by.strip())
            if worker is None:
                raise UserError("audit.error.unknown_worker", exit_code=2, name=args.by[:40])
            by = worker.id
        if args.household is not None:
            from kiosk.cli.cases import resolve_household

            household = resolve_household(conn, args.household)
        # Changes still waiting in the outbox are written to the trail first (db/audit.py).
        with transaction(conn):
            runtime.ctx.catch_up_audit()
        entries = list_entries(conn, worker_id=by, household_id=household, since=since, limit=limit)
        workers, devices = _names(conn, "workers"), _names(conn, "devices")
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "entries": [
                    {
                        "seq": e.seq,
                        "id": e.id,
                        "at": e.at,
                        "device_id": e.device_id,
                        "device": devices.get(e.device_id),
                        "dseq": e.dseq,
                        "worker_id": e.worker_id,
                        "worker": workers.get(e.worker_id or ""),
                        "action": e.action,
                        "entity": e.entity,
                        "entity_id": e.entity_id,
                        "household_id": e.household_id,
                        "detail": e.details,
                    }
                    for e in entries
                ],
                "count": len(entries),
            }
        )
        return 0
    if not entries:
        info(t("audit.none"))
        return 0
    rows = [
        (
            e.at[:19].replace("T", " "),
            workers.get(e.worker_id or "", e.worker_id or "—"),
            device_label(e.device_id, devices),
            _label("audit.action", e.action),
            " ".join(x for x in (_label("audit.entity", e.entity), (e.entity_id or "")[-12:]) if x),
            (e.household_id or "")[-12:],
            detail_text(e.details),
        )
        for e in entries
    ]
    print(
        table(
            [
                t("audit.col.at"),
                t("audit.col.worker"),
                t("audit.col.device"),
                t("audit.col.action"),
                t("audit.col.what"),
                t("audit.col.household"),
                t("audit.col.detail"),
            ],
            rows,
        )
    )
    if len(entries) == limit:
        info(t("audit.more", n=limit))
    return 0


def problem_message(problem, devices: dict[str, str]) -> str:
    """One break in a chain, said so a supervisor knows where to look and what it means."""
    device = device_label(problem.device_id, devices)
    params = {"device": device, "dseq": problem.dseq}
    if problem.kind in ("gap", "start"):
        params.update(first=problem.expected, last=problem.dseq - 1)
    elif problem.kind == "truncated":
        params.update(expected=problem.expected)
    return t(f"audit.problem.{problem.kind}", **params)


def run_verify(args: argparse.Namespace) -> int:
    from db.audit import pending_seq, verify
    from kiosk.cli.output import emit_json, info
    from kiosk.runtime import runtime_for

    runtime = runtime_for(args, create=False)
    try:
        _acting(runtime, "audit.verify")
        conn = runtime.conn
        # Read only: a broken chain is reported, never extended or "repaired" here.
        result = verify(conn, this_device=runtime.ctx.device_id)
        waiting = conn.execute(
            "SELECT count(*) FROM outbox WHERE seq > ?", (pending_seq(conn),)
        ).fetchone()[0]
        devices = _names(conn, "devices")
    finally:
        runtime.close()
    if args.json:
        emit_json(
            {
                "intact": result.intact,
                "entries": result.entries,
                "devices": result.devices,
                "waiting": waiting,
                "problems": [
                    {
                        "device_id": p.device_id,
                        "device": devices.get(p.device_id),
                        "dseq": p.dseq,
                        "kind": p.kind,
                        "expected": p.expected,
                        "message": problem_message(p, devices),
                    }
                    for p in result.problems
                ],
            }
        )
        return 0 if result.intact else 1
    for problem in result.problems:
        print(problem_message(problem, devices))
    if result.intact:
        print(t("audit.intact", entries=result.entries, devices=result.devices))
    else:
        info(t("audit.broken", n=len(result.problems)))
    if waiting:
        info(t("audit.waiting", n=waiting))
    return 0 if result.intact else 1

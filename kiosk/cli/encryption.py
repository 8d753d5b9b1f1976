"""``kiosk encryption status|on|off``: encryption at rest of the laptop database.

The database is converted in place, crash-safely (``db.connection.convert_database``); the
key is a device secret in a key file (``kiosk.runtime.ensure_key``). docs/security.md has
the threat model: what this protects and what it does not.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from kiosk.core.i18n import t


def register(sub, common) -> None:
    p = sub.add_parser(
        "encryption",
        parents=[common],
        help=t("security.cli.help"),
        description=t("security.cli.description"),
    )
    es = p.add_subparsers(dest="encryption_command", metavar="ACTION", required=True)
    for name, handler in (("status", run_status), ("on", run_on), ("off", run_off)):
        action = es.add_parser(
            name,
            parents=[common],
            help=t(f"security.cli.{name}_help"),
            description=t(f"security.cli.{name}_help"),
        )
        action.add_argument("--json", action="store_true", help=t("cli.opt.json"))
        action.set_defaults(handler=handler)


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from kiosk.runtime import load

    return load(
        getattr(args, "db", None), getattr(args, "lang", None), getattr(args, "worker", None)
    )


def _same_disk(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def run_status(args: argparse.Namespace) -> int:
    from db.connection import conversion_path, file_state
    from kiosk.cli.output import emit_json
    from kiosk.core.config import database_path, key_path

    settings = _settings(args)
    path = database_path(settings)
    key_file = key_path(settings, path)
    state = file_state(path)
    doc = {
        "db": str(path),
        "state": state,
        "encrypted": state == "encrypted",
        "setting": settings.encryption,
        "key_file": str(key_file),
        "key_file_exists": key_file.exists(),
        "key_on_same_disk": key_file.exists() and _same_disk(key_file, path),
        "interrupted_conversion": conversion_path(path).exists(),
    }
    if args.json:
        emit_json(doc)
        return 0
    yes_no = {True: t("security.cli.yes"), False: t("security.cli.no")}
    print(t("security.cli.status_db", path=path))
    print(t("security.cli.status_state", state=t(f"security.state.{state}")))
    print(t("security.cli.status_setting", value=yes_no[settings.encryption]))
    print(
        t("security.cli.status_key", key_file=key_file, exists=yes_no[bool(doc["key_file_exists"])])
    )
    if doc["key_on_same_disk"] and state == "encrypted":
        print(t("security.cli.same_disk"))
    if doc["interrupted_conversion"]:
        print(t("security.cli.status_leftover", path=conversion_path(path)))
    return 0


def _authorise(settings, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    """Only an administrator changes encryption, after their PIN (the database is opened to
    know who acts)."""
    from kiosk.runtime import confirm_worker, needs_pin, open_runtime
    from kiosk.security.roles import require

    runtime = open_runtime(settings, create=False)
    try:
        require(runtime.worker, "settings.encryption")
        if needs_pin(runtime, writes=True):
            confirm_worker(runtime, from_stdin=bool(getattr(args, "pin_stdin", False)))
    finally:
        runtime.close()


def _report(args: argparse.Namespace, doc: dict, message: str) -> int:
    from kiosk.cli.output import emit_json, info

    if args.json:
        emit_json(doc)
    else:
        info(message)
    return 0


def run_on(args: argparse.Namespace) -> int:
    from db.connection import convert_database, file_state
    from kiosk.cli.output import info
    from kiosk.core.config import database_path, key_path
    from kiosk.core.errors import UserError
    from kiosk.runtime import ensure_key

    settings = _settings(args)
    path = database_path(settings)
    key_file = key_path(settings, path)
    if file_state(path) == "missing":
        raise UserError("error.db_missing", path=str(path))
    _authorise(settings, args)  # also brings the schema up to date (and applies the setting)
    doc: dict = {"db": str(path), "encrypted": True, "key_file": str(key_file)}
    if file_state(path) == "encrypted":
        return _report(
            args,
            {**doc, "changed": False},
            t("security.cli.already_on", path=path, key_file=key_file),
        )
    key = ensure_key(key_file, make_folder=not settings.key_file)
    info(t("security.cli.on_start", path=path))  # a large database takes a while
    started = time.perf_counter()
    counts = convert_database(path, key=None, new_key=key)
    doc.update(
        changed=True, rows=sum(counts.values()), seconds=round(time.perf_counter() - started, 2)
    )
    _report(
        args,
        doc,
        t(
            "security.cli.on_done",
            path=path,
            rows=doc["rows"],
            seconds=doc["seconds"],
            key_file=key_file,
        ),
    )
    if not args.json and _same_disk(key_file, path):
        info(t("security.cli.same_disk"))
    return 0


def run_off(args: argparse.Namespace) -> int:
    from db.connection import convert_database, file_state
    from kiosk.core.config import database_path, key_path
    from kiosk.core.errors import UserError
    from kiosk.runtime import read_key

    settings = _settings(args)
    path = database_path(settings)
    key_file = key_path(settings, path)
    if settings.encryption:
        # The setting would encrypt the file again at the next start.
        raise UserError("security.cli.off_setting_on", exit_code=2)
    state = file_state(path)
    if state == "missing":
        raise UserError("error.db_missing", path=str(path))
    _authorise(settings, args)
    doc: dict = {"db": str(path), "encrypted": False, "key_file": str(key_file)}
    if state != "encrypted":
        return _report(args, {**doc, "changed": False}, t("security.cli.already_off", path=path))
    key = read_key(key_file, path)
    started = time.perf_counter()
    counts = convert_database(path, key=key, new_key=None)
    doc.update(
        changed=True, rows=sum(counts.values()), seconds=round(time.perf_counter() - started, 2)
    )
    return _report(
        args,
        doc,
        t(
            "security.cli.off_done",
            path=path,
            rows=doc["rows"],
            seconds=doc["seconds"],
            key_file=key_file,
        ),
    )

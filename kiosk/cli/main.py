"""The ``kiosk`` command.

Each module in :mod:`kiosk.cli` registers one group of subcommands with
``register(subparsers, common)`` and sets ``handler`` on its parsers; a handler takes the
parsed arguments and returns the exit status. Machine-readable output (``--json``) is one JSON
document on stdout; messages go to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from kiosk.cli import words
from kiosk.core import collector
from kiosk.core.errors import UserError, describe
from kiosk.core.i18n import normalise_language, set_language, t

log = logging.getLogger("kiosk.cli.main")


def _early_language(argv: Sequence[str]) -> None:
    """Pick the language before building the parser, so --help is translated too."""
    lang = os.environ.get("KIOSK_LANG")
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            lang = argv[i + 1]
        elif arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
    try:
        set_language(normalise_language(lang))
    except ValueError:
        set_language(None)


def common_options(worker_flags: tuple[str, ...] = ("--worker", "--as")) -> argparse.ArgumentParser:
    """The options every subcommand takes. The acting worker is ``--worker`` or ``--as``
    (``kiosk audit`` keeps only ``--as``: its ``--worker`` filters the trail by worker)."""
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a value given before the subcommand is not overwritten by the subparser.
    common.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help=t("cli.opt.db"))
    common.add_argument(
        "--lang", choices=["zh", "en"], default=argparse.SUPPRESS, help=t("cli.opt.lang")
    )
    common.add_argument(
        *worker_flags,
        dest="worker",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help=t("cli.opt.worker"),
    )
    common.add_argument(
        "--pin-stdin", action="store_true", default=argparse.SUPPRESS, help=t("cli.opt.pin_stdin")
    )
    return common


#: Options of ``kiosk`` itself that take a value (the rest are flags).
_VALUE_OPTIONS = ("--db", "--lang", "--worker", "--as")


def opens_interface(argv: Sequence[str]) -> bool:
    """Does ``argv`` open the interface: options of ``kiosk`` only, no subcommand, no help?"""
    args = iter(argv)
    for arg in args:
        if arg in _VALUE_OPTIONS:
            next(args, None)
        elif not (arg == "--ensure-demo" or arg.split("=", 1)[0] in _VALUE_OPTIONS):
            return False
    return True


#: The command groups, each a module of this package with a ``register(sub, common)``: in
#: the order ``kiosk --help`` lists them (imported only when a command is run, so opening
#: the interface does not pay for them).
COMMANDS = (
    "areas",
    "audit",
    "cases",
    "demo",
    "departments",
    "encryption",
    "enrol",
    "feedback",
    "households",
    "hub",
    "labels",
    "ledger",
    "lookup",
    "members",
    "office",
    "resident",
    "scan",
    "stats",
    "survey",
    "sync",
    "visits",
    "workers",
)


def build_parser(subcommands: bool = True) -> argparse.ArgumentParser:
    """The ``kiosk`` parser; without ``subcommands``, only the interface's options (the
    command modules are not imported: opening the interface does not need them)."""
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="kiosk", parents=[common], description=t("cli.description")
    )
    parser.add_argument("--ensure-demo", action="store_true", help=t("cli.opt.ensure_demo"))
    if not subcommands:
        return parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"kiosk.cli.{name}").register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Residents' data: every file this process makes (databases, logs, exports, ledgers,
    # bundles, label sheets) is the owner's alone (0600, folders 0700).
    os.umask(0o077)
    collector.hold_start()  # the interface lets it go after its first frame (kiosk/core/collector.py)
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    finally:
        collector.release_start()


def _run(argv: list[str]) -> int:
    _early_language(argv)
    words.install()  # argparse's own texts in the interface's language too
    parser = build_parser(subcommands=not opens_interface(argv))
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        from kiosk.cli.run import run_app

        handler = run_app
    else:
        collector.release_start()  # a subcommand: its work runs with the collector as usual
    try:
        return int(handler(args) or 0)
    except UserError as exc:
        print(exc.message(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(t("error.interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place errors become messages
        print(describe(exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""argparse speaks the interface's language: its own texts (usage, the help option, its error
messages) go through the catalogue. argparse looks its ``_`` up when it builds each text, so
one function installed there translates them all (the ``%`` placeholders stay as they are)."""

from __future__ import annotations

import argparse

from kiosk.core.i18n import t

#: argparse's own texts and their catalogue keys (core.toml, [argparse])
MESSAGES = {
    "usage: ": "argparse.usage",
    "options": "argparse.options",
    "positional arguments": "argparse.positional",
    "show this help message and exit": "argparse.help",
    "%(prog)s: error: %(message)s\n": "argparse.error",
    "argument %(argument_name)s: %(message)s": "argparse.argument",
    "the following arguments are required: %s": "argparse.required",
    "invalid choice: %(value)r (choose from %(choices)s)": "argparse.invalid_choice",
    "unrecognized arguments: %s": "argparse.unrecognized",
    "expected one argument": "argparse.expected_one",
    "expected at least one argument": "argparse.expected_at_least_one",
    "expected at most one argument": "argparse.expected_at_most_one",
    "invalid %(type)s value: %(value)r": "argparse.invalid_value",
    "ambiguous option: %(option)s could match %(matches)s": "argparse.ambiguous",
    "not allowed with argument %s": "argparse.not_allowed_with",
    "one of the arguments %s is required": "argparse.one_of_required",
    "can't open '%(filename)s': %(error)s": "argparse.cannot_open",
    "ignored explicit argument %r": "argparse.ignored_explicit",
}


def translate(message: str) -> str:
    key = MESSAGES.get(message)
    return t(key) if key else message


def install() -> None:
    argparse._ = translate  # type: ignore[attr-defined]

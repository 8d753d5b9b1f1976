"""What every command shares: opening the runtime it works in, and printing (one JSON
document on stdout, messages on stderr, aligned CJK tables)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len


def open_runtime(args: object, *, create: bool = False, writes: bool = False, acts: bool = True):
    """The runtime a command works in (kiosk/runtime.py): its database, language and acting
    worker from the command's options. ``create``: make the database when there is none."""
    from kiosk.runtime import runtime_for  # the database layer loads only for a command

    return runtime_for(args, create=create, writes=writes, acts=acts)


def emit_json(doc: Any) -> None:
    json.dump(doc, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def info(message: str) -> None:
    print(message, file=sys.stderr)


def pad(text: str, width: int) -> str:
    """Pad to a display width: a CJK character takes two terminal cells."""
    return text + " " * max(0, width - cell_len(text))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [cell_len(h) for h in headers]
    for row in rows:
        widths = [max(w, cell_len(str(c))) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(pad(str(c), w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)

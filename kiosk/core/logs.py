"""The log file (in the data dir). It never holds personal data: code logs ids and event
names only, and a filter masks anything that looks like a phone or ID number as a safety net."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

_SENSITIVE = re.compile(r"(?<!\d)(\d{3})\d{4,11}(\d{4}|\d{3}[xX])(?!\d)")


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = _SENSITIVE.sub(lambda m: m.group(1) + "****" + m.group(2), msg)
        if clean != msg:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = _SENSITIVE.sub("****", record.exc_text)
        return True


def _tighten(path: Path, mode: int) -> None:
    """Residents' data lives here: nobody but the owner reads it (older versions made the
    folder 0755 and the files 0644)."""
    import os

    try:
        if path.exists() and path.stat().st_mode & 0o077:
            os.chmod(path, mode)
    except OSError:
        pass


def setup_logging(log_dir: Path, level: str = "INFO") -> Path:
    log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = log_dir / "kiosk.log"
    _tighten(log_dir, 0o700)
    _tighten(path, 0o600)
    root = logging.getLogger("kiosk")
    if any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        return path
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactFilter())
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    root.propagate = False
    return path

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


def setup_logging(log_dir: Path, level: str = "INFO") -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "kiosk.log"
    root = logging.getLogger("kiosk")
    if any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        return path
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactFilter())
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    root.propagate = False
    return path

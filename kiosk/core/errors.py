"""The one place that turns an exception into a message a person can read.

Code raises :class:`UserError` with a catalogue key when the person can act on the problem;
anything else is logged with its traceback and shown as a short, translated summary.
"""

from __future__ import annotations

import logging

from db.connection import DatabaseError, SQLiteErrors
from db.errors import UserError
from db.migrations import SchemaTooNew
from kiosk.core.config import ConfigError
from kiosk.core.i18n import t

log = logging.getLogger("kiosk.core.errors")

__all__ = ["UserError", "describe"]


def describe(exc: BaseException) -> str:
    """A one-line message in the interface's language; logs the traceback when unexpected."""
    if isinstance(exc, UserError):
        return exc.message()
    if isinstance(exc, DatabaseError):
        return t(exc.key, **exc.params)
    if isinstance(exc, SchemaTooNew):
        return t("error.schema_too_new")
    if isinstance(exc, ConfigError):
        return t("error.config", path=str(exc.path), detail=exc.detail)
    if isinstance(exc, SQLiteErrors.operational) and "locked" in str(exc):
        return t("error.db_locked")
    if isinstance(exc, PermissionError):
        return t("error.permission", path=getattr(exc, "filename", "") or "")
    if isinstance(exc, FileNotFoundError):
        return t("error.file_missing", path=getattr(exc, "filename", "") or "")
    if isinstance(exc, IsADirectoryError):
        return t("error.is_folder", path=getattr(exc, "filename", "") or "")
    log.exception("unexpected error", exc_info=exc)
    from kiosk.core.config import data_dir

    return t("error.unexpected", kind=type(exc).__name__, log=str(data_dir() / "kiosk.log"))

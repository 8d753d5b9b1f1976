"""The audit trail seen from the interface (db/audit.py is the trail itself).

Opening a household on screen is a lookup of personal data, so it is recorded; but the scan
at a door must not wait for it. :func:`record_lookup` hands the entry to a thread of its own
that writes it through the app's writer (``app.write``): if a sync is merging a page at that
moment, the entry waits for it, the household screen does not.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("kiosk.security.audit")


def record_lookup(app: Any, household_id: str, via: str = "screen") -> threading.Thread:
    """Record, in the background, that ``household_id`` was opened on screen (``via``: how).

    Returns the thread (tests join it). A failure is logged, never shown: the person at the
    door has done nothing wrong.
    """

    def write() -> None:
        try:
            app.write(
                lambda ctx: ctx.audit(
                    "lookup",
                    "household",
                    household_id,
                    household_id=household_id,
                    detail={"via": via},
                )
            )
        except Exception:  # noqa: BLE001 - logged with its traceback; nothing to show
            log.exception("audit: lookup of household %s not recorded", household_id)

    thread = threading.Thread(target=write, name="audit-lookup")
    thread.start()
    return thread

"""An office replica kept fresh: a database enrolled at the hub as an office device (a
community's or a street's), synced every minute and on demand, read by the supervisors'
browser sessions (docs/office.md).

Field laptops never write to it: they sync with the hub, and the replica takes what the hub
holds within its scope. It is a laptop database like any other (the same schema, sync and
write guard), so what a supervisor does in a browser session is pushed at the next round.

One round at a time: the rounds run on one thread, and a round asked for while one runs
(``now()``: the signal the command installs, or a test) starts right after it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.core.errors import UserError

log = logging.getLogger("kiosk.office")

#: seconds between rounds unless told otherwise (the issue's "every minute")
DEFAULT_EVERY = 60.0


@dataclass
class Round:
    """One round's outcome: a report's figures, or why it failed (a message to show)."""

    started: float
    took: float
    figures: dict | None = None
    error: str | None = None


class Freshener:
    """Runs ``sync_once`` every ``every`` seconds, and again as soon as :meth:`now` is
    called; ``on_round`` hears each outcome. A failed round (the hub unreachable, a refusal)
    is reported and retried at the next tick: the replica keeps serving what it holds."""

    def __init__(
        self,
        sync_once: Callable[[], dict],
        every: float = DEFAULT_EVERY,
        on_round: Callable[[Round], None] | None = None,
    ) -> None:
        self.sync_once = sync_once
        self.every = max(1.0, every)
        self.on_round = on_round or (lambda r: None)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def now(self) -> None:
        """Sync as soon as possible (after the round under way, if any)."""
        self._wake.set()

    def run_round(self) -> Round:
        started = time.monotonic()
        try:
            figures = self.sync_once()
            outcome = Round(time.time(), time.monotonic() - started, figures=figures)
        except UserError as exc:
            outcome = Round(time.time(), time.monotonic() - started, error=exc.message())
        except Exception as exc:  # noqa: BLE001 - the loop outlives any one round
            log.exception("office replica: a sync round failed")
            outcome = Round(time.time(), time.monotonic() - started, error=type(exc).__name__)
        self.rounds += 1
        self.on_round(outcome)
        return outcome

    def loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.run_round()
            self._wake.wait(self.every)

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.loop, name="office-replica", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

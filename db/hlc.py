"""Hybrid logical clock stamps.

A stamp is text that sorts in causal order: 15 digits of wall-clock milliseconds, a dot and
5 digits of logical counter (``"001732190000000.00000"``). Ties between devices are broken by
the device id, which is stored beside the stamp, never inside it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

#: The wire format's largest counter: one more carries into the milliseconds, so a stamp
#: always has 5 counter digits (a 6-digit counter once made every later stamp invalid).
MAX_COUNTER = 99_999
#: How far ahead of this machine's wall clock a stamp may be before it is not believed.
DEFAULT_MAX_DRIFT_MS = 24 * 3600 * 1000


def format_stamp(wall_ms: int, counter: int) -> str:
    return f"{wall_ms:015d}.{counter:05d}"


def parse_stamp(stamp: str) -> tuple[int, int]:
    wall, _, counter = stamp.partition(".")
    return int(wall), int(counter or 0)


def too_far_ahead(stamp: str, now_ms: int, drift_ms: int = DEFAULT_MAX_DRIFT_MS) -> bool:
    """Is ``stamp`` further than ``drift_ms`` ahead of the wall clock ``now_ms``? Such a stamp
    comes from a clock set wrong (or a hostile device): taken in, it would drag every clock
    that syncs after it into the future."""
    return parse_stamp(stamp)[0] > now_ms + drift_ms


def next_after(wall: int, counter: int) -> tuple[int, int]:
    """The stamp after (wall, counter): the counter carries into the wall at its limit."""
    return (wall + 1, 0) if counter >= MAX_COUNTER else (wall, counter + 1)


class HybridClock:
    """Issue stamps that never go backwards, even if the wall clock does."""

    def __init__(
        self,
        last: str | None = None,
        now_ms: Callable[[], int] | None = None,
        *,
        max_drift_ms: int | None = None,
    ) -> None:
        self._now_ms = now_ms or (lambda: int(time.time() * 1000))
        self._wall, self._counter = parse_stamp(last) if last else (0, 0)
        self._lock = threading.Lock()
        #: remote stamps further ahead of the wall clock than this are not observed (None:
        #: every stamp is)
        self.max_drift_ms = max_drift_ms

    def now(self) -> str:
        """A fresh stamp for a local event."""
        with self._lock:
            physical = self._now_ms()
            if physical > self._wall:
                self._wall, self._counter = physical, 0
            else:
                self._wall, self._counter = next_after(self._wall, self._counter)
            return format_stamp(self._wall, self._counter)

    def observe(self, remote: str) -> str:
        """Merge a stamp received from elsewhere (sync), returning the new local stamp."""
        with self._lock:
            r_wall, r_counter = parse_stamp(remote)
            physical = self._now_ms()
            if self.max_drift_ms is not None and r_wall > physical + self.max_drift_ms:
                r_wall, r_counter = 0, 0  # a clock set wrong far ahead: not believed
            wall = max(self._wall, r_wall, physical)
            if wall == self._wall == r_wall:
                wall, counter = next_after(wall, max(self._counter, r_counter))
            elif wall == self._wall:
                wall, counter = next_after(wall, self._counter)
            elif wall == r_wall:
                wall, counter = next_after(wall, r_counter)
            else:
                counter = 0
            self._wall, self._counter = wall, counter
            return format_stamp(wall, counter)

    @property
    def last(self) -> str:
        return format_stamp(self._wall, self._counter)


def now_iso() -> str:
    """This machine's wall clock as local ISO text, to the second (what people read). Made
    once a second: a bulk write stamps thousands of rows with it."""
    global _iso_second
    second = int(time.time())
    if _iso_second[0] != second:
        text = datetime.fromtimestamp(second, UTC).astimezone().isoformat(timespec="seconds")
        _iso_second = (second, text)
    return _iso_second[1]


#: (the second, :func:`now_iso`'s text for it)
_iso_second: tuple[int, str] = (-1, "")

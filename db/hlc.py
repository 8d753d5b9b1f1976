"""Hybrid logical clock stamps.

A stamp is text that sorts in causal order: 15 digits of wall-clock milliseconds, a dot and
5 digits of logical counter (``"001732190000000.00000"``). Ties between devices are broken by
the device id, which is stored beside the stamp, never inside it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def format_stamp(wall_ms: int, counter: int) -> str:
    return f"{wall_ms:015d}.{counter:05d}"


def parse_stamp(stamp: str) -> tuple[int, int]:
    wall, _, counter = stamp.partition(".")
    return int(wall), int(counter or 0)


class HybridClock:
    """Issue stamps that never go backwards, even if the wall clock does."""

    def __init__(self, last: str | None = None, now_ms: Callable[[], int] | None = None) -> None:
        self._now_ms = now_ms or (lambda: int(time.time() * 1000))
        self._wall, self._counter = parse_stamp(last) if last else (0, 0)
        self._lock = threading.Lock()

    def now(self) -> str:
        """A fresh stamp for a local event."""
        with self._lock:
            physical = self._now_ms()
            if physical > self._wall:
                self._wall, self._counter = physical, 0
            else:
                self._counter += 1
            return format_stamp(self._wall, self._counter)

    def observe(self, remote: str) -> str:
        """Merge a stamp received from elsewhere (sync), returning the new local stamp."""
        with self._lock:
            r_wall, r_counter = parse_stamp(remote)
            physical = self._now_ms()
            wall = max(self._wall, r_wall, physical)
            if wall == self._wall == r_wall:
                counter = max(self._counter, r_counter) + 1
            elif wall == self._wall:
                counter = self._counter + 1
            elif wall == r_wall:
                counter = r_counter + 1
            else:
                counter = 0
            self._wall, self._counter = wall, counter
            return format_stamp(wall, counter)

    @property
    def last(self) -> str:
        return format_stamp(self._wall, self._counter)

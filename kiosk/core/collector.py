"""Holding Python's cyclic garbage collector over a stretch that must not stall.

A full collection took 40-170 ms on the development machine: a scan's whole budget or more.
Held for the few milliseconds to a frame, it runs just after it instead (Textual does the same
while scrolling, ``App.PAUSE_GC_ON_SCROLL``). These stretches are held:

* ``kiosk`` starting: importing Textual and the app and building the first screen create tens
  of thousands of objects, and the collector ran about a hundred times on the way (20-30 ms of
  a ~300 ms cold start). :func:`hold_start` at the start of :func:`kiosk.cli.main.main`; a
  subcommand lets it go before its work, the interface after its first frame, when it also
  freezes what start-up built (modules, classes, styles: they live as long as the process).
* opening a household (a scan, Enter on a list): from the key to the screen's first frame
  (screens/households/household.py); a resident's slip at the counter likewise
  (kiosk/app/resident.py).
* signing in or unlocking: from the PIN's Enter to the frame with the home screen's walk list
  (screens/base.py, ``KioskApp.collector_may_run``). With a busy heap a full collection there
  took up to 320 ms, most of the sign-in's budget.
* opening a questionnaire: from the screen's mount to its first page painted
  (screens/visits/survey_fill.py).

Holds are tokens: the collector runs again when the last one is let go.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_holds: set[object] = set()
_start: object | None = None


def hold(seconds: float | None = None) -> object | None:
    """Hold the collector until :func:`release` of the returned token, or ``seconds`` at
    most (a timer thread of its own, so a lookup that fails or an app that ends first never
    leaves it off). Returns None, holding nothing, when it is already off for someone else."""
    with _lock:
        if not _holds and not gc.isenabled():
            return None
        token = object()
        _holds.add(token)
        gc.disable()
    if seconds is not None:
        limit = threading.Timer(seconds, release, (token,))
        limit.daemon = True
        limit.start()
    return token


def release(token: object | None, freeze: bool = False) -> None:
    """End a :func:`hold` (again, or with None: nothing happens). With ``freeze``, what
    exists now is kept out of later collections if this was the last hold."""
    with _lock:
        if token in _holds:
            _holds.discard(token)
            if not _holds:
                if freeze:
                    gc.freeze()
                gc.enable()


def hold_start() -> None:
    """Hold the collector while ``kiosk`` starts (until :func:`release_start`)."""
    global _start
    if _start is None:
        _start = hold()


def release_start(freeze: bool = False) -> None:
    """The start is over (the interface's first frame, or a subcommand's work beginning)."""
    global _start
    token, _start = _start, None
    release(token, freeze=freeze)


def release_all() -> None:
    """Let every hold go (tests: an app that ended before its frame leaves no hold behind)."""
    global _start
    _start = None
    for token in list(_holds):
        release(token)

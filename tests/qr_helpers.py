"""Helpers for the QR tests (not a test module)."""

from __future__ import annotations

from textual.worker import WorkerCancelled


async def settle(app, pilot, rounds: int = 3) -> None:
    """Wait until the app's workers are done and the screen has caught up.

    An exclusive worker restarted by a screen (load on mount, again on resume) cancels its
    first run, which ``wait_for_complete`` reports as an error: that is not a failure here.
    """
    for _ in range(rounds):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            continue
        await pilot.pause()


async def wedge(app, pilot, text: str, enter: bool = True) -> None:
    """Type ``text`` (and Enter) the way a wedge scanner reaches a terminal app: every key is
    queued at once, before any widget has handled the first (Pilot's ``press`` waits for the
    app between keys, which a scanner never does)."""
    from textual import events
    from textual.keys import _character_to_key

    keys = [events.Key(ch if ch.isalnum() else _character_to_key(ch), ch) for ch in text]
    if enter:
        keys.append(events.Key("enter", "\r"))
    for key in keys:
        app.post_message(key)
    await pilot.pause()

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

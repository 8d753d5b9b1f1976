"""Waiting on a Textual app in Pilot tests: on its workers and frames, never on the clock."""

from __future__ import annotations

from textual.worker import WorkerCancelled


async def settle(app, pilot, rounds: int = 3) -> None:
    """Let the app's workers finish and their results reach the screen.

    An exclusive worker restarted by a screen (load on mount, again on resume) cancels its
    first run, which ``wait_for_complete`` reports as an error: that is not a failure here.
    """
    for _ in range(rounds):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            continue
        await pilot.pause()


async def until(pilot, condition, rounds: int = 250) -> None:
    """Pause until ``condition()`` holds (bounded: fails rather than hangs)."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.02)
    assert condition(), "condition not reached"


def signed_in_app(runtime, worker=None, **kwargs):
    """The App on ``runtime``'s database with ``worker`` (default: the runtime's) signed in,
    as after their PIN. Run it in the test body: ``async with app.run_test(...)``."""
    from kiosk.app.shell import KioskApp

    return KioskApp(runtime, signed_in=runtime.worker if worker is None else worker, **kwargs)


async def choose_survey(app, pilot, name: str) -> None:
    """On the questionnaire screen, open the form named ``name`` (its form_id)."""
    screen = app.screen
    await until(pilot, lambda: bool(screen.surveys))
    chosen = next(s for s in screen.surveys if s.name == name)
    if screen.survey is not chosen:
        screen.query_one("#survey-pick").value = chosen.id
        await until(pilot, lambda: screen.survey is chosen)
    await settle(app, pilot)

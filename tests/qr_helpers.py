"""Helpers for the QR tests (not a test module)."""

from __future__ import annotations


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

"""Every touch of Textual's private API, in one file.

Textual offers no public way to do these few things; each is named here, and
tests/test_textual_private.py fails as soon as a Textual release changes any of them (the
pin in pyproject.toml keeps the major version; this catches a minor one).

* the screen stacks of every mode (is a screen still open somewhere?);
* the screen a message is being handled for (which screen called ``dismiss``);
* taking one screen out from under the lock screen, as ``App.pop_screen`` does for the top;
* the generation of the app's CSS, which Textual counts up when a theme change invalidates
  it (whether a screen kept off the stack still has current styles).
"""

from __future__ import annotations

from typing import Any

from textual._context import active_message_pump
from textual.app import App
from textual.await_complete import AwaitComplete
from textual.screen import Screen


def screen_stack(app: App[Any]) -> list[Screen[Any]]:
    """The current mode's stack, bottom first (``App.screen_stack`` returns a copy)."""
    return app._screen_stack


def in_any_stack(app: App[Any], screen: Screen[Any]) -> bool:
    """Is ``screen`` in the stack of any mode? (Textual's own test before it removes a
    popped screen, in ``App._replace_screen``.)"""
    return any(screen in stack for stack in app._screen_stacks.values())


def mode_has_stack(app: App[Any], mode: str) -> bool:
    return mode in app._screen_stacks


def modes_with_stacks(app: App[Any]) -> list[str]:
    return list(app._screen_stacks)


def active_pump() -> object | None:
    """The widget or screen whose message is being handled now, if any."""
    return active_message_pump.get(None)


def take_out(app: App[Any], screen: Screen[Any]) -> AwaitComplete:
    """Close ``screen``, which is not on top (the caller has removed it from its stack):
    its dismiss callback runs and it is removed, as a pop would do."""
    screen._pop_result_callback()
    return AwaitComplete(app._replace_screen(screen)).call_next(app)


def css_generation(app: App[Any]) -> int:
    """Counted up each time the app's CSS is invalidated (a theme change): Textual's own test
    of whether a screen off the stack needs restyling when it comes back (``switch_mode``)."""
    return app._css_update_count

"""Every touch of Textual's private API, in one file.

Textual offers no public way to do these few things; each is named here, and
tests/test_house.py fails as soon as a Textual release changes any of them (the
pin in pyproject.toml keeps the major version; this catches a minor one).

* the screen stacks of every mode (is a screen still open somewhere?);
* the screen a message is being handled for (which screen called ``dismiss``);
* taking one screen out from under the lock screen, as ``App.pop_screen`` does for the top;
* the generation of the app's CSS, which Textual counts up when a theme change invalidates
  it (whether a screen kept off the stack still has current styles);
* the command palette's "No matches found", which Textual writes in English inside a timer
  of its own (:class:`CommandPalette` says it in the interface's language).
"""

from __future__ import annotations

from typing import Any

from rich.align import Align
from rich.text import Text
from textual import command
from textual._context import active_message_pump
from textual.app import App
from textual.await_complete import AwaitComplete
from textual.screen import Screen
from textual.widgets.option_list import Option

from kiosk.core.i18n import t


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


class CommandPalette(command.CommandPalette):
    """Textual's palette, its "no matches" line in the interface's language: Textual's
    ``_start_no_matches_countdown`` as of 6.x, the text through the translation layer."""

    def _start_no_matches_countdown(self, search_value: str) -> None:
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(command.CommandList).add_option(
                    Option(
                        Align.center(Text(t("ui.palette_no_matches"), style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:  # discovery mode: nothing was searched for, so nothing was missed
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)

"""The counter's welcome: 请扫描您的事项回执, in large type, and what else a resident may do."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from kiosk.core.i18n import t


class WelcomeScreen(Screen[None]):
    """What the counter shows between residents (and comes back to when idle)."""

    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [Binding("f2", "suggest", show=False, id="resident.suggest")]
    DEFAULT_CSS = """
    WelcomeScreen { align: center middle; }
    #welcome-box { width: 90%; height: auto; align: center middle; }
    #welcome-box Static { width: 100%; content-align: center middle; text-align: center; }
    #welcome-office { color: $text-muted; margin: 0 0 2 0; }
    #welcome-scan {
        text-style: bold; color: $accent; border: double $accent; padding: 2 4; height: auto;
    }
    #welcome-hint { margin: 2 0 0 0; text-style: bold; }
    #resident-message { margin: 2 0 0 0; height: auto; min-height: 1; text-style: bold; }
    #resident-message.-error { color: $error; border: heavy $error; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        community = getattr(self.app, "community", None) or ""
        with Vertical(id="welcome-box"):
            yield Static(t("resident.office", community=community), id="welcome-office")
            yield Static(t("resident.scan_prompt"), id="welcome-scan")
            yield Static(t("resident.welcome_hint"), id="welcome-hint")
            yield Static("", id="resident-message")

    def show_message(self, text: str, *, error: bool = False) -> None:
        """A refusal or a thank-you, in large type under the prompt ("" clears it)."""
        message = self.query_one("#resident-message", Static)
        message.update(text)
        message.set_class(error and bool(text), "-error")

    def action_suggest(self) -> None:
        from screens.resident.suggest import SuggestionScreen

        self.app.push_screen(SuggestionScreen())

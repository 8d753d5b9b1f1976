"""An anonymous suggestion left at the counter (community feedback, by category)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Select, Static

from kiosk.core.errors import UserError
from kiosk.core.i18n import t


class SuggestionScreen(Screen[None]):
    """Category, then the suggestion; Enter sends it. No name is asked or kept."""

    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [Binding("escape", "back", show=False, id="resident.back")]
    DEFAULT_CSS = """
    SuggestionScreen { align: center top; padding: 2 4; }
    #suggest-box { width: 100%; height: auto; }
    #suggest-title { text-style: bold; color: $accent; margin: 0 0 1 0; }
    #suggest-box Select, #suggest-box Input { margin: 1 0 0 0; }
    #resident-message { margin: 1 0 0 0; height: auto; min-height: 1; text-style: bold; }
    #resident-message.-error { color: $error; }
    #suggest-hint { margin: 1 0 0 0; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        categories: Any = getattr(self.app, "categories", None)
        options = [(c.name, c.code) for c in categories.all] if categories else []
        with Vertical(id="suggest-box"):
            yield Static(t("resident.suggest.title"), id="suggest-title")
            yield Select(options, prompt=t("resident.suggest.category"), id="suggest-category")
            yield Input(
                placeholder=t("resident.suggest.text"),
                id="suggest-text",
                max_length=2000,
                compact=True,
            )
            yield Static("", id="resident-message")
            yield Static(t("resident.suggest.hint"), id="suggest-hint")

    def on_mount(self) -> None:
        self.query_one("#suggest-category", Select).focus()

    def show_message(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#resident-message", Static)
        message.update(text)
        message.set_class(error and bool(text), "-error")

    def action_back(self) -> None:
        self.app.pop_screen()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.BLANK:
            self.query_one("#suggest-text", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        category = self.query_one("#suggest-category", Select).value
        if category is Select.BLANK:
            self.show_message(t("resident.suggest.pick_first"), error=True)
            return
        self._send(str(category), event.value)

    @work(thread=True, exclusive=True, group="resident-suggest", exit_on_error=False)
    def _send(self, category: str, text: str) -> None:
        from kiosk.qr.resident import counter_grid, suggest

        app: Any = self.app
        grid = counter_grid(app.read(), app.community or "")
        try:
            if grid is None:
                raise UserError("resident.suggest.no_grid")
            app.write(
                lambda ctx: suggest(ctx, category, text, categories=app.categories, grid_id=grid)
            )
        except UserError as exc:
            self.app.call_from_thread(self.show_message, exc.message(), error=True)
            return
        self.app.call_from_thread(self._sent)

    def _sent(self) -> None:
        app: Any = self.app
        app.reset()
        app.notify(t("resident.suggest.thanks"))

"""A scanned case slip at the counter: where the case stands, and the resident's rating once
it is resolved. Nothing of a household or a person (kiosk/qr/resident.py reads what it shows).
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from kiosk.core.errors import UserError
from kiosk.core.i18n import t


class SlipScreen(Screen[None]):
    """The case behind a slip. When it awaits the resident's rating: 1 满意, 2 基本满意,
    3 不满意 (or the buttons), an optional comment, Enter to send. Escape: the welcome."""

    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [
        Binding("escape", "back", show=False, id="resident.back"),
        Binding("1", "pick('satisfied')", show=False, id="resident.rate_satisfied"),
        Binding("2", "pick('basic')", show=False, id="resident.rate_basic"),
        Binding("3", "pick('dissatisfied')", show=False, id="resident.rate_dissatisfied"),
    ]
    DEFAULT_CSS = """
    SlipScreen { align: center top; padding: 1 2; }
    #slip-box { width: 100%; height: auto; }
    #slip-number { text-style: bold; color: $accent; border: double $accent; padding: 0 2;
        width: 100%; content-align: center middle; }
    .slip-line { margin: 1 0 0 2; text-style: bold; }
    #slip-steps { margin: 1 0 0 4; height: auto; }
    #slip-rate { height: auto; margin: 1 0 0 2; }
    #slip-rate-title { text-style: bold; color: $warning; }
    #slip-ratings { height: auto; }
    #slip-ratings Button { margin: 0 2 0 0; }
    #slip-comment { margin: 1 0 0 0; }
    #resident-message { margin: 1 0 0 2; height: auto; min-height: 1; text-style: bold; }
    #resident-message.-error { color: $error; }
    #slip-hint { margin: 1 0 0 2; color: $text-muted; }
    """

    def __init__(self, view: Any) -> None:
        super().__init__()
        self.view = view
        self.rating: str | None = None

    def compose(self) -> ComposeResult:
        v = self.view
        with Vertical(id="slip-box"):
            yield Static(t("resident.case_number", number=v.number), id="slip-number")
            yield Static(t("resident.category", category=v.category), classes="slip-line")
            yield Static(
                t("resident.status", status=t(f"cases.status.{v.status}")),
                classes="slip-line",
                id="slip-status",
            )
            yield Static(
                t("resident.department", department=v.department or t("resident.none_yet")),
                classes="slip-line",
            )
            yield Static(t("resident.due", due=v.due or t("resident.none_yet")), classes="slip-line")
            yield Static(t("resident.steps"), classes="slip-line")
            yield Static(self._steps(), id="slip-steps")
            if v.can_rate:
                with Vertical(id="slip-rate"):
                    yield Static(t("resident.rate.ask"), id="slip-rate-title")
                    with Horizontal(id="slip-ratings"):
                        for n, rating in enumerate(("satisfied", "basic", "dissatisfied"), 1):
                            yield Button(
                                f"{n} {t(f'cases.rating.{rating}')}",
                                id=f"rate-{rating}",
                                compact=True,
                            )
                    yield Input(
                        placeholder=t("resident.rate.comment"),
                        id="slip-comment",
                        max_length=500,
                        compact=True,
                    )
            elif v.rating:
                yield Static(
                    t("resident.rate.done_before", rating=t(f"cases.rating.{v.rating}")),
                    classes="slip-line",
                )
            yield Static("", id="resident-message")
            yield Static(t("resident.slip_hint"), id="slip-hint")

    def _steps(self) -> str:
        lines = []
        for step in self.view.steps:
            line = f"{step.at}  {t(f'cases.event.{step.kind}')}"
            lines.append(f"{line}  {step.detail}" if step.detail else line)
        return "\n".join(lines)

    def on_mount(self) -> None:
        if self.view.can_rate:
            self.query_one("#rate-satisfied", Button).focus()

    def show_message(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#resident-message", Static)
        message.update(text)
        message.set_class(error and bool(text), "-error")

    def action_back(self) -> None:
        reset = getattr(self.app, "reset", None)
        if reset is not None:
            reset()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick":
            return self.view.can_rate and self.rating is None
        return True

    def action_pick(self, rating: str) -> None:
        """A rating chosen: the comment field next (Enter sends, with or without one)."""
        self.rating = rating
        for button in self.query("#slip-ratings Button").results(Button):
            button.variant = "primary" if button.id == f"rate-{rating}" else "default"
        self.show_message(t("resident.rate.picked", rating=t(f"cases.rating.{rating}")))
        self.query_one("#slip-comment", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("rate-"):
            self.action_pick(event.button.id.removeprefix("rate-"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.rating is None:
            self.show_message(t("resident.rate.pick_first"), error=True)
            return
        event.input.disabled = True
        self._send(self.view.case_id, self.rating, event.value)

    @work(thread=True, exclusive=True, group="resident-rate", exit_on_error=False)
    def _send(self, case_id: str, rating: str, comment: str) -> None:
        from kiosk.qr.resident import rate

        app: Any = self.app
        try:
            app.write(lambda ctx: rate(ctx, case_id, rating, comment))
        except UserError as exc:
            self.app.call_from_thread(self._failed, exc.message())
            return
        self.app.call_from_thread(self._rated, rating)

    def _failed(self, message: str) -> None:
        self.query_one("#slip-comment", Input).disabled = False
        self.show_message(message, error=True)

    def _rated(self, rating: str) -> None:
        key = "resident.rate.thanks_reopened" if rating == "dissatisfied" else "resident.rate.thanks"
        self.query_one("#slip-rate").remove()
        status = "in_progress" if rating == "dissatisfied" else self.view.status
        self.query_one("#slip-status", Static).update(
            t("resident.status", status=t(f"cases.status.{status}"))
        )
        self.show_message(t(key))

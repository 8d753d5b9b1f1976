"""A scanned case slip at the counter: where the case stands, and the resident's rating once
it is resolved. Nothing of a household or a person (kiosk/qr/resident.py reads what it shows).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from kiosk.core.errors import UserError
from kiosk.core.i18n import t


class SlipScreen(Screen[None]):
    """The case behind a slip. When it awaits the resident's rating: 1 满意, 2 基本满意,
    3 不满意, an optional comment, Enter to send. Escape: the welcome."""

    PERMISSION: ClassVar[str | None] = None
    #: nothing focused when a case comes up: 1, 2 and 3 are the screen's keys, not the field's
    AUTO_FOCUS = ""
    BINDINGS = [
        Binding("escape", "back", show=False, id="resident.back"),
        Binding("1", "pick('satisfied')", show=False, id="resident.rate_satisfied"),
        Binding("2", "pick('basic')", show=False, id="resident.rate_basic"),
        Binding("3", "pick('dissatisfied')", show=False, id="resident.rate_dissatisfied"),
        # Enter typed right after 3 reaches the screen before the comment field has the
        # focus (Textual moves it a message later): it sends all the same.
        Binding("enter", "send", show=False, id="resident.send"),
    ]
    DEFAULT_CSS = """
    SlipScreen { align: center top; padding: 1 2; }
    #slip-box { width: 100%; height: auto; }
    #slip-number { text-style: bold; color: $accent; border: double $accent; padding: 0 2;
        width: 100%; content-align: center middle; }
    #slip-facts { margin: 1 0 0 2; text-style: bold; height: auto; }
    #slip-steps { margin: 1 0 0 2; height: auto; }
    #slip-rate { height: auto; margin: 1 0 0 2; }
    #slip-rate-title { text-style: bold; color: $warning; }
    #slip-comment { margin: 1 0 0 0; }
    #resident-message { margin: 1 0 0 2; height: auto; min-height: 1; text-style: bold; }
    #resident-message.-error { color: $error; }
    #slip-hint { margin: 1 0 0 2; color: $text-muted; }
    """

    def __init__(self, view: Any = None) -> None:
        super().__init__()
        self.view: Any = view
        self.rating: str | None = None

    def compose(self) -> ComposeResult:
        # One screen for every scan (ResidentApp keeps it): its widgets are filled before it
        # is pushed (:meth:`show`) and blanked when it goes (:meth:`forget`), so a scan does
        # not wait for a screen to be built, and nothing of a case stays behind. Few widgets:
        # a frame is what a scan waits for.
        view = self.view  # the first scan's case: made with it in place
        with Vertical(id="slip-box"):
            yield Static(self._number() if view else "", id="slip-number")
            yield Static(self._facts() if view else "", id="slip-facts")
            yield Static(self._steps() if view else "", id="slip-steps")
            rate = Vertical(id="slip-rate")
            rate.display = bool(view and view.can_rate)
            with rate:
                yield Static(t("resident.rate.ask"), id="slip-rate-title")
                yield Input(
                    placeholder=t("resident.rate.comment"),
                    id="slip-comment",
                    max_length=500,
                    compact=True,
                )
            yield Static("", id="resident-message")
            idle = getattr(self.app, "idle_seconds", 60)
            yield Static(t("resident.slip_hint", seconds=f"{idle:g}"), id="slip-hint")

    def show(self, view: Any) -> None:
        """Fill the screen with ``view`` (kiosk.qr.resident.SlipView) before it is pushed."""
        self.view, self.rating = view, None
        self._set("#slip-number", self._number())
        self._set("#slip-facts", self._facts())
        self._set("#slip-steps", self._steps())
        self._set("#resident-message", "")
        self.query_one("#slip-rate").display = view.can_rate
        comment = self.query_one("#slip-comment", Input)
        comment.value, comment.disabled = "", False
        if view.can_rate:
            self.set_focus(None)  # the keys 1, 2, 3 reach the screen

    def forget(self) -> None:
        """Blank every widget that showed the case (the idle reset, Escape, the next scan)."""
        self.view, self.rating = None, None
        for wid in ("number", "facts", "steps"):
            self._set(f"#slip-{wid}", "")
        self._set("#resident-message", "")
        self.query_one("#slip-comment", Input).value = ""
        self.query_one("#slip-rate").display = False

    def _number(self) -> str:
        return t("resident.case_number", number=self.view.number)

    def _facts(self) -> str:
        view, none = self.view, t("resident.none_yet")
        facts = [
            t("resident.category", category=view.category),
            t("resident.status", status=t(f"cases.status.{view.status}")),
            t("resident.department", department=view.department or none),
            t("resident.due", due=view.due or none),
        ]
        if view.rating and not view.can_rate:
            facts.append(t("resident.rate.done_before", rating=t(f"cases.rating.{view.rating}")))
        return "\n".join(facts)

    def _set(self, selector: str, text: str) -> None:
        self.query_one(selector, Static).update(text)

    def _steps(self) -> str:
        lines = [t("resident.steps")]
        for step in self.view.steps:
            line = f"{step.at}  {t(f'cases.event.{step.kind}')}"
            lines.append(f"{line}  {step.detail}" if step.detail else line)
        return "\n".join(lines)

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
            return self.view is not None and self.view.can_rate and self.rating is None
        if action == "send":
            comment = self.query_one("#slip-comment", Input)
            return self.rating is not None and not comment.disabled
        return True

    def action_pick(self, rating: str) -> None:
        """A rating chosen: the comment field next (Enter sends, with or without one)."""
        self.rating = rating
        self.show_message(t("resident.rate.picked", rating=t(f"cases.rating.{rating}")))
        self.query_one("#slip-comment", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit(event.input)

    def action_send(self) -> None:
        self._submit(self.query_one("#slip-comment", Input))

    def _submit(self, comment: Input) -> None:
        if self.rating is None or self.view is None:
            self.show_message(t("resident.rate.pick_first"), error=True)
            return
        if comment.disabled:  # already on its way
            return
        comment.disabled = True
        self._send(self.view.case_id, self.rating, comment.value)

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
        key = (
            "resident.rate.thanks_reopened" if rating == "dissatisfied" else "resident.rate.thanks"
        )
        self.query_one("#slip-rate").display = False
        if self.view is None:  # the screen was reset while the rating was being written
            return
        status = "in_progress" if rating == "dissatisfied" else self.view.status
        self.view = replace(self.view, status=status, can_rate=False, rating=rating)
        self._set("#slip-facts", self._facts())
        self.show_message(t(key))

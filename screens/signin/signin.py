"""The first screen: who is working. A name (the last worker of this laptop already filled
in; typed names matched by their beginning, pinyin or initials) and a PIN.

Nothing else of the app can be reached from here (``KioskApp`` refuses every other screen,
mode and key until someone has signed in), and nothing on it is personal data: worker names
are not residents' data, and no PIN is ever shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.validation import Length
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from db.workers import Worker, list_workers
from kiosk.core.i18n import t, term
from kiosk.security.roles import role_label
from kiosk.security.session import NameKey, match_names, name_keys
from screens.base import PIN_MAX, GateScreen
from screens.widgets.footer import KioskFooter


class NameInput(Input):
    """The name field. A digit typed once the name is complete, where no worker's name goes
    on with it, is the PIN typed before the cursor reached its field (keys come faster than
    a frame from a quick typist or a remote terminal): it is handed on (:class:`Digit`)."""

    class Digit(Message):
        def __init__(self, digit: str) -> None:
            super().__init__()
            self.digit = digit

    def __init__(self, *args: object, pin_digit: Callable[[str, str], bool], **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._pin_digit = pin_digit

    async def _on_key(self, event: events.Key) -> None:
        # Textual calls Input's own _on_key after this one, unless the default is prevented
        digit = event.character
        if digit is not None and len(digit) == 1 and "0" <= digit <= "9":
            if self._pin_digit(self.value, digit):
                event.stop()
                event.prevent_default()
                self.post_message(self.Digit(digit))


class SignInScreen(GateScreen):
    #: what the acting worker needs to open it (None: the mode's or the caller's check)
    PERMISSION: ClassVar[str | None] = None
    AUTO_FOCUS = None  # the name field, or the PIN when a name is offered (on_mount)

    BINDINGS = [
        Binding(
            "down",
            "suggestion(1)",
            term("signin.pick"),
            id="signin.next_name",
            show=False,
            tooltip=term("signin.pick"),
        ),
        # Tab in the name field takes the highlighted name, as Enter does ("ysw" Tab → 演示网格员),
        # then moves on to the PIN; anywhere else it moves focus as usual.
        Binding("tab", "take_name", term("signin.pick"), id="signin.take_name", show=False),
        Binding(
            "up",
            "suggestion(-1)",
            term("signin.pick"),
            id="signin.previous_name",
            show=False,
            tooltip=term("signin.pick"),
        ),
    ]

    DEFAULT_CSS = """
    SignInScreen { align: center middle; }
    #signin-box {
        width: 52; max-width: 100%; height: auto;
        border: round $accent; padding: 0 2; background: $surface;
    }
    #signin-box Label { margin: 1 0 0 0; }
    #signin-title { text-style: bold; color: $accent; width: 100%; content-align: center middle; }
    #signin-names { height: auto; max-height: 7; display: none; border: none; }
    #signin-names.-shown { display: block; }
    #gate-status { height: auto; min-height: 1; margin: 1 0 0 0; color: $text-muted; }
    #gate-status.-error { color: $error; }
    #signin-submit { margin: 1 0 1 0; }
    """

    class NamesLoaded(Message):
        """The workers' names and their pinyin keys arrived (handled by SignInScreen)."""

        def __init__(self, index: list[NameKey]) -> None:
            super().__init__()
            self.index = index

    def __init__(self) -> None:
        super().__init__()
        self._names: list[NameKey] | None = None
        self._loading_names = False
        #: the PIN as the name field handed it on (:meth:`pin_digit_typed`)
        self._handed_on = ""

    def compose(self) -> ComposeResult:
        offered = self.kiosk.offered
        with Vertical(id="signin-box"):
            yield Static(f"{t('app.title')} · {t('signin.title')}", id="signin-title")
            yield Label(t("signin.name"))
            yield NameInput(
                offered.name if offered else "",
                placeholder=t("signin.name_placeholder"),
                pin_digit=self._pin_digit,
                id="signin-name",
                max_length=32,
                validators=[Length(minimum=1)],
                compact=True,
            )
            names = OptionList(id="signin-names", compact=True)
            names.can_focus = False  # ↑ ↓ move it from the name field; a click picks
            yield names
            yield Label(t("signin.pin"))
            yield Input(
                placeholder=t("signin.pin_placeholder"),
                password=True,
                restrict=r"[0-9]*",
                max_length=PIN_MAX,
                id="gate-pin",
                validators=[Length(minimum=1)],
                compact=True,
            )
            yield Static("", id="gate-status")
            yield Button(
                t("signin.submit"),
                id="signin-submit",
                variant="primary",
                compact=True,
                tooltip=t("signin.submit_hint"),
            )
        yield KioskFooter()

    def on_mount(self) -> None:
        names = self.query("#signin-name").results(Input)
        name = next(names, None)
        if name is None:  # the app is closing as the screen comes up (Ctrl+O, then Ctrl+Q)
            return
        (self.query_one("#gate-pin", Input) if name.value else name).focus()
        from kiosk.security.roles import setting_up

        if self.kiosk.offered is None and setting_up(self.kiosk.read()):
            # nobody could sign in: the first-run set-up instead (screens/signin/setup.py)
            from screens.signin.setup import SetupScreen

            self.app.push_screen(SetupScreen())
        # The names and their pinyin (pypinyin loads its dictionaries, ~0.15 s), and the
        # offered worker's home screen, are read once the screen is up, not while it is
        # being drawn.
        self.set_timer(0.3, self._load_names)

    def _load_names(self) -> None:
        if self._names is None and not self._loading_names:
            self._loading_names = True
            self.load_names()
            self.kiosk.prefetch_home()  # the offered worker's home, while they type

    def reload_names(self) -> None:
        """Read the workers' names again (a laptop just enrolled has received them)."""
        self._names = None
        self._loading_names = True
        self.load_names()

    @work(thread=True, exclusive=True, group="signin-names", exit_on_error=False)
    def load_names(self) -> None:
        self.post_message(self.NamesLoaded(name_keys(list_workers(self.kiosk.read()))))

    def on_sign_in_screen_names_loaded(self, message: NamesLoaded) -> None:
        self._names = message.index
        name = self.query_one("#signin-name", Input)
        if name.has_focus:
            self._suggest(name.value)

    # --- the name ---------------------------------------------------------------------------
    @on(Input.Changed, "#signin-name")
    def name_changed(self, event: Input.Changed) -> None:
        if self._names is None:
            self._load_names()
        self._suggest(event.value)

    def _suggest(self, typed: str) -> None:
        names = self.query_one("#signin-names", OptionList)
        hits = match_names(self._names or [], typed)
        if len(hits) == 1 and hits[0].name == typed.strip():
            hits = []  # the name is complete: nothing to choose
        names.clear_options()
        names.add_options([Option(f"{h.name}  ·  {role_label(h.role)}", id=h.name) for h in hits])
        names.set_class(bool(hits), "-shown")
        if hits:
            names.highlighted = 0

    def action_suggestion(self, step: int) -> None:
        names = self.query_one("#signin-names", OptionList)
        if names.has_class("-shown") and names.option_count:
            current = names.highlighted if names.highlighted is not None else -step
            names.highlighted = (current + step) % names.option_count

    def action_take_name(self) -> None:
        name = self.query_one("#signin-name", Input)
        if not (name.has_focus and self._take_suggestion()):
            self.focus_next()

    def _take_suggestion(self) -> bool:
        names = self.query_one("#signin-names", OptionList)
        if not names.has_class("-shown") or names.highlighted is None:
            return False
        option = names.get_option_at_index(names.highlighted)
        self._pick(option.id or "")
        return True

    def _pick(self, name: str) -> None:
        field = self.query_one("#signin-name", Input)
        with field.prevent(Input.Changed):
            field.value = name
        names = self.query_one("#signin-names", OptionList)
        names.clear_options()
        names.remove_class("-shown")
        self.query_one("#gate-pin", Input).focus()

    @on(OptionList.OptionSelected, "#signin-names")
    def name_clicked(self, event: OptionList.OptionSelected) -> None:
        self._pick(event.option.id or "")

    @on(Input.Submitted, "#signin-name")
    def name_submitted(self, event: Input.Submitted) -> None:
        took = self._take_suggestion()  # the highlighted name, if any, and on to the PIN
        pin = self.query_one("#gate-pin", Input)
        if pin.value and pin.value == self._handed_on:
            self.submit()  # the PIN came with the name, in one go: so does its Enter
        elif not took:
            pin.focus()

    def _pin_digit(self, typed: str, digit: str) -> bool:
        """``digit``, typed in the name field after ``typed``, belongs to the PIN: ``typed``
        names one worker (their whole name, or the beginning of only one name, pinyin or
        initials) and no worker's name goes on with the digit."""
        if self._names is None:
            return False  # the names are not read yet: left where it was typed
        typed = typed.strip()
        whole = any(key.name == typed for key in self._names)
        if not (whole or len(match_names(self._names, typed, limit=2)) == 1):
            return False
        return not match_names(self._names, typed + digit, limit=1)

    @on(NameInput.Digit)
    def pin_digit_typed(self, message: NameInput.Digit) -> None:
        pin = self.query_one("#gate-pin", Input)
        if len(pin.value) < PIN_MAX:
            pin.value += message.digit
        pin.cursor_position = len(pin.value)
        self._handed_on = pin.value
        pin.focus()

    # --- the PIN ----------------------------------------------------------------------------
    @on(Input.Submitted, "#gate-pin")
    @on(Button.Pressed, "#signin-submit")
    def submit(self) -> None:
        name = self.query_one("#signin-name", Input).value.strip()
        if not name:
            self.show_status(t("signin.need_name"), error=True)
            self.query_one("#signin-name", Input).focus()
            return
        self.check_pin(name, self.query_one("#gate-pin", Input).value, unlock=False)

    def accepted(self, worker: Worker) -> None:
        self.kiosk.call_later(self.kiosk.complete_sign_in, worker)

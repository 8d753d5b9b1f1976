"""Every key of the screen underneath, in one list (``?``, or F1 on the home list): the footer
shows the screen's own keys first and folds what does not fit; nothing is out of reach."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from kiosk.core.i18n import t, term


def key_lines(keys: list[tuple[str, str]]) -> str:
    """``key  description`` lines, the descriptions aligned whatever the key's width."""
    width = max((cell_len(k) for k, _ in keys), default=0)
    return "\n".join(f"{k}{' ' * (width - cell_len(k))}  {d}" for k, d in keys)


class KeysPanel(ModalScreen[None]):
    #: what the acting worker needs to open it (None: anyone signed in)
    PERMISSION: ClassVar[str | None] = None

    BINDINGS = [
        Binding("escape", "close", term("ui.back"), id="keys.close", tooltip=term("ui.back")),
        Binding("question_mark", "close", term("ui.back"), id="keys.close_again", show=False),
    ]

    DEFAULT_CSS = """
    KeysPanel { align: center middle; }
    #keys-box {
        width: 60; max-width: 100%; height: auto; max-height: 90%;
        border: round $accent; padding: 0 1; background: $surface;
    }
    #keys-title { text-style: bold; color: $accent; }
    """

    def __init__(self, own: list[tuple[str, str]], everywhere: list[tuple[str, str]]) -> None:
        super().__init__()
        self.own, self.everywhere = own, everywhere

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="keys-box"):
            yield Static(t("ui.keys_title"), id="keys-title")
            yield Static(key_lines(self.own), id="keys-own", markup=False)
            yield Static(t("ui.keys_everywhere"), classes="muted")
            yield Static(key_lines(self.everywhere), id="keys-everywhere", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)

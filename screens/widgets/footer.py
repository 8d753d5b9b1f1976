"""The footer of every screen: the keys of the screen's bindings on one line, drawn by one
widget.

Textual's Footer is a container with a widget per key (and each key two component-class
nodes): restyling a screen, which Textual does every time a screen comes to the front, spent
more time on the footer's keys than on everything else the household screen shows, and the
footer was rebuilt four times while the first screen appeared. This one draws the same line
(key, description, the command palette key on the right) as one widget, and redraws it only
when the keys it would show change. Clicking a key presses it; a disabled key rings the
bell; hovering shows the key's tooltip. The app's latest notice, if any, is drawn on the
line above the keys (KioskApp.notify).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

from kiosk.core.i18n import Term, now_text, t


def our_bindings(app: Any, active: Any, *, shown: bool) -> list[tuple[bool, Any, bool, Any]]:
    """A screen's ``active_bindings`` that are this app's (every one says what it does through
    the translation layer, a Term; Textual's own, in English, are left out), the first of
    each action (``shown``: of those the footer shows), the screen's own before the app-wide
    ones: (app-wide, binding, enabled, tooltip)."""
    first: dict[str, tuple[bool, Any, bool, Any]] = {}
    for node, binding, enabled, tooltip in active.values():
        if not isinstance(binding.description, Term) or (shown and not binding.show):
            continue
        first.setdefault(binding.action, (node is app, binding, enabled, tooltip))
    return sorted(first.values(), key=lambda e: e[0])


@dataclass(eq=False)
class Notice:
    """One notification as the footer draws it (severity: information, warning or error)."""

    message: str
    title: str = ""
    severity: str = "information"

    def text(self) -> Text:
        return Text(f"{self.title}: {self.message}" if self.title else self.message)


#: a notice longer than this many lines is cut (the whole of it is in the app's list)
NOTICE_LINES = 3


class _Key(NamedTuple):
    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str


class KioskFooter(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {
        "footer-key--key",
        "footer-key--description",
        "footer-key--hover",
        "footer-key--palette-border",
        "footer--information",
        "footer--warning",
        "footer--error",
    }
    DEFAULT_CSS = """
    KioskFooter {
        dock: bottom;
        height: auto;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    KioskFooter > .footer-key--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KioskFooter > .footer-key--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    KioskFooter > .footer-key--hover {
        color: $footer-key-foreground;
        background: $block-hover-background;
    }
    KioskFooter > .footer--information {
        color: $text;
        background: $success-muted;
        text-style: bold;
    }
    KioskFooter > .footer--warning {
        color: $text;
        background: $warning-muted;
        text-style: bold;
    }
    KioskFooter > .footer--error {
        color: $text;
        background: $error-muted;
        text-style: bold;
    }
    KioskFooter > .footer-key--palette-border {
        color: $foreground 20%;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._keys: tuple[_Key, ...] = ()
        self._palette: _Key | None = None
        self._spans: list[tuple[int, int, _Key]] = []  # x range of each key, as last drawn
        self._hover: _Key | None = None
        self._pending = False
        self._notice: Notice | None = None
        self._notice_lines = 0  # rows the notice takes above the keys, as last drawn

    # --- which keys ---------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self._read_keys()
        if hasattr(self.app, "notice"):
            self.watch(self.app, "notice", self.notice_changed)

    def notice_changed(self, notice: Notice | None) -> None:
        if notice is not self._notice:
            self._notice = notice
            self.refresh(layout=True)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        # one update per frame, however many times the bindings change in it
        if self._pending or not self.is_attached or not screen.app.app_focus:
            return
        if screen is self.screen:
            self._pending = True
            self.call_after_refresh(self._read_keys)

    def _read_keys(self) -> None:
        self._pending = False
        if not self.is_attached:  # its screen went while the update waited for the frame
            return
        app = self.app
        active = self.screen.active_bindings
        # as Textual's Footer: a key per action, in order, but the screen's own keys first
        # and the app-wide ones after (folded when they do not fit: the last entry then
        # opens the list of every key)
        keys = tuple(
            _Key(
                binding.key,
                app.get_key_display(binding),
                now_text(binding.description),  # a Term: drawn in the language of now
                enabled,
                now_text(tooltip or binding.tooltip or binding.description),
            )
            for _, binding, enabled, tooltip in our_bindings(app, active, shown=True)
        )
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _, binding, enabled, tooltip = active[app.COMMAND_PALETTE_BINDING]
            # Textual's own binding says "palette" in English: ours goes through t()
            palette = _Key(
                binding.key,
                app.get_key_display(binding),
                t("ui.palette"),
                enabled,
                t("ui.palette_hint"),
            )
            keys = tuple(k for k in keys if k.key != binding.key)
        if (keys, palette) != (self._keys, self._palette):
            self._keys, self._palette = keys, palette
            self.refresh()

    # --- drawing ------------------------------------------------------------------------------
    def _key_text(self, key: _Key) -> Text:
        hover = key == self._hover
        key_style = self.get_component_rich_style("footer-key--key")
        text_style = self.get_component_rich_style("footer-key--description")
        if hover:
            hover_style = self.get_component_rich_style("footer-key--hover")
            key_style, text_style = key_style + hover_style, text_style + hover_style
        if not key.enabled:
            dim = Style(dim=True)
            key_style, text_style = key_style + dim, text_style + dim
        if not key.description:
            return Text(key.display, key_style)
        return Text.assemble((f" {key.display} ", key_style), (f"{key.description} ", text_style))

    def render(self) -> Text:
        keys = self._keys_line()
        notice = self._notice
        if notice is None:
            self._notice_lines = 0
            return keys
        severity = notice.severity if notice.severity in ("warning", "error") else "information"
        style = self.get_component_rich_style(f"footer--{severity}")
        width = max(1, self.size.width)
        lines = notice.text().wrap(self.app.console, width - 2)[:NOTICE_LINES]
        self._notice_lines = len(lines)
        out = Text(no_wrap=True, overflow="crop", end="")
        for line in lines:
            line.truncate(width - 2, overflow="ellipsis")
            padded = Text.assemble(" ", line, " " * (width - 1 - line.cell_len), style=style)
            out.append_text(padded)
            out.append("\n")
        out.append_text(keys)
        return out

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        if self._notice is None:
            return 1
        return 1 + len(self._notice.text().wrap(self.app.console, max(1, width - 2))[:NOTICE_LINES])

    def _keys_line(self) -> Text:
        width = self.size.width
        self._spans = []
        line = Text(no_wrap=True, overflow="crop", end="")
        for key in self._keys:
            part = self._key_text(key)
            self._spans.append((line.cell_len, line.cell_len + part.cell_len, key))
            line.append_text(part)
        if self._palette is None:
            return line
        palette = Text.assemble(
            ("▏", self.get_component_rich_style("footer-key--palette-border")),
            self._key_text(self._palette),
            " ",
        )
        room = max(0, width - palette.cell_len)
        if line.cell_len > room:
            # fold: the keys that fit whole, then one entry that lists them all
            more = _Key("question_mark", "?", t("ui.keys"), True, t("ui.keys_hint"))
            more_text = self._key_text(more)
            kept = [s for s in self._spans if s[1] <= room - more_text.cell_len]
            end = kept[-1][1] if kept else 0
            line.truncate(end, overflow="crop", pad=True)  # by cells: CJK is two wide
            self._spans = [*kept, (end, end + more_text.cell_len, more)]
            line.append_text(more_text)
        line.append(" " * (room - cell_len(line.plain)))
        self._spans.append((room + 1, room + palette.cell_len, self._palette))
        line.append_text(palette)
        return line

    # --- mouse ----------------------------------------------------------------------------------
    def _key_at(self, x: int, y: int = -1) -> _Key | None:
        if y >= 0 and y != self._notice_lines:  # the notice's rows hold no keys
            return None
        for start, end, key in self._spans:
            if start <= x < end:
                return key
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        key = self._key_at(event.x, event.y)
        if key != self._hover:
            self._hover = key
            self.tooltip = key.tooltip if key else None
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = self._key_at(event.x, event.y)
        if key is None:
            return
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()

"""Pictures in the terminal: textual-image, loaded without asking the terminal anything.

textual-image, when imported, asks the terminal on stdout which graphics it speaks (Sixel,
Kitty's protocol) and how big its cells are, and reads the answers from stdin for up to 0.1 s
each. Before Textual starts, that would hold up every start for a terminal that never
answers; once Textual runs, the answers would reach Textual's reader as stray keys, and a
scanner's keys typed meanwhile could be read by textual-image instead. So the kiosk imports
it with stdout shown as not a terminal (no question is asked), gives it the cell size the
kernel already knows (``TIOCGWINSZ``; asking nobody), and picks the renderer itself from the
``photo_graphics`` setting (docs/photos.md):

* ``auto``: Kitty's graphics protocol in Kitty, Sixel in the terminals known to draw it
  (WezTerm, foot, mlterm, Contour, iTerm2), coloured half blocks elsewhere (any colour
  terminal, tmux, a browser through textual-serve);
* ``kitty``, ``sixel``, ``halfcell``: that renderer, whatever the terminal;
* ``none``: no pictures, only their text lines (a slow remote link, a screen reader).

Decoding happens on a worker thread (:func:`decode`): a picture shrunk to the pixels it
will fill, so the widget never scales a 1600 px JPEG on the event loop.
"""

from __future__ import annotations

import io
import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from textual.widget import Widget

MODES = ("auto", "kitty", "sixel", "halfcell", "none")
#: terminals that draw Sixel but not Kitty's protocol as textual-image places it
_SIXEL_TERMINALS = ("wezterm", "foot", "mlterm", "contour", "iterm")
#: a cell's size in pixels when the kernel does not know it (textual-image's VT340 default)
_DEFAULT_CELL = (10, 20)


class _NotATerminal(io.TextIOBase):
    """``sys.__stdout__`` as textual-image sees it while it is imported: not a terminal."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def isatty(self) -> bool:
        return False

    def write(self, s: str) -> int:
        return len(s)  # nothing reaches the terminal while it is imported

    def flush(self) -> None:
        pass


def _cell_pixels() -> tuple[int, int]:
    """The terminal's cell size in pixels as the kernel knows it (no escape sequence)."""
    try:
        import fcntl
        import struct
        import termios

        fd = sys.__stdout__.fileno() if sys.__stdout__ else -1
        if fd < 0 or not os.isatty(fd):
            return _DEFAULT_CELL
        rows, cols, xpix, ypix = struct.unpack(
            "HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
        )
        if rows and cols and xpix and ypix:
            return max(1, xpix // cols), max(1, ypix // rows)
    except (OSError, ValueError, ImportError):
        pass
    return _DEFAULT_CELL


@cache
def _widgets() -> Any:
    """textual_image.widget, imported with no question to the terminal (see the module's doc)."""
    real = sys.__stdout__
    from textual_image import _terminal

    # the cell size, told before anything asks for it (textual-image keeps its first answer)
    _terminal.get_cell_size._result = _terminal.CellSize(*_cell_pixels())  # type: ignore[attr-defined]
    sys.__stdout__ = _NotATerminal(real)  # type: ignore[misc,assignment]
    try:
        import textual_image.widget as widgets
    finally:
        sys.__stdout__ = real  # type: ignore[misc]
    return widgets


def renderer(setting: str, env: dict[str, str] | None = None) -> str:
    """The renderer ``photo_graphics = setting`` means in the terminal ``env`` describes."""
    if setting != "auto":
        return setting if setting in MODES else "halfcell"
    env = dict(os.environ) if env is None else env
    term = env.get("TERM", "").lower()
    program = env.get("TERM_PROGRAM", "").lower()
    if "kitty" in term or env.get("KITTY_WINDOW_ID"):
        return "kitty"
    if any(name in term or name in program for name in _SIXEL_TERMINALS):
        return "sixel"
    return "halfcell"


def picture_widget(mode: str, image: PILImage, **kwargs: Any) -> Widget:
    """A widget drawing ``image`` with the renderer ``mode`` (not ``none``)."""
    widgets = _widgets()
    cls = {
        "kitty": widgets.TGPImage,
        "sixel": widgets.SixelImage,
    }.get(mode, widgets.HalfcellImage)
    return cls(image, **kwargs)  # type: ignore[no-any-return]


def box_pixels(mode: str, cols: int, rows: int) -> tuple[int, int]:
    """The most pixels ``cols`` × ``rows`` cells show with the renderer ``mode``."""
    if mode == "halfcell":
        return cols, rows * 2  # one pixel per column, two per row (▀ in two colours)
    w, h = _widgets_cell()
    return cols * w, rows * h


def _widgets_cell() -> tuple[int, int]:
    from textual_image._terminal import get_cell_size

    _widgets()
    size = get_cell_size()
    return size.width, size.height


def decode(data: bytes, box: tuple[int, int]) -> PILImage:
    """The stored JPEG ``data`` as an RGB image no larger than ``box`` pixels (its aspect
    kept). JPEG's draft mode decodes at 1/2, 1/4 or 1/8 scale when that is enough."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", box)
        out = im.convert("RGB")
    out.thumbnail(box)
    return out

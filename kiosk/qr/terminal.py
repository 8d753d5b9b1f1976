"""A QR code drawn in the terminal with half-block characters: each character cell holds two
modules (upper and lower half), so a version-1 code with its quiet zone takes 29 columns and
15 rows.

The colours are fixed, black modules on a white ground, whatever the theme: a phone camera
reads dark-on-light codes, and a dark theme's inverted code fails on many readers. The quiet
zone is drawn in the same white so the code stands out from the screen around it.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from kiosk.qr.encode import qr_matrix

DARK = "#000000"
LIGHT = "#ffffff"
#: Modules of quiet zone around the code on screen (the QR standard's four).
SCREEN_QUIET_ZONE = 4

_UPPER, _LOWER, _FULL = "▀", "▄", "█"


def half_block_lines(
    matrix: tuple[tuple[bool, ...], ...], quiet: int = SCREEN_QUIET_ZONE
) -> list[str]:
    """The code as lines of text, to be shown black on white: a space is two light modules,
    ``█`` two dark ones, ``▀`` dark over light, ``▄`` light over dark."""
    size = len(matrix)
    width = size + 2 * quiet

    def dark(x: int, y: int) -> bool:
        x, y = x - quiet, y - quiet
        return 0 <= x < size and 0 <= y < size and matrix[y][x]

    lines = []
    for top in range(0, size + 2 * quiet, 2):
        chars = []
        for x in range(width):
            up, down = dark(x, top), dark(x, top + 1)
            chars.append(_FULL if up and down else _UPPER if up else _LOWER if down else " ")
        lines.append("".join(chars))
    return lines


def qr_text(payload: str, quiet: int = SCREEN_QUIET_ZONE) -> Text:
    """A Rich Text of the code, black on white regardless of the theme."""
    style = Style(color=DARK, bgcolor=LIGHT)
    return Text(
        "\n".join(half_block_lines(qr_matrix(payload), quiet)),
        style=style,
        no_wrap=True,
        overflow="crop",
        end="",
    )


def lines_to_matrix(lines: list[str]) -> list[list[bool]]:
    """Undo :func:`half_block_lines` (tests use it to check the drawing module by module)."""
    rows: list[list[bool]] = []
    for line in lines:
        up = [ch in (_UPPER, _FULL) for ch in line]
        down = [ch in (_LOWER, _FULL) for ch in line]
        rows += [up, down]
    return rows

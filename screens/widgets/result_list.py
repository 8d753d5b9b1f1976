"""A fast, keyboard-first list of result rows with aligned CJK columns.

``DataTable`` renders every cell through Rich and re-renders all of them when rows are
replaced; a search box replaces its rows at every keystroke. This widget pre-pads each row to
the column widths once (by terminal cells, so 张焕丽 takes six) and draws one segment per
line, which keeps a keystroke-to-paint well inside a frame. Rows are paged in by the screen
(``NearEnd`` asks for more); the widget never holds more than the pages it was given.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

MAX_COLUMN = 40


class ResultList(ScrollView, can_focus=True):
    """Rows of text under a fixed header line; a cursor row; Enter selects."""

    DEFAULT_CSS = """
    ResultList {
        height: 1fr;
        background: $surface;
    }
    ResultList > .result-list--header {
        text-style: bold;
        background: $primary 25%;
    }
    ResultList > .result-list--even {
        background: $surface-lighten-1;
    }
    ResultList > .result-list--cursor {
        background: $accent 30%;
        text-style: bold;
    }
    ResultList:focus > .result-list--cursor {
        background: $accent 60%;
    }
    """
    COMPONENT_CLASSES = {"result-list--header", "result-list--even", "result-list--cursor"}
    BINDINGS = [
        Binding("up", "cursor_up", "↑", show=False),
        Binding("down", "cursor_down", "↓", show=False),
        Binding("pageup", "page_up", "PgUp", show=False),
        Binding("pagedown", "page_down", "PgDn", show=False),
        Binding("home", "first", "Home", show=False),
        Binding("end", "last", "End", show=False),
        Binding("enter", "select", "↵", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)

    class Highlighted(Message):
        """The cursor moved to a row (handled by the screen that owns the list)."""

        def __init__(self, result_list: ResultList, index: int, key: str) -> None:
            super().__init__()
            self.result_list = result_list
            self.index = index
            self.key = key

        @property
        def control(self) -> ResultList:
            return self.result_list

    class Selected(Message):
        """A row was chosen with Enter or a click (handled by the owning screen)."""

        def __init__(self, result_list: ResultList, index: int, key: str) -> None:
            super().__init__()
            self.result_list = result_list
            self.index = index
            self.key = key

        @property
        def control(self) -> ResultList:
            return self.result_list

    class NearEnd(Message):
        """The cursor reached the last loaded row: the owner may append the next page."""

        def __init__(self, result_list: ResultList) -> None:
            super().__init__()
            self.result_list = result_list

        @property
        def control(self) -> ResultList:
            return self.result_list

    def __init__(
        self, columns: Sequence[str], *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = list(columns)
        self._keys: list[str] = []
        self._rows: list[tuple[str, ...]] = []
        self._widths = [cell_len(c) for c in self.columns]
        self._lines: list[str] = []
        self._cells: list[list[str]] = []
        self._header = ""
        self._header_cells: list[str] = []
        self._content_width = 0

    # --- data ----------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._rows)

    def get_row_at(self, index: int) -> tuple[str, ...]:
        return self._rows[index]

    def key_at(self, index: int) -> str:
        return self._keys[index]

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def clear(self) -> None:
        self.set_rows([])

    def set_rows(self, rows: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Replace every row: ``(key, cells)`` pairs."""
        self._keys, self._rows = [], []
        self._widths = [cell_len(c) for c in self.columns]
        self._append(rows)
        self.cursor_row = 0
        self.scroll_to(y=0, animate=False)

    def add_rows(self, rows: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Append a page of rows, keeping the cursor where it is."""
        self._append(rows)

    def _append(self, rows: Sequence[tuple[str, Sequence[str]]]) -> None:
        widths = self._widths
        for key, cells in rows:
            texts = tuple(str(c) for c in cells)
            self._keys.append(key)
            self._rows.append(texts)
            for i, text in enumerate(texts):
                width = min(MAX_COLUMN, cell_len(text))
                if width > widths[i]:
                    widths[i] = width

        # Pre-pad every cell once (by terminal cells: a CJK character takes two).
        def padded(cells: Sequence[str]) -> list[str]:
            return [" " + set_cell_size(c, w) + " " for c, w in zip(cells, widths, strict=True)]

        self._header_cells = padded(self.columns)
        self._cells = [padded(r) for r in self._rows]
        self._header = "".join(self._header_cells)
        self._lines = ["".join(c) for c in self._cells]
        self._content_width = cell_len(self._header)
        self._fit_virtual_size()
        self.refresh()

    def _fit_virtual_size(self) -> None:
        """The scrollable size: the rows, but never less than the widget itself. A new page
        of results that fits the widget then leaves the virtual size as it was, and Textual
        repaints the list without laying out the whole screen again (a reflow and full
        redraw, a third of the keystroke-to-results time)."""
        width, height = self.size
        lines = len(self._rows) + 1
        # The floor leaves room for a scrollbar the content needs anyway, so the floor itself
        # never brings one.
        if lines > height:
            width -= self.styles.scrollbar_size_vertical
        if self._content_width > width:
            height -= self.styles.scrollbar_size_horizontal
        self.virtual_size = Size(max(self._content_width, width), max(lines, height))

    def on_resize(self) -> None:
        self._fit_virtual_size()

    # --- drawing ---------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("result-list--header")
            cells = self._header_cells
        else:
            index = scroll_y + y - 1
            if index >= len(self._cells):
                return Strip.blank(width, base)
            cells = self._cells[index]
            if index == self.cursor_row:
                style = base + self.get_component_rich_style("result-list--cursor")
            elif index % 2:
                style = base + self.get_component_rich_style("result-list--even")
            else:
                style = base
        # One segment per cell: terminals and SVG screenshots both place each cell exactly.
        strip = Strip([Segment(c, style) for c in cells], self._content_width)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    # --- cursor ----------------------------------------------------------------------------
    def watch_cursor_row(self, old: int, new: int) -> None:
        if not self._rows:
            return
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self, new, self._keys[new]))
        if new >= len(self._rows) - 1:
            self.post_message(self.NearEnd(self))

    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, len(self._rows) - 1)) if self._rows else 0

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.size.height - 1)
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_page_up(self) -> None:
        self.cursor_row -= max(1, self.size.height - 2)

    def action_page_down(self) -> None:
        self.cursor_row += max(1, self.size.height - 2)

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = len(self._rows) - 1

    def action_select(self) -> None:
        if self._rows:
            self.post_message(self.Selected(self, self.cursor_row, self._keys[self.cursor_row]))

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y - 1
        if event.y >= 1 and 0 <= index < len(self._rows):
            if index == self.cursor_row:
                self.action_select()
            else:
                self.cursor_row = index

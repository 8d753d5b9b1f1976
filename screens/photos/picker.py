"""Choosing photos from the laptop's folders: the phone's card, a USB cable's folder, the
home folder. Several at once: space marks a photo (or every photo of a folder), the
highlighted one is previewed, Ctrl+S gives the marked files to the form's photo field.

``PhotoPathsInput`` is that field: paths typed or pasted as before (``;``-separated, or a
folder), and Ctrl+O opens the picker where the field points, else where the last choice was.
A preview is prepared as a stored photo would be (kiosk/photos/prepare.py: bounded before it
is decoded, orientation applied), small, and only shown: nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Input, Select, Static
from textual.widgets._tree import TreeNode

from db.photos import MAX_PER_EVENT
from kiosk.core.errors import UserError, describe
from kiosk.core.i18n import t, term
from kiosk.photos.attach import IMAGE_SUFFIXES
from screens.widgets import picture
from screens.widgets.footer import KioskFooter

#: where the last choice was made, for the next picker of this session
_last_folder: list[Path] = []
#: the preview's size in cells
PREVIEW_COLS, PREVIEW_ROWS = 30, 12


def places() -> list[tuple[str, Path]]:
    """Where photos come from on a laptop: home, its pictures folder, and each mounted
    removable medium (a phone over USB, a card reader)."""
    home = Path.home()
    found: list[tuple[str, Path]] = [(t("photos.pick.home"), home)]
    for name in ("Pictures", "图片", "Downloads", "下载", "DCIM"):
        if (home / name).is_dir():
            found.append((name, home / name))
    user = os.environ.get("USER") or home.name
    for root in (Path("/media") / user, Path("/run/media") / user, Path("/media"), Path("/mnt")):
        try:
            media = sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:
            continue
        for medium in media:
            if all(medium != p for _, p in found):
                found.append((t("photos.pick.medium", name=medium.name), medium))
    return found


def images_in(folder: Path) -> list[Path]:
    """The photos directly in ``folder``, by name (what a folder in the field stands for)."""
    try:
        return sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
    except OSError:
        return []


class PhotoTree(DirectoryTree):
    """Folders and photo files only (no hidden ones); marked files show a ✓."""

    BINDINGS = [Binding("space", "mark", term("photos.pick.mark"), id="photo_pick.mark")]

    def action_mark(self) -> None:
        self.screen.action_mark()  # type: ignore[attr-defined]

    def __init__(self, path: Path, marked: set[Path], **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.marked = marked

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p
            for p in paths
            if not p.name.startswith(".")
            and (self._safe_is_dir(p) or p.suffix.lower() in IMAGE_SUFFIXES)
        ]

    def repaint(self) -> None:
        """Draw every loaded file's line again (its mark may have changed)."""
        todo = [self.root]
        while todo:
            node = todo.pop()
            node.refresh()
            todo.extend(node.children)

    def render_label(self, node: TreeNode[Any], base_style: Style, style: Style) -> Text:
        label = super().render_label(node, base_style, style)
        entry = node.data
        if entry is not None and entry.path in self.marked:
            return Text.assemble(("✓ ", "bold green"), label)
        return label


class PhotoPickerScreen(ModalScreen[list[Path] | None]):
    """Marks photos in the laptop's folders; returns the marked files (None: cancelled).
    The files ``given`` (those the field names) start marked."""

    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [
        Binding("escape", "cancel", term("ui.back"), id="photo_pick.cancel"),
        Binding("ctrl+s", "done", term("photos.pick.done"), id="photo_pick.done"),
        Binding("c", "camera", term("photos.pick.camera"), id="photo_pick.camera"),
    ]
    DEFAULT_CSS = """
    PhotoPickerScreen { align: center middle; }
    #pick-box { width: 96; max-width: 100%; height: 90%; border: round $accent;
        background: $surface; padding: 0 1; }
    #pick-title { text-style: bold; }
    #pick-hint, #pick-status { color: $text-muted; }
    #pick-main { height: 1fr; }
    #pick-tree { width: 1fr; }
    #pick-preview { width: 32; padding: 0 1; }
    #pick-preview-text { color: $text-muted; }
    #pick-preview .pick-picture { width: auto; height: 12; }
    """

    class Shot(Message):
        """A photo taken with the camera (or why not)."""

        def __init__(self, path: Path | None, error: str = "") -> None:
            super().__init__()
            self.path = path
            self.error = error

    class Preview(Message):
        def __init__(self, path: Path, image: Any, text: str) -> None:
            super().__init__()
            self.path = path
            self.image = image
            self.text = text

    def __init__(self, start: Path | None = None, given: Iterable[Path] = ()) -> None:
        super().__init__()
        options = places()
        if start is None:
            start = _last_folder[-1] if _last_folder else options[0][1]
        self.start = start
        self.options = options
        #: the files the field names already start marked: the choice replaces the field
        self.marked: set[Path] = {p for p in given if p.is_file()}
        self._previewing: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-box"):
            yield Static(t("photos.pick.title"), id="pick-title")
            choices = [(label, str(path)) for label, path in self.options]
            if all(str(self.start) != v for _, v in choices):
                choices.insert(0, (str(self.start), str(self.start)))
            yield Select(
                choices, value=str(self.start), allow_blank=False, id="pick-place", compact=True
            )
            with Horizontal(id="pick-main"):
                yield PhotoTree(self.start, self.marked, id="pick-tree")
                with Vertical(id="pick-preview"):
                    yield Static("", id="pick-preview-text", markup=False)
            yield Static(t("photos.pick.hint", limit=MAX_PER_EVENT), id="pick-hint")
            yield Static("", id="pick-status")
        yield KioskFooter()

    def on_mount(self) -> None:
        self.query_one(PhotoTree).focus()
        self._status()
        from kiosk.photos.camera import sweep

        sweep()  # camera shots of forms never saved, a day old

    # --- the camera -------------------------------------------------------------------------
    def action_camera(self) -> None:
        if self._room() <= 0:
            self._status()
            return
        self.notify(t("photos.pick.taking"))
        self._take()

    @work(thread=True, exclusive=True, group="photo-camera", exit_on_error=False)
    def _take(self) -> None:
        from kiosk.photos.camera import take_photo

        try:
            path, _ = take_photo(self.app.runtime.settings)  # type: ignore[attr-defined]
        except UserError as e:
            self.post_message(self.Shot(None, describe(e)))
            return
        self.post_message(self.Shot(path))

    @on(Shot)
    def _shot(self, message: Shot) -> None:
        if message.path is None:
            self.notify(message.error, severity="error")
            return
        if self._room() > 0:
            self.marked.add(message.path)
        self._changed()
        self._previewing = message.path
        self._preview(message.path, picture.renderer(self.app.runtime.settings.photo_graphics))  # type: ignore[attr-defined]

    @on(Select.Changed, "#pick-place")
    def _place(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.query_one(PhotoTree).path = Path(event.value)

    # --- marking --------------------------------------------------------------------------
    def _highlighted(self) -> Path | None:
        node = self.query_one(PhotoTree).cursor_node
        return node.data.path if node is not None and node.data is not None else None

    def action_mark(self) -> None:
        path = self._highlighted()
        if path is None:
            return
        if path.is_dir():
            self._mark_all(images_in(path))
        else:
            self._toggle(path)

    @on(DirectoryTree.FileSelected)
    def _selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self._toggle(event.path)

    def _toggle(self, path: Path) -> None:
        if path in self.marked:
            self.marked.discard(path)
        elif self._room() > 0:
            self.marked.add(path)
        self._changed()

    def _mark_all(self, paths: list[Path]) -> None:
        new = [p for p in paths if p not in self.marked]
        if not new:  # all marked already: space again unmarks the folder
            self.marked.difference_update(paths)
        else:
            self.marked.update(new[: max(0, self._room())])
        self._changed()

    def _room(self) -> int:
        return MAX_PER_EVENT - len(self.marked)

    def _changed(self) -> None:
        self.query_one(PhotoTree).repaint()
        self._status()

    def _status(self) -> None:
        text = t("photos.pick.marked", n=len(self.marked), limit=MAX_PER_EVENT)
        if self._room() <= 0:
            text += "  " + t("photos.error.too_many", limit=MAX_PER_EVENT)
        self.query_one("#pick-status", Static).update(text)

    def action_done(self) -> None:
        chosen = sorted(self.marked)
        if chosen:
            _last_folder[:] = [chosen[0].parent]
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)

    # --- preview --------------------------------------------------------------------------
    @on(DirectoryTree.NodeHighlighted)
    def _highlight(self, event: DirectoryTree.NodeHighlighted) -> None:
        entry = event.node.data
        path = entry.path if entry is not None else None
        if path is None or path.suffix.lower() not in IMAGE_SUFFIXES or path == self._previewing:
            return
        self._previewing = path
        mode = picture.renderer(self.app.runtime.settings.photo_graphics)  # type: ignore[attr-defined]
        self._preview(path, mode)

    @work(thread=True, exclusive=True, group="photo-preview", exit_on_error=False)
    def _preview(self, path: Path, mode: str) -> None:
        from kiosk.photos.prepare import prepare_file

        try:
            # as it would be stored (bounded, turned upright), small: only to be seen
            small = prepare_file(path, long_edge=400, quality=70)
        except UserError as e:
            self.post_message(self.Preview(path, None, describe(e)))
            return
        image = None
        if mode != "none":
            image = picture.decode(small.data, picture.box_pixels(mode, PREVIEW_COLS, PREVIEW_ROWS))
        size = max(1, path.stat().st_size // 1024) if path.exists() else 0
        self.post_message(self.Preview(path, image, f"{path.name}\n{size} KB"))

    @on(Preview)
    def _show_preview(self, message: Preview) -> None:
        if message.path != self._previewing:
            return
        box = self.query_one("#pick-preview", Vertical)
        for old in box.query(".pick-picture"):
            old.remove()
        if message.image is not None:
            mode = picture.renderer(self.app.runtime.settings.photo_graphics)  # type: ignore[attr-defined]
            box.mount(
                picture.picture_widget(mode, message.image, classes="pick-picture"),
                before=0,
            )
        self.query_one("#pick-preview-text", Static).update(message.text)


class PhotoPathsInput(Input):
    """A form's photo field: paths typed or pasted, or chosen with Ctrl+O."""

    BINDINGS = [
        Binding("ctrl+o", "pick", term("photos.pick.open"), id="photos.pick", show=True),
    ]

    def action_pick(self) -> None:
        from kiosk.photos.attach import photo_paths

        start = None
        try:
            given = photo_paths(self.value)  # a folder given stands for its photos
        except UserError:
            given = []
        named = [Path(p.strip().strip("'\"")).expanduser() for p in self.value.split(";")]
        folders = [p for p in named if p.is_dir()]
        if folders:
            start = folders[-1]
        elif given:
            start = given[-1].parent

        def chosen(paths: list[Path] | None) -> None:
            if paths is not None:  # the marked files, those the field named included
                self.value = "; ".join(str(p) for p in paths)
                self.cursor_position = len(self.value)

        self.app.push_screen(PhotoPickerScreen(start, given), chosen)

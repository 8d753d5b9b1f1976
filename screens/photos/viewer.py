"""A photo full size: the whole screen for one picture, ←/→ through the others, Esc back.

Opened with Enter on a case's step that has photos, or with the photos key on a case or a
household. The picture is read and shrunk to the screen on a worker thread; a photo that is
not on this laptop yet, or was erased, says so instead.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.message import Message
from textual.widgets import Header, Static

from db.photos import Photo, blob
from kiosk.core.i18n import t, term
from screens.base import KioskScreen
from screens.photos.strip import caption, graphics
from screens.widgets import picture
from screens.widgets.footer import KioskFooter


class PhotoViewerScreen(KioskScreen):
    #: None: opened from a case or a household screen, which checked what the worker may see
    PERMISSION: ClassVar[str | None] = None
    BINDINGS = [
        Binding("escape", "app.pop_screen", term("ui.back"), id="photo.back"),
        Binding("left", "step(-1)", term("photos.view.previous"), id="photo.previous"),
        Binding("right", "step(1)", term("photos.view.next"), id="photo.next"),
    ]
    DEFAULT_CSS = """
    PhotoViewerScreen #photo-caption { height: 1; padding: 0 1; text-style: bold; }
    PhotoViewerScreen #photo-canvas { height: 1fr; }
    PhotoViewerScreen #photo-canvas > Center { height: 1fr; }
    PhotoViewerScreen .photo-picture { width: auto; height: auto; }
    PhotoViewerScreen .photo-missing { width: auto; color: $text-muted; }
    """

    class Decoded(Message):
        def __init__(self, index: int, image: Any) -> None:
            super().__init__()
            self.index = index
            self.image = image

    def __init__(self, photos: list[tuple[str, Photo]], start: int = 0) -> None:
        super().__init__()
        self.photos = photos
        self.index = max(0, min(start, len(photos) - 1))

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="photo-caption", markup=False)
        with Middle(id="photo-canvas"):
            yield Center()
        yield KioskFooter()

    def on_mount(self) -> None:
        self.show()

    def action_step(self, delta: int) -> None:
        if self.photos:
            self.index = (self.index + delta) % len(self.photos)
            self.show()

    def on_resize(self, event: events.Resize) -> None:
        self.show()  # the picture fills the new size

    def show(self) -> None:
        if not self.photos:
            return
        number, p = self.photos[self.index]
        line = f"{self.index + 1}/{len(self.photos)} · {caption(p, number)}"
        if not p.erased:
            line += " · " + t(
                "photos.one", width=p.width, height=p.height, kb=max(1, p.bytes // 1024)
            )
        self.query_one("#photo-caption", Static).update(line)
        mode = graphics(self.app)
        if p.erased or not p.here or mode == "none":
            why = (
                t("photos.erased")
                if p.erased
                else t("photos.not_here")
                if not p.here
                else t("photos.view.graphics_off")
            )
            self._put(Static(why, classes="photo-missing", markup=False))
            return
        canvas = self.query_one("#photo-canvas")
        cols, rows = max(8, canvas.size.width or self.size.width), max(4, canvas.size.height or 10)
        self._read(self.index, p.sha256, picture.box_pixels(mode, cols, rows))

    def _put(self, widget: Any) -> None:
        center = self.query_one("#photo-canvas > Center")
        center.remove_children()
        center.mount(widget)

    @work(thread=True, exclusive=True, group="photo-viewer", exit_on_error=False)
    def _read(self, index: int, sha256: str, box: tuple[int, int]) -> None:
        data = blob(self.kiosk.read(), sha256)
        self.post_message(self.Decoded(index, picture.decode(data, box) if data else None))

    @on(Decoded)
    def _decoded(self, message: Decoded) -> None:
        if message.index != self.index:
            return  # the worker moved on to another photo
        if message.image is None:
            self._put(Static(t("photos.not_here"), classes="photo-missing"))
            return
        mode = graphics(self.app)
        self._put(picture.picture_widget(mode, message.image, classes="photo-picture"))

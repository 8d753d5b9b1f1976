"""A strip of thumbnails: the photos of a case's step, or of a household's cases.

The pictures are read and shrunk on a worker thread (``screens/widgets/picture.py``); the
strip is empty and takes no room until they arrive, so the screen around it paints first.
A photo that is not on this laptop yet, or was erased, is a labelled box instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from db.photos import Photo, blob
from kiosk.core.i18n import t
from screens.widgets import picture

#: the most thumbnails a strip shows (the viewer shows them all)
SHOWN = 6
#: a thumbnail's height in rows; its width follows the picture's shape
THUMB_ROWS = 6
THUMB_COLS = 16


def stage(event_type: str) -> str:
    """What a photo documents, by the step it is on: before, after, or the step's name."""
    if event_type == "register":
        return t("photos.view.before")
    if event_type in ("resolve", "resolve_on_spot"):
        return t("photos.view.after")
    return t(f"cases.event.{event_type}") if event_type else ""


def caption(p: Photo, number: str = "") -> str:
    """A photo's short caption: its case (when given), what it documents, its date."""
    parts = [number, stage(p.event_type), p.added_at[:10]]
    return " · ".join(x for x in parts if x)


def graphics(app: Any) -> str:
    """The renderer the ``photo_graphics`` setting picks for this terminal."""
    return picture.renderer(app.runtime.settings.photo_graphics)


class Thumb(Vertical):
    """One thumbnail with its caption (or a box saying why there is no picture)."""

    DEFAULT_CSS = """
    Thumb { width: auto; height: auto; margin: 0 1 0 0; }
    Thumb > .thumb-missing { width: 16; height: 6; border: round $foreground 30%;
        content-align: center middle; color: $text-muted; }
    Thumb > .thumb-caption { width: auto; max-width: 24; color: $text-muted; }
    Thumb > .thumb-picture { width: auto; height: 6; }
    """

    def __init__(self, photo: Photo, image: Any, mode: str, number: str = "") -> None:
        super().__init__()
        self.photo = photo
        self.image = image
        self.mode = mode
        self.number = number

    def compose(self) -> ComposeResult:
        p = self.photo
        if self.image is not None:
            yield picture.picture_widget(self.mode, self.image, classes="thumb-picture")
        else:
            why = t("photos.erased_short") if p.erased else t("photos.view.not_here_short")
            yield Static(why, classes="thumb-missing")
        yield Static(caption(p, self.number), classes="thumb-caption", markup=False)


class PhotoStrip(Horizontal):
    """Thumbnails of up to :data:`SHOWN` photos, read on a worker; hidden when empty."""

    DEFAULT_CSS = """
    PhotoStrip { height: auto; display: none; padding: 0 1; }
    PhotoStrip.-shown { display: block; }
    PhotoStrip > .strip-more { width: auto; height: 6; content-align: left middle;
        color: $text-muted; }
    """

    class Ready(Message):
        def __init__(self, generation: int, items: list[tuple[str, Photo, Any]], more: int):
            super().__init__()
            self.generation = generation
            self.items = items
            self.more = more

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._generation = 0
        #: every photo the strip was last asked to show (it shows the first few)
        self.photos: list[tuple[str, Photo]] = []

    def show(self, photos: list[tuple[str, Photo]]) -> None:
        """Show ``photos`` as (case number or "", photo); an empty list hides the strip."""
        mode = graphics(self.app)
        if not photos or mode == "none":
            self.clear()
            return
        self._generation += 1
        self._read(self._generation, lambda conn: photos, mode)

    def clear(self) -> None:
        self._generation += 1
        self.remove_children()
        self.set_class(False, "-shown")

    @work(thread=True, exclusive=True, group="photo-strip", exit_on_error=False)
    def _read(
        self,
        generation: int,
        which: Callable[[sqlite3.Connection], list[tuple[str, Photo]]],
        mode: str,
    ) -> None:
        box = picture.box_pixels(mode, THUMB_COLS, THUMB_ROWS)
        conn = self.app.read()  # type: ignore[attr-defined]
        photos = which(conn)
        self.photos = photos
        items = []
        for number, p in photos[:SHOWN]:
            data = blob(conn, p.sha256) if p.sha256 and p.here else None
            items.append((number, p, picture.decode(data, box) if data else None))
        self.post_message(self.Ready(generation, items, len(photos) - len(items)))

    def on_photo_strip_ready(self, message: Ready) -> None:
        message.stop()
        if message.generation != self._generation:
            return  # another step or household was shown meanwhile
        if not message.items:
            self.clear()
            return
        mode = graphics(self.app)
        widgets: list[Widget] = [
            Thumb(p, image, mode, number) for number, p, image in message.items
        ]
        if message.more:
            widgets.append(Static(t("photos.view.more", n=message.more), classes="strip-more"))
        self.remove_children()
        self.mount_all(widgets)
        self.set_class(True, "-shown")

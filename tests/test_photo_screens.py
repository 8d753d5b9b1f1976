"""Photos on screen: thumbnails under a case's step and on a household, the full-size
viewer, and textual-image loaded without a word to the terminal."""

from __future__ import annotations

import os
import pty
import select
import sys
import time

import pytest
from textual.widgets import DataTable, Static

from db.cases import register_case
from db.connection import transaction
from kiosk.core.i18n import t
from tests.conftest import SUPERVISOR, acting_as
from tests.pilot_helpers import settle, signed_in_app, until


@pytest.fixture
def runtime(runtime):
    with acting_as(runtime, SUPERVISOR):
        yield runtime


def _supervisor(runtime):
    from db.workers import worker_by_name
    from kiosk.demo.district import DEMO_ACCOUNTS

    return worker_by_name(runtime.conn, DEMO_ACCOUNTS["supervisor"][0])


def _case_with_photos(runtime, *, resolved: bool = False):
    """A case of the first household with two photos on its registration and, when
    ``resolved``, one on its resolution; the household's id and the case's id."""
    from db.cases import append_event
    from db.photos import register_event
    from kiosk.photos.attach import attach_prepared
    from kiosk.photos.prepare import prepare_bytes
    from tests.photo_helpers import phone_jpeg

    conn = runtime.conn
    hh = conn.execute("SELECT id FROM households ORDER BY id LIMIT 1").fetchone()[0]
    before = [prepare_bytes(phone_jpeg(1200, 900)), prepare_bytes(phone_jpeg(600, 800))]
    with transaction(conn):
        cid = register_case(runtime.ctx, household_ids=[hh], category="sewer", summary="下水堵")
        attach_prepared(runtime.ctx, cid, register_event(conn, cid), before)
        if resolved:
            eid = append_event(runtime.ctx, cid, "resolve_on_spot", {"note": "疏通了"})
            attach_prepared(runtime.ctx, cid, eid, [prepare_bytes(phone_jpeg(1000, 750))])
    return hh, cid


def _painted(app) -> str:
    """Every character on the screen (what a person sees)."""
    return "".join(app.export_screenshot())


def _captions(screen) -> list[str]:
    """The thumbnails' captions, once each thumbnail is composed."""
    return [str(c.render()) for c in screen.query(".thumb-caption")]


def _text(app) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query(Static) if w.display)


async def test_a_steps_photos_show_as_thumbnails_and_enter_opens_them_full_size(runtime):
    from screens.cases.case_detail import CaseDetailScreen
    from screens.photos.strip import Thumb
    from screens.photos.viewer import PhotoViewerScreen

    _, cid = _case_with_photos(runtime, resolved=True)
    app = signed_in_app(runtime, _supervisor(runtime))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        table = app.screen.query_one("#case-timeline", DataTable)
        table.focus()
        table.move_cursor(row=0)
        await until(pilot, lambda: len(_captions(app.screen)) == 2)
        thumbs = list(app.screen.query(Thumb))
        assert len(thumbs) == 2
        assert all(th.image is not None for th in thumbs)
        assert all(t("photos.view.before") in c for c in _captions(app.screen))
        assert "▀" in _painted(app)  # drawn in half blocks, in the thumbnail's colours
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, PhotoViewerScreen)
        caption = str(app.screen.query_one("#photo-caption", Static).render())
        assert caption.startswith("1/3") and t("photos.view.before") in caption
        assert "1200×900" in caption
        assert "▀" in _painted(app)
        await pilot.press("right", "right")
        await settle(app, pilot)
        caption = str(app.screen.query_one("#photo-caption", Static).render())
        assert caption.startswith("3/3") and t("photos.view.after") in caption
        await pilot.press("right")
        await settle(app, pilot)
        assert str(app.screen.query_one("#photo-caption", Static).render()).startswith("1/3")
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, CaseDetailScreen)


async def test_a_household_shows_its_cases_photos_and_opens_them(runtime):
    from screens.households.household import open_household
    from screens.photos.strip import PhotoStrip, Thumb
    from screens.photos.viewer import PhotoViewerScreen
    from tests.pilot_helpers import until

    hh, cid = _case_with_photos(runtime, resolved=True)
    app = signed_in_app(runtime, _supervisor(runtime))
    async with app.run_test(size=(80, 24)) as pilot:
        open_household(app, hh)
        await until(pilot, lambda: len(_captions(app.screen)) == 3)
        strip = app.screen.query_one("#household-photos", PhotoStrip)
        assert strip.display and len(strip.query(Thumb)) == 3
        number = runtime.conn.execute("SELECT number FROM cases WHERE id = ?", (cid,)).fetchone()[0]
        captions = _captions(strip)
        assert all(c.startswith(number) for c in captions)
        assert t("photos.view.after") in captions[-1]
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, PhotoViewerScreen))
        await settle(app, pilot)
        assert str(app.screen.query_one("#photo-caption", Static).render()).startswith("1/3")
        await pilot.press("escape")
        await settle(app, pilot)
        # another household, without photos: nothing of the first one's shows
        other = runtime.conn.execute(
            "SELECT id FROM households WHERE id NOT IN (SELECT household_id FROM case_households)"
            " ORDER BY id LIMIT 1"
        ).fetchone()[0]
        await pilot.press("escape")
        await settle(app, pilot)
        open_household(app, other)
        await until(pilot, lambda: getattr(app.screen, "household_id", "") == other)
        await settle(app, pilot)
        assert not app.screen.query(Thumb)
        assert not app.screen.query_one("#household-photos", PhotoStrip).display
        await pilot.press("i")
        await settle(app, pilot)
        assert t("photos.view.none") in " ".join(n.message for n in app._notifications)


async def test_a_photo_not_on_this_laptop_and_an_erased_one_say_so(runtime):
    from screens.cases.case_detail import CaseDetailScreen
    from screens.photos.strip import Thumb

    _, cid = _case_with_photos(runtime)
    conn = runtime.conn
    first, second = [r[0] for r in conn.execute("SELECT sha256 FROM photos ORDER BY rowid")]
    with transaction(conn):  # one picture never came; the other was erased (db/forget.py)
        conn.execute("DELETE FROM photo_blobs")
        conn.execute("UPDATE photos SET sha256 = '' WHERE sha256 = ?", (second,))
    app = signed_in_app(runtime, _supervisor(runtime))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        app.screen.query_one("#case-timeline", DataTable).focus()
        await until(pilot, lambda: len(app.screen.query(".thumb-missing")) == 2)
        thumbs = list(app.screen.query(Thumb))
        assert [th.image for th in thumbs] == [None, None]
        boxes = [str(th.query_one(".thumb-missing").render()) for th in thumbs]
        assert boxes == [t("photos.view.not_here_short"), t("photos.erased_short")]
        await pilot.press("enter")
        await settle(app, pilot)
        assert t("photos.not_here") in _text(app)
        await pilot.press("right")
        await settle(app, pilot)
        assert t("photos.erased") in _text(app)


async def test_with_pictures_off_only_the_lines_show(runtime):
    import msgspec

    from screens.cases.case_detail import CaseDetailScreen
    from screens.photos.strip import Thumb

    _, cid = _case_with_photos(runtime)
    runtime.settings = msgspec.structs.replace(runtime.settings, photo_graphics="none")
    app = signed_in_app(runtime, _supervisor(runtime))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        app.screen.query_one("#case-timeline", DataTable).focus()
        await settle(app, pilot)
        assert not app.screen.query(Thumb)
        assert "1200×900" in _text(app)
        await pilot.press("enter")
        await settle(app, pilot)
        assert t("photos.view.graphics_off") in _text(app)
        assert "▀" not in _painted(app)


@pytest.mark.parametrize(
    ("setting", "env", "expected"),
    [
        ("auto", {"TERM": "xterm-kitty"}, "kitty"),
        ("auto", {"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, "sixel"),
        ("auto", {"TERM": "foot"}, "sixel"),
        ("auto", {"TERM": "tmux-256color", "TERM_PROGRAM": "tmux"}, "halfcell"),
        ("auto", {"TERM": "xterm-256color"}, "halfcell"),
        ("auto", {}, "halfcell"),
        ("sixel", {"TERM": "xterm-kitty"}, "sixel"),
        ("none", {"TERM": "xterm-kitty"}, "none"),
    ],
)
def test_the_renderer_follows_the_setting_and_the_terminal(setting, env, expected):
    from screens.widgets.picture import renderer

    assert renderer(setting, env) == expected


def test_loading_the_picture_library_asks_the_terminal_nothing_and_takes_no_keys():
    """In a real terminal (a pty), textual-image on its own writes escape sequences asking
    for Sixel, Kitty graphics and the cell size, and reads the answers from stdin: keys a
    scanner types meanwhile would be eaten. Loaded through screens/widgets/picture.py, it
    writes nothing and the keys are still there to read."""
    code = (
        "import os, sys, select\n"
        "from screens.widgets import picture\n"
        "sys.stdout.write('READY\\n'); sys.stdout.flush()\n"
        # the test types the scanner's keys now: the pty's line discipline hands over the
        # whole line at once, so they are all waiting when the library loads
        "select.select([0], [], [], 10)\n"
        "picture._widgets()\n"
        "print('CELL', picture._widgets_cell())\n"
        "print('KEYS', repr(os.read(0, 100)))\n"
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdin, stdout and stderr are the pty
        os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        os.execv(sys.executable, [sys.executable, "-c", code])
    out = b""
    deadline = time.monotonic() + 60
    typed = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not typed and b"READY" in out:
            os.write(fd, b"HH:2F9Q7KX\r")
            typed = True
    os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    after = text.split("READY", 1)[1]
    assert "\x1b[" not in after.replace("\x1b[?", "?"), after  # no question sent
    assert "\x1b[c" not in after and "\x1b_G" not in after and "\x1b[16t" not in after
    assert "KEYS 'HH:2F9Q7KX" in after or "KEYS b'HH:2F9Q7KX" in after, after


async def test_photos_are_chosen_from_a_folder_several_at_once(runtime, tmp_path):
    """Ctrl+O in the resolve form's photo field: the phone's folder, one photo marked,
    then the whole folder, a preview of the highlighted one; Ctrl+S fills the field and
    saving attaches them."""
    from screens.cases.case_detail import CaseDetailScreen
    from screens.photos.picker import PhotoPickerScreen, PhotoTree
    from tests.photo_helpers import write_phone_jpeg
    from tests.pilot_helpers import until

    phone = tmp_path / "DCIM"
    phone.mkdir()
    shots = [write_phone_jpeg(phone / f"IMG_{i}.jpg") for i in range(3)]
    (phone / "notes.txt").write_text("not a photo")
    _, cid = _case_with_photos(runtime)
    app = signed_in_app(runtime, _supervisor(runtime))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        await pilot.press("m")  # resolve on the spot
        await settle(app, pilot)
        field = app.screen.query_one("#f-photos")
        field.value = str(phone)  # the picker opens where the field points
        field.focus()
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, PhotoPickerScreen))
        picker = app.screen
        tree = picker.query_one(PhotoTree)
        await until(pilot, lambda: tree.root.children and len(tree.root.children) == 3)
        assert [n.data.path.name for n in tree.root.children] == [s.name for s in shots]
        assert picker.marked == set(shots)  # the folder the field named: its photos
        tree.move_cursor(tree.root.children[1])
        await pilot.press("space")
        await until(
            pilot, lambda: "IMG_1.jpg" in str(picker.query_one("#pick-preview-text").render())
        )
        assert picker.marked == {shots[0], shots[2]}
        assert picker.query(".pick-picture")  # the highlighted photo, previewed
        await pilot.press("space")  # marked again
        assert picker.marked == set(shots)
        tree.move_cursor(tree.root)
        await pilot.press("space")  # on the folder, all marked: all unmarked
        assert picker.marked == set()
        tree.move_cursor(tree.root.children[2])
        await pilot.press("space")
        await pilot.pause()  # not settle: the folder tree's loader worker runs while it is open
        assert "✓" in "".join(app.export_screenshot())
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        field = app.screen.query_one("#f-photos")
        assert field.value == str(shots[2])
        field.value = str(phone)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, PhotoPickerScreen))
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        field = app.screen.query_one("#f-photos")
        assert field.value == "; ".join(map(str, shots))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, CaseDetailScreen))
        await until(
            pilot,
            lambda: (
                runtime.conn.execute(
                    "SELECT count(*) FROM photos p JOIN case_events e ON e.id = p.event_id"
                    " WHERE e.type = 'resolve_on_spot' AND p.case_id = ?",
                    (cid,),
                ).fetchone()[0]
                == 1
            ),  # the same test picture three times is one picture
        )


def _video(path, frames: int = 12):
    """A short video (Motion JPEG) OpenCV reads as it reads a camera: a door and a wall."""
    import cv2
    import numpy as np

    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    assert out.isOpened()
    for i in range(frames):
        frame = np.full((480, 640, 3), (40, 120 + i, 200), dtype=np.uint8)
        frame[100:400, 250:390] = (30, 60, 110)  # the door
        out.write(frame)
    out.release()
    return path


async def test_a_photo_taken_with_the_camera_is_attached_and_its_file_goes(runtime, tmp_path):
    """C in the picker takes a photo with the camera the ``camera_index`` setting names (here
    a video stream's file, read by OpenCV as a camera is); it waits, prepared and private, in
    the data folder until the form is saved, and is gone after."""
    import msgspec

    from kiosk.core.config import data_dir
    from screens.cases.case_detail import CaseDetailScreen
    from screens.photos.picker import PhotoPickerScreen
    from tests.photo_helpers import jpeg_segments
    from tests.pilot_helpers import until

    video = _video(tmp_path / "camera.avi")
    runtime.settings = msgspec.structs.replace(runtime.settings, camera_index=str(video))
    _, cid = _case_with_photos(runtime)
    app = signed_in_app(runtime, _supervisor(runtime))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        await pilot.press("p")  # progress
        await settle(app, pilot)
        app.screen.query_one("#f-photos").focus()
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, PhotoPickerScreen))
        picker = app.screen
        await pilot.press("c")
        await until(pilot, lambda: len(picker.marked) == 1)
        (shot,) = picker.marked
        folder = data_dir() / "camera"
        assert shot.parent == folder
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
        assert oct(shot.stat().st_mode & 0o777) == "0o600"
        data = shot.read_bytes()
        assert 0xE1 not in jpeg_segments(data)  # no EXIF: prepared as any stored photo
        await until(
            pilot, lambda: shot.name in str(picker.query_one("#pick-preview-text").render())
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.query_one("#f-photos").value == str(shot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, CaseDetailScreen))
        await until(pilot, lambda: not shot.exists())
        rows = runtime.conn.execute(
            "SELECT p.width, p.height FROM photos p JOIN case_events e ON e.id = p.event_id"
            " WHERE p.case_id = ? AND e.type = 'progress'",
            (cid,),
        ).fetchall()
        assert [tuple(r) for r in rows] == [(640, 480)]


def test_camera_shots_left_behind_are_removed_a_day_later(runtime):
    import os
    import time

    from kiosk.photos.camera import shots_dir, sweep

    old, new = shots_dir() / "camera-old.jpg", shots_dir() / "camera-new.jpg"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    assert sweep() == 1
    assert not old.exists() and new.exists()


def test_the_camera_without_its_extra_or_a_camera_says_which(runtime, monkeypatch, tmp_path):
    import msgspec

    from kiosk.core.errors import UserError
    from kiosk.photos.camera import take_photo

    missing = msgspec.structs.replace(runtime.settings, camera_index=str(tmp_path / "none.avi"))
    with pytest.raises(UserError) as refused:
        take_photo(missing)
    assert refused.value.key == "qr.camera.none"
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(UserError) as refused:
        take_photo(runtime.settings)
    assert refused.value.key == "qr.camera.no_extra"

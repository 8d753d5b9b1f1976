"""The QR code on screen: half blocks that decode, black on white whatever the theme, quiet
zone, readable code under it; the labels screen with its progress bar."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from textual.widgets import Checkbox, Input, ProgressBar, Static

from db.connection import transaction
from db.labels import active_household_label, ensure_household_label
from kiosk.qr.encode import QUIET_ZONE, qr_matrix
from kiosk.qr.payload import encode_id, make
from kiosk.qr.terminal import DARK, LIGHT, half_block_lines, lines_to_matrix, qr_text
from screens.households.household import HouseholdScreen
from screens.widgets.qr import HouseholdQR
from tests.pilot_helpers import settle, signed_in_app


def screen_image(lines: list[str], cell: int = 6) -> Image.Image:
    """What a phone camera sees of the terminal: each module a light or dark square."""
    rows = lines_to_matrix(lines)
    img = Image.new("L", (len(rows[0]) * cell, len(rows) * cell), 255)
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                img.paste(0, (x * cell, y * cell, (x + 1) * cell, (y + 1) * cell))
    return img


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["HH", "CS"]), st.integers(0, (1 << 60) - 1))
def test_half_blocks_draw_the_code_module_for_module(kind, value):
    import zxingcpp

    text = make(kind, encode_id(value)).text
    lines = half_block_lines(qr_matrix(text))
    matrix = qr_matrix(text)
    size = len(matrix) + 2 * QUIET_ZONE
    assert len(lines) == (size + 1) // 2 and {len(line) for line in lines} == {size}
    drawn = lines_to_matrix(lines)[:size]
    for y in range(size):
        for x in range(size):
            inner = QUIET_ZONE <= x < size - QUIET_ZONE and QUIET_ZONE <= y < size - QUIET_ZONE
            expected = matrix[y - QUIET_ZONE][x - QUIET_ZONE] if inner else False
            assert drawn[y][x] == expected
    found = zxingcpp.read_barcodes(screen_image(lines))
    assert [b.text for b in found] == [text]


def test_colours_are_fixed_dark_on_light():
    rich_text = qr_text(make("HH", encode_id(5)).text)
    assert rich_text.style.color.name == DARK and rich_text.style.bgcolor.name == LIGHT


async def test_household_screen_shows_its_label(runtime):

    conn = runtime.conn
    hid = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    before = conn.execute("SELECT count(*) FROM outbox WHERE entity = 'label'").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        label = active_household_label(conn, hid)  # created on first show
        assert label is not None and label.generation == 1
        payload = make("HH", label.code)
        panel = app.screen.query_one("#household-qr", HouseholdQR)
        lines = str(panel.render()).splitlines()
        drawn = half_block_lines(qr_matrix(payload.text))
        assert panel.code_lines == drawn
        assert lines[1 : 1 + len(drawn)] == drawn
        assert lines[1 + len(drawn)].strip() == payload.readable
        assert panel.size.width >= len(drawn[0])  # nothing cropped: the whole quiet zone shows
        # the colours do not follow the theme
        for theme in ("textual-light", "textual-dark"):
            app.theme = theme
            await pilot.pause()
            strip = panel.render_line(3)
            code_cells = [
                seg
                for seg in strip
                if set(seg.text) & set("▀▄█ ") and seg.style and seg.style.bgcolor
            ]
            assert code_cells
            qr_segments = [seg for seg in code_cells if seg.style.bgcolor.name == LIGHT]
            assert sum(len(seg.text) for seg in qr_segments) == len(drawn[0])
            assert {seg.style.color.name for seg in qr_segments} == {DARK}
    after = conn.execute("SELECT count(*) FROM outbox WHERE entity = 'label'").fetchone()[0]
    assert after == before + 1


async def test_household_with_a_label_shows_it_without_writing(runtime):

    conn = runtime.conn
    hid = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    with transaction(conn):
        label = ensure_household_label(runtime.ctx, hid)
    before = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        text = str(app.screen.query_one("#household-qr").render())
        assert make("HH", label.code).readable in text
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == before


async def test_labels_screen_prints_this_household_with_progress(runtime, tmp_path):
    from screens.households.labels import LabelsScreen

    conn = runtime.conn
    hid = conn.execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    app = signed_in_app(runtime)
    out = tmp_path / "one.pdf"
    async with app.run_test(size=(100, 40)) as pilot:
        await app.push_screen(HouseholdScreen(hid))
        await settle(app, pilot)
        await pilot.press("f8")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LabelsScreen) and screen.household_id == hid
        screen.query_one("#labels-out", Input).value = str(out)
        screen.query_one("#labels-reprint", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        bar = screen.query_one(ProgressBar)
        assert bar.total == 1 and bar.progress == 1
        assert str(out) in str(screen.query_one("#labels-status", Static).render())
    assert Path(out).is_file()
    labels = conn.execute(
        "SELECT generation, retired_at FROM labels WHERE household_id = ? ORDER BY generation",
        (hid,),
    ).fetchall()
    assert [(g, r is None) for g, r in labels] == [(1, False), (2, True)]


async def test_labels_screen_reports_empty_selection(runtime, tmp_path):
    from screens.households.labels import LabelsScreen

    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f8")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LabelsScreen)
        from textual.widgets import Select

        screen.query_one("#labels-scope", Select).value = "compound"
        screen.query_one("#labels-which", Input).value = "没有这个小区"
        screen.query_one("#labels-out", Input).value = str(tmp_path / "x.pdf")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "没有小区" in str(screen.query_one("#labels-status", Static).render())
    assert not (tmp_path / "x.pdf").exists()
    assert runtime.conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 0


async def test_case_slip_from_the_case_screen(runtime, tmp_path, monkeypatch):
    import pypdfium2  # noqa: F401 - the slip is checked by decoding it

    from kiosk.qr import actions
    from screens.cases.case_detail import CaseDetailScreen

    monkeypatch.setattr(actions, "slip_folder", lambda: tmp_path)
    conn = runtime.conn
    case_id, number = conn.execute("SELECT id, number FROM cases LIMIT 1").fetchone()
    app = signed_in_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("f7")  # no case on screen: says so
        await settle(app, pilot)
        assert any("请先打开一个事项" in n.message for n in app._notifications)
        await app.push_screen(CaseDetailScreen(case_id))
        await settle(app, pilot)
        await pilot.press("f7")
        await settle(app, pilot)
    out = tmp_path / f"slip-{number}.pdf"
    assert out.is_file()
    from test_labels_pdf import decode_pdf

    [[payload]] = decode_pdf(out)
    code = conn.execute("SELECT code FROM labels WHERE case_id = ?", (case_id,)).fetchone()[0]
    assert payload == make("CS", code).text


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["HH", "CS"]), st.integers(0, (1 << 60) - 1))
def test_pdf_rectangles_cover_exactly_the_dark_modules(kind, value):
    from kiosk.qr.encode import module_rects

    matrix = qr_matrix(make(kind, encode_id(value)).text)
    covered: list[tuple[int, int]] = []
    for x, y, w, h in module_rects(matrix):
        covered += [(x + i, y + j) for i in range(w) for j in range(h)]
    dark = [(x, y) for y, row in enumerate(matrix) for x, d in enumerate(row) if d]
    assert sorted(covered) == sorted(dark)  # no gaps, no overlaps


async def test_the_label_screen_opens_on_its_first_field_with_a_preview(runtime):
    """F8: the cursor is in the first field, and before anything is printed the screen says
    how many labels on how many sheets; a grid that does not exist says so instead."""
    import math

    from textual.widgets import Select

    from screens.households.labels import LabelsScreen

    codes = list(runtime.worker.grids)
    n = runtime.conn.execute(
        "SELECT count(*) FROM households h JOIN grids g ON g.id = h.grid_id"
        f" WHERE g.code IN ({','.join('?' * len(codes))}) AND h.forgotten_at IS NULL",
        codes,
    ).fetchone()[0]
    app = signed_in_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f8")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LabelsScreen)
        assert app.focused is screen.query_one("#labels-scope", Select)
        status = str(screen.query_one("#labels-status", Static).render())
        assert status == f"将打印 {n} 张标签，共 {math.ceil(n / 24)} 页。"
        screen.query_one("#labels-scope", Select).value = "grid"
        screen.query_one("#labels-which", Input).value = "G999"
        await settle(app, pilot)
        assert "G999" in str(screen.query_one("#labels-status", Static).render())
    assert runtime.conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 0

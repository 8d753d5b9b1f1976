"""The PDF case report (kiosk/cases/report.py), read back with pypdfium2: what it says, where
its photos lie (before left of after), that nothing of a photo's metadata reaches it even
from a picture stored with its metadata, placeholders for pictures not here or erased, a
private file, the refusals; then ``kiosk cases report`` as a real subprocess and the case
screen's key."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat

import pytest

from db.cases import append_event, register_case
from db.connection import transaction
from db.photos import attach_photo, register_event
from kiosk.core.errors import UserError
from kiosk.core.i18n import t
from kiosk.photos.attach import attach_prepared
from kiosk.photos.prepare import prepare_bytes
from tests.conftest import GRID_WORKER, SUPERVISOR, acting_as, run_kiosk
from tests.photo_helpers import SECRETS, phone_jpeg, write_phone_jpeg


# --- reading a PDF back -----------------------------------------------------------------------
def pdf_text(path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


def pdf_images(path) -> list[list[tuple[float, float, float, float]]]:
    """Each page's image objects as (left, bottom, right, top) in points."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    doc = pdfium.PdfDocument(str(path))
    try:
        return [
            [
                tuple(obj.get_bounds())
                for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])
            ]
            for page in doc
        ]
    finally:
        doc.close()


def pdf_metadata(path) -> dict:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        return doc.get_metadata_dict()
    finally:
        doc.close()


# --- a case with before and after photos --------------------------------------------------------
def _household(conn, grid: str = "G001") -> str:
    return conn.execute(
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code = ?"
        " ORDER BY h.rid LIMIT 1",
        (grid,),
    ).fetchone()[0]


def _raw_photo(ctx, case_id: str, event_id: str, data: bytes, width: int, height: int) -> str:
    """A picture stored as it came, metadata and all (as one synced from elsewhere may be:
    the laptop checks a picture's name, not its content): the report must still not carry it."""
    sha = hashlib.sha256(data).hexdigest()
    return attach_photo(ctx, case_id, event_id, sha256=sha, data=data, width=width, height=height)


def _case_with_photos(runtime, grid: str = "G001", by: str = GRID_WORKER) -> str:
    """Registered (by the grid worker) with two photos (one stored with its metadata), resolved
    on the spot with one, and a progress step with one."""
    conn = runtime.conn
    with acting_as(runtime, by):
        with transaction(conn):
            cid = register_case(
                runtime.ctx,
                household_ids=[_household(conn, grid)],
                category="sewer",
                summary="楼下下水堵了，联系王阿姨 13812345678",
                raised_by="王阿姨 13812345678",
            )
            reg = register_event(conn, cid)
            _raw_photo(runtime.ctx, cid, reg, phone_jpeg(1200, 900), 1200, 900)
            attach_prepared(runtime.ctx, cid, reg, [prepare_bytes(phone_jpeg(600, 800))])
        with transaction(conn):
            eid = append_event(runtime.ctx, cid, "progress", {"note": "已联系物业"})
            attach_prepared(runtime.ctx, cid, eid, [prepare_bytes(phone_jpeg(800, 600))])
        with transaction(conn):
            eid = append_event(runtime.ctx, cid, "resolve_on_spot", {"note": "已疏通"})
            attach_prepared(runtime.ctx, cid, eid, [prepare_bytes(phone_jpeg(900, 600))])
    return cid


def _save(runtime, cid: str, out, worker_name: str = GRID_WORKER):
    from db.workers import worker_by_name
    from kiosk.cases.report import save_report
    from kiosk.domain.categories import load_categories
    from kiosk.qr.fonts import font_for

    def write(fn):
        with transaction(runtime.conn):
            return fn(runtime.ctx)

    with acting_as(runtime, worker_name) as worker:
        return save_report(
            runtime.conn,
            write,
            worker_by_name(runtime.conn, worker.name),
            cid,
            out,
            font_for(runtime.settings),
            categories=load_categories(runtime.settings),
        )


def test_the_report_shows_the_case_and_its_photos_before_left_of_after(runtime, tmp_path):
    cid = _case_with_photos(runtime)
    number = runtime.conn.execute("SELECT number FROM cases WHERE id = ?", (cid,)).fetchone()[0]
    out = tmp_path / "report.pdf"
    old = os.umask(0o022)  # a usual umask: the report must not rely on kiosk's 0o077
    try:
        summary = _save(runtime, cid, out)
    finally:
        os.umask(old)
    assert summary.photos == 4 and summary.path == str(out)

    text = pdf_text(out)
    assert number in text
    assert "下水堵" in text  # the category's Chinese name
    assert t("photos.report.before") in text and t("photos.report.after") in text
    assert "演示网格员" in text  # who did each step, as the screen names them
    assert "138****5678" in text and "13812345678" not in text  # masked as in lists
    assert "中山小区" in text or "栋" in text or "单元" in text  # the address, as on screen

    pages = pdf_images(out)
    assert sum(len(p) for p in pages) == 4  # two before, one after, one progress
    # The first row of page 1: the first before photo and the after photo, side by side.
    first = pages[0]
    top = max(box[3] for box in first)
    row = sorted(box for box in first if box[3] > top - 5)
    assert len(row) == 2, pages
    (b_left, b_bottom, b_right, b_top), (a_left, a_bottom, a_right, a_top) = row
    assert b_right <= a_left  # before left of after
    assert b_top > a_bottom and a_top > b_bottom  # on the same row
    page_width = 210 / 25.4 * 72
    assert b_left < page_width / 2 < a_left
    # the second before photo below the first, in the left column; nothing else on the right
    assert sum(1 for page in pages for box in page if box[0] > page_width / 2) == 1

    raw = out.read_bytes()
    for secret in SECRETS:
        assert secret not in raw, secret
    assert b"121.4737" not in raw and b"Exif" not in raw and b"PhoneMaker" not in raw

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    meta = pdf_metadata(out)
    assert number not in json.dumps(meta, ensure_ascii=False)
    assert not meta.get("Author") and not meta.get("Subject")
    assert "演示网格员" not in json.dumps(meta, ensure_ascii=False)
    assert not list(tmp_path.glob(".*.part"))  # no temporary file left beside it

    [(entity, entity_id, detail)] = runtime.conn.execute(
        "SELECT entity, entity_id, detail FROM audit WHERE action = 'export'"
    ).fetchall()
    assert (entity, entity_id) == ("case", cid)
    assert json.loads(detail)["photos"] == 4


def test_pictures_not_here_or_erased_get_a_labelled_box(runtime, tmp_path):
    cid = _case_with_photos(runtime)
    conn = runtime.conn
    shas = [
        r[0]
        for r in conn.execute(
            "SELECT p.sha256 FROM photos p JOIN case_events e ON e.id = p.event_id"
            " WHERE p.case_id = ? AND e.type = 'register' ORDER BY p.hlc",
            (cid,),
        )
    ]
    with transaction(conn):
        # the first before photo erased (db/forget.py does so), the second not synced here yet
        conn.execute("DELETE FROM photo_blobs WHERE sha256 IN (?, ?)", tuple(shas))
        conn.execute("UPDATE photos SET sha256 = '' WHERE sha256 = ?", (shas[0],))
    out = tmp_path / "report.pdf"
    _save(runtime, cid, out)
    text = pdf_text(out)
    assert t("photos.report.erased") in text
    assert t("photos.report.not_here") in text
    assert sum(len(p) for p in pdf_images(out)) == 2  # the after and the progress photo only


def test_a_case_without_photos_says_none_on_both_sides(runtime, tmp_path):
    conn = runtime.conn
    with acting_as(runtime, GRID_WORKER), transaction(conn):
        cid = register_case(
            runtime.ctx, household_ids=[_household(conn)], category="noise", summary="噪音扰民"
        )
    out = tmp_path / "r.pdf"
    summary = _save(runtime, cid, out)
    assert summary.photos == 0 and summary.pages == 1
    assert pdf_text(out).count(t("photos.report.none")) == 2
    assert pdf_images(out) == [[]]


def test_refusals_write_nothing(runtime, tmp_path):
    tmp_path = tmp_path / "reports"
    tmp_path.mkdir()
    own = _case_with_photos(runtime)
    other = _case_with_photos(runtime, grid="G002", by=SUPERVISOR)
    # another grid's case: the grid worker may not export it
    with pytest.raises(UserError) as refused:
        _save(runtime, other, tmp_path / "other.pdf")
    assert refused.value.exit_code == 3
    # the community's supervisor may
    _save(runtime, other, tmp_path / "sup.pdf", SUPERVISOR)
    for bad, key in (
        (tmp_path / "missing" / "r.pdf", "photos.report.no_dir"),
        (tmp_path, "photos.report.out_is_dir"),
    ):
        with pytest.raises(UserError) as refused:
            _save(runtime, own, bad)
        assert refused.value.key == key
    with pytest.raises(UserError) as refused:
        _save(runtime, "no-such-case", tmp_path / "x.pdf")
    assert refused.value.key == "cases.error.not_found"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sup.pdf"]
    exports = runtime.conn.execute("SELECT count(*) FROM audit WHERE action = 'export'")
    assert exports.fetchone()[0] == 1


def test_english_report(runtime, tmp_path):
    from kiosk.core.i18n import set_language

    cid = _case_with_photos(runtime)
    set_language("en")
    try:
        out = tmp_path / "en.pdf"
        _save(runtime, cid, out)
        text = pdf_text(out)
        assert "Before" in text and "After" in text and "Blocked sewer" in text
    finally:
        set_language("zh")


def test_masking_numbers_in_free_text():
    from kiosk.domain.masking import mask_numbers_in_text

    assert mask_numbers_in_text("王 13812345678，23010219800101123X") == (
        "王 138****5678，230102********123X"
    )
    assert mask_numbers_in_text("工单 138123456789012 门牌 1-2-301") == (
        "工单 138123456789012 门牌 1-2-301"
    )
    assert mask_numbers_in_text(None) == ""


# --- the command ------------------------------------------------------------------------------
def _q(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_kiosk_cases_report(demo_db, tmp_path):
    hid = _q(
        demo_db,
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 1",
    )[0][0]
    before = write_phone_jpeg(tmp_path / "IMG_0001.JPG", width=1200, height=900)
    after = write_phone_jpeg(tmp_path / "IMG_0002.JPG", width=900, height=600)

    def kiosk(*args, **kwargs):
        return run_kiosk(*args, "--db", str(demo_db), as_worker=GRID_WORKER, **kwargs)

    out = kiosk(
        "cases", "add", "--household", hid, "--category", "sewer", "--summary", "下水堵",
        "--photo", str(before), "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    cid = json.loads(out.stdout)["id"]
    number = json.loads(out.stdout)["number"]
    out = kiosk("cases", "act", cid, "resolve-on-spot", "--note", "已疏通", "--photo", str(after))
    assert out.returncode == 0, out.stderr

    pdf = tmp_path / "out" / "报告.pdf"
    pdf.parent.mkdir()
    out = kiosk("cases", "report", number, "--pdf", str(pdf), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["number"] == number and doc["photos"] == 2 and doc["pdf"] == str(pdf)
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
    [page] = pdf_images(pdf)
    (left, *_), (right, *_) = sorted(page)
    assert left < right
    assert number in pdf_text(pdf)
    assert _q(demo_db, "SELECT entity_id FROM audit WHERE action = 'export'") == [(cid,)]

    for args, env, needle in (
        (("NO-SUCH-CASE", "--pdf", str(tmp_path / "a.pdf")), {}, "NO-SUCH-CASE"),
        ((number, "--pdf", str(tmp_path / "nowhere" / "a.pdf")), {}, "nowhere"),
        ((number, "--pdf", str(tmp_path / "b.pdf")), {"KIOSK_LABEL_FONT": "/no/font.ttf"}, "font"),
    ):
        out = kiosk("cases", "report", *args, env=env)
        assert out.returncode != 0
        assert needle in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not (tmp_path / "a.pdf").exists() and not (tmp_path / "b.pdf").exists()
    assert len(_q(demo_db, "SELECT 1 FROM audit WHERE action = 'export'")) == 1


# --- the case screen ----------------------------------------------------------------------------
async def test_the_case_screen_saves_the_report_on_r(runtime, tmp_path, monkeypatch):
    from db.workers import worker_by_name
    from kiosk.core.i18n import set_language
    from screens.cases.case_detail import CaseDetailScreen
    from screens.cases.report_file import ReportFileScreen
    from screens.widgets.footer import KioskFooter
    from tests.pilot_helpers import settle, signed_in_app

    tmp_path = tmp_path / "documents"
    tmp_path.mkdir()
    cid = _case_with_photos(runtime)
    number = runtime.conn.execute("SELECT number FROM cases WHERE id = ?", (cid,)).fetchone()[0]
    monkeypatch.setattr("screens.cases.report_file.report_folder", lambda: tmp_path)
    app = signed_in_app(runtime, worker_by_name(runtime.conn, SUPERVISOR))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)
        footer = app.screen.query_one(KioskFooter).render().plain
        assert t("photos.report.ui.save") in footer
        await pilot.press("r")
        await settle(app, pilot)
        assert isinstance(app.screen, ReportFileScreen)
        expected = tmp_path / f"case-{number}.pdf"
        assert app.screen.query_one("#report-file").value == str(expected)
        await pilot.press("enter")
        await settle(app, pilot)
        await app.workers.wait_for_complete()
        await settle(app, pilot)
        assert isinstance(app.screen, CaseDetailScreen)
        assert stat.S_IMODE(expected.stat().st_mode) == 0o600
        assert sum(len(page) for page in pdf_images(expected)) == 4
        notes = " ".join(str(n.message) for n in app._notifications)
        assert str(expected) in notes
        # Esc in the prompt writes nothing
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, CaseDetailScreen)
        assert [p.name for p in tmp_path.iterdir()] == [expected.name]
        # a folder that is not there: said in a notice, nothing written
        await pilot.press("r")
        await settle(app, pilot)
        app.screen.query_one("#report-file").value = str(tmp_path / "nowhere" / "r.pdf")
        await pilot.press("enter")
        await settle(app, pilot)
        await app.workers.wait_for_complete()
        await settle(app, pilot)
        notes = " ".join(str(n.message) for n in app._notifications)
        assert t("photos.report.no_dir", path=str(tmp_path / "nowhere")) in notes
        assert [p.name for p in tmp_path.iterdir()] == [expected.name]
        # the key's description follows the language
        set_language("en")
        try:
            app.screen.refresh_bindings()
            await settle(app, pilot)
            footer = app.screen.query_one(KioskFooter).render().plain
            assert "Report" in footer, footer
        finally:
            set_language("zh")

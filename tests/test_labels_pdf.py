"""Label sheets and case slips on the real command line: every printed code decodes from the
PDF rasterised at 300 dpi, addresses are in the PDF, bad requests write nothing."""

from __future__ import annotations

import json
import os

import pytest

from kiosk.qr.payload import make, parse
from tests.conftest import GRID_WORKER, SUPERVISOR, run_kiosk


@pytest.fixture
def kiosk():
    """``kiosk`` as the demo grid worker, their PIN typed: printing is recorded as theirs."""

    def run(*args, as_worker=GRID_WORKER, **kwargs):  # type: ignore[no-untyped-def]
        return run_kiosk(*args, as_worker=as_worker, **kwargs)

    return run


def decode_pdf(path) -> list[list[str]]:
    """The QR payloads on each page, read back the way a scanner would see a print."""
    import pypdfium2 as pdfium
    import zxingcpp

    pages = []
    doc = pdfium.PdfDocument(str(path))
    try:
        for page in doc:
            image = page.render(scale=300 / 72, grayscale=True).to_pil()
            pages.append(
                [
                    b.text
                    for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
                ]
            )
    finally:
        doc.close()
    return pages


def pdf_text(path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


def _households(conn, n):
    return [r[0] for r in conn.execute("SELECT id FROM households ORDER BY rid DESC LIMIT ?", (n,))]


def _active(conn) -> dict[str, str]:
    return {
        r[0]: make("HH", r[1]).text
        for r in conn.execute(
            "SELECT household_id, code FROM labels WHERE kind = 'HH' AND retired_at IS NULL"
        )
    }


#: The community's supervisor prints for both grids of the demo community.
SUP = SUPERVISOR


def test_one_sheet_every_label_decodes(kiosk, runtime, demo_db, tmp_path):
    hids = _households(runtime.conn, 24)
    out = tmp_path / "sheet.pdf"
    args = ["--db", str(demo_db), "labels", "--out", str(out), "--json"]
    for hid in hids:
        args += ["--household", hid]
    res = kiosk(*args, as_worker=SUP)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["labels"] == 24 and doc["pages"] == 1 and doc["created"] == 24
    assert "24/24" in res.stderr  # progress on the terminal
    pages = decode_pdf(out)
    active = _active(runtime.conn)
    assert sorted(pages[0]) == sorted(active[h] for h in hids)
    text = pdf_text(out)
    row = runtime.conn.execute(
        "SELECT c.name, h.building, h.unit, h.room FROM households h JOIN compounds c"
        " ON c.id = h.compound_id WHERE h.id = ?",
        (hids[0],),
    ).fetchone()
    assert row[0] in text and f"{row[1]}栋{row[2]}单元{row[3]}室" in text
    assert parse(active[hids[0]]).readable.split(":")[1] in text
    # a second run reuses the same labels (nothing new written)
    again = kiosk(*args, as_worker=SUP)
    assert json.loads(again.stdout)["created"] == 0


def test_3x7_layout_and_reprint(kiosk, runtime, demo_db, tmp_path):
    hids = _households(runtime.conn, 22)
    args = ["--db", str(demo_db), "labels", "--layout", "3x7", "--json"]
    for hid in hids:
        args += ["--household", hid]
    first = tmp_path / "a.pdf"
    assert kiosk(*args, "--out", str(first), as_worker=SUP).returncode == 0
    old = _active(runtime.conn)
    second = tmp_path / "b.pdf"
    res = kiosk(*args, "--out", str(second), "--reprint", as_worker=SUP)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["pages"] == 2
    pages = decode_pdf(second)
    assert [len(p) for p in pages] == [21, 1]
    new = _active(runtime.conn)
    assert set(sum(pages, [])) == {new[h] for h in hids}
    assert not set(old.values()) & set(new.values())
    retired = kiosk("--db", str(demo_db), "lookup", old[hids[0]])
    assert retired.returncode == 1 and "已作废" in retired.stderr


def test_grid_and_compound_selection(kiosk, runtime, demo_db, tmp_path):
    conn = runtime.conn
    compound, pinyin, n = conn.execute(
        "SELECT c.name, c.pinyin, count(*) FROM compounds c JOIN households h"
        " ON h.compound_id = c.id GROUP BY c.id ORDER BY count(*) LIMIT 1"
    ).fetchone()
    res = kiosk(
        "--db",
        str(demo_db),
        "labels",
        "--compound",
        pinyin,
        "--out",
        str(tmp_path / "c.pdf"),
        "--json",
        as_worker=SUP,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["labels"] == n
    grid = conn.execute("SELECT code FROM grids LIMIT 1").fetchone()[0]
    total = conn.execute(
        "SELECT count(*) FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code = ?",
        (grid,),
    ).fetchone()[0]
    res = kiosk(
        "--db",
        str(demo_db),
        "labels",
        "--grid",
        grid,
        "--out",
        str(tmp_path / "g.pdf"),
        "--json",
        as_worker=SUP,
    )
    assert res.returncode == 0 and json.loads(res.stdout)["labels"] == total


def test_a_grid_worker_prints_only_their_own_grids_labels(kiosk, runtime, demo_db, tmp_path):
    conn = runtime.conn
    mine = conn.execute(
        "SELECT count(*) FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code = 'G001'"
    ).fetchone()[0]
    res = kiosk("--db", str(demo_db), "labels", "--grid", "G002", "--out", str(tmp_path / "g2.pdf"))
    assert res.returncode == 3 and "G002" in res.stderr and "范围" in res.stderr
    assert not (tmp_path / "g2.pdf").exists()
    res = kiosk("--db", str(demo_db), "labels", "--out", str(tmp_path / "all.pdf"), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["labels"] == mine


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--compound", "没有这个小区"], "没有小区"),
        (["--grid", "G999"], "没有网格"),
        (["--household", "0190-nope"], "没有住户"),
    ],
)
def test_bad_selection_writes_nothing(kiosk, runtime, demo_db, tmp_path, extra, message):
    out = tmp_path / "x.pdf"
    before = runtime.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    res = kiosk("--db", str(demo_db), "labels", "--out", str(out), *extra)
    assert res.returncode == 1 and message in res.stderr and "Traceback" not in res.stderr
    assert not out.exists() and not list(tmp_path.glob(".x.pdf*"))
    assert runtime.conn.execute("SELECT count(*) FROM labels").fetchone()[0] == 0
    assert runtime.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == before


def test_empty_database_means_no_pdf(kiosk, empty_runtime, tmp_path):
    db = empty_runtime.db.path
    res = kiosk("--db", str(db), "labels", "--out", str(tmp_path / "e.pdf"), as_worker=None)
    assert res.returncode == 1 and "没有符合条件的住户" in res.stderr
    assert not (tmp_path / "e.pdf").exists()


def test_bad_output_and_font(kiosk, demo_db, tmp_path):
    res = kiosk("--db", str(demo_db), "labels", "--out", str(tmp_path / "no" / "x.pdf"))
    assert res.returncode == 1 and "不存在" in res.stderr
    res = kiosk(
        "--db",
        str(demo_db),
        "labels",
        "--out",
        str(tmp_path / "x.pdf"),
        env={"KIOSK_LABEL_FONT": str(tmp_path / "none.ttf")},
    )
    assert res.returncode == 1 and "label_font" in res.stderr
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_text("not a font")
    res = kiosk(
        "--db",
        str(demo_db),
        "labels",
        "--out",
        str(tmp_path / "x.pdf"),
        env={"KIOSK_LABEL_FONT": str(not_a_font)},
    )
    assert res.returncode == 1 and "不能用于标签" in res.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_no_cjk_font_anywhere_is_a_clear_message(monkeypatch):
    from kiosk.core.errors import UserError
    from kiosk.qr import fonts

    monkeypatch.setattr(fonts, "KNOWN_FONTS", ())
    monkeypatch.setattr(fonts, "_fontconfig", lambda: [])
    fonts.find_cjk_font.cache_clear()
    try:
        with pytest.raises(UserError) as err:
            fonts.find_cjk_font(None)
        assert err.value.key == "qr.font.missing"
        assert "fonts-wqy-microhei" in err.value.message()
    finally:
        fonts.find_cjk_font.cache_clear()


def test_system_cjk_font_is_found():
    from kiosk.qr.fonts import find_cjk_font

    font = find_cjk_font(None)
    assert os.path.isfile(font.path)


def test_case_slip_decodes_and_opens_the_case(kiosk, runtime, demo_db, tmp_path):
    conn = runtime.conn
    case_id, number, category, worker = conn.execute(
        "SELECT c.id, c.number, c.category, w.name FROM cases c JOIN workers w"
        " ON w.id = c.worker_id LIMIT 1"
    ).fetchone()
    out = tmp_path / "slip.pdf"
    res = kiosk("--db", str(demo_db), "slip", number, "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    code = json.loads(res.stdout)["code"]
    [[payload]] = decode_pdf(out)
    assert payload.startswith("CS1:") and parse(payload) == parse(code)
    text = pdf_text(out)
    from kiosk.domain.categories import active_categories

    assert number in text and worker in text and active_categories().label(category) in text
    looked = kiosk("--db", str(demo_db), "lookup", payload, "--json")
    assert looked.returncode == 0, looked.stderr
    doc = json.loads(looked.stdout)
    assert doc["kind"] == "case" and doc["case"]["id"] == case_id
    # printed again: the same code, the resident's first slip stays valid
    res2 = kiosk("--db", str(demo_db), "slip", case_id, "--out", str(tmp_path / "s2.pdf"), "--json")
    assert json.loads(res2.stdout)["code"] == code
    missing = kiosk(
        "--db", str(demo_db), "slip", "2020-XXXX-000000", "--out", str(tmp_path / "s3.pdf")
    )
    assert missing.returncode == 1 and "没有事项" in missing.stderr

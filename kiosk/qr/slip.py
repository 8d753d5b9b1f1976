"""The case slip a resident keeps: case number, category, date, the worker's name and the
``CS1:`` code, so the resident can ask about the case and a scan opens it. No resident's
personal data is printed on it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kiosk.core.i18n import t
from kiosk.qr.fonts import CjkFont
from kiosk.qr.labels_pdf import draw_qr, new_pdf
from kiosk.qr.payload import Payload

#: A6 portrait: fits a resident's pocket, four to an A4 page if printed that way.
SLIP_SIZE = (105.0, 148.0)


@dataclass(frozen=True)
class SlipData:
    case_id: str
    number: str
    category: str  # display name
    date: str  # YYYY-MM-DD
    worker: str
    payload: Payload


def slip_data(conn: sqlite3.Connection, case_id: str, payload: Payload) -> SlipData | None:
    """What the slip shows, from the case's registration (None for an unknown case)."""
    from kiosk.domain.categories import active_categories

    row = conn.execute(
        "SELECT c.number, c.category, c.registered_at, w.name AS worker FROM cases c"
        " LEFT JOIN workers w ON w.id = c.worker_id WHERE c.id = ?",
        (case_id,),
    ).fetchone()
    if row is None:
        return None
    return SlipData(
        case_id,
        row["number"],
        active_categories().label(row["category"]),
        (row["registered_at"] or "")[:10],
        row["worker"] or "—",
        payload,
    )


def render_slip(data: SlipData, out: str | Path, font: CjkFont) -> None:
    from fpdf import FPDF  # noqa: F401 - imported by new_pdf; here for the type checker

    pdf = new_pdf(font)
    pdf.set_title(t("qr.slip.title"))
    width, height = SLIP_SIZE
    pdf.add_page(format=SLIP_SIZE)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("cjk", size=15)
    pdf.set_xy(8, 8)
    pdf.cell(width - 16, 8, t("qr.slip.title"), align="C")
    rows = [
        (t("qr.slip.number"), data.number),
        (t("qr.slip.category"), data.category),
        (t("qr.slip.date"), data.date),
        (t("qr.slip.worker"), data.worker),
    ]
    y = 22.0
    for label, value in rows:
        pdf.set_font("cjk", size=10)
        pdf.set_xy(10, y)
        pdf.cell(28, 7, label)
        pdf.set_font("cjk", size=12)
        pdf.set_xy(38, y)
        pdf.cell(width - 48, 7, value)
        y += 8
    module = 1.5
    side = (21 + 8) * module
    draw_qr(pdf, data.payload.text, (width - side) / 2, y + 2, module)
    y += side + 3
    pdf.set_font("Courier", "B", 12)
    pdf.set_xy(8, y)
    pdf.cell(width - 16, 6, data.payload.readable, align="C")
    pdf.set_font("cjk", size=9)
    pdf.set_xy(10, y + 8)
    pdf.multi_cell(width - 20, 5, t("qr.slip.hint"), align="C")
    pdf.output(str(out))

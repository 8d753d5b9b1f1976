"""A4 label sheets: each label carries the QR code (with its quiet zone), the address
(compound, then building-unit-room) in a CJK font, and the readable code in groups of four.

The QR code is drawn as vector rectangles (runs of dark modules, merged down the rows), so it is
sharp at any printer resolution and a sheet of 24 codes rasterised at 300 dpi decodes in full.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kiosk.core.i18n import t
from kiosk.qr.encode import QUIET_ZONE, module_rects, qr_matrix
from kiosk.qr.fonts import CjkFont
from kiosk.qr.payload import Payload

A4 = (210.0, 297.0)


@dataclass(frozen=True)
class Layout:
    """A sheet of ``cols`` x ``rows`` labels of ``width`` x ``height`` mm; ``left``/``top`` is
    the sheet margin of the first label."""

    cols: int
    rows: int
    width: float
    height: float
    left: float
    top: float

    @property
    def per_page(self) -> int:
        return self.cols * self.rows


#: The two common A4 label sheets: 24 labels of 70x37 mm and 21 labels of 70x42.3 mm.
LAYOUTS = {
    "3x8": Layout(3, 8, 70.0, 37.0, 0.0, 0.5),
    "3x7": Layout(3, 7, 70.0, 42.3, 0.0, 0.45),
}


@dataclass(frozen=True)
class LabelItem:
    payload: Payload
    compound: str
    building: str
    unit: str
    room: str


Progress = Callable[[int, int], None]


def new_pdf(font: CjkFont):
    from fpdf import FPDF

    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_creator("Grid Kiosk")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fontTools chatter about unusual tables
        pdf.add_font("cjk", fname=font.path, collection_font_number=font.index)
    return pdf


def draw_qr(pdf, text: str, x: float, y: float, module: float) -> float:
    """Draw the code for ``text`` with its top-left quiet-zone corner at (x, y); returns the
    side of the square drawn (quiet zone included)."""
    matrix = qr_matrix(text)
    ox, oy = x + QUIET_ZONE * module, y + QUIET_ZONE * module
    pdf.set_fill_color(0, 0, 0)
    rects = module_rects(matrix)
    raw = getattr(pdf, "_out", None)
    if raw is None:  # pragma: no cover - an fpdf2 without its content-stream writer
        for mx, my, mw, mh in rects:
            pdf.rect(ox + mx * module, oy + my * module, mw * module, mh * module, style="F")
    else:
        # One fill of one path of rectangles: the same operators fpdf2's rect() writes, without
        # its per-call checks (they were 40% of a 1,000-label sheet's time).
        k, page_h = pdf.k, pdf.h
        ops = [
            f"{(ox + mx * module) * k:.2f} {(page_h - oy - my * module) * k:.2f} "
            f"{mw * module * k:.2f} {-mh * module * k:.2f} re"
            for mx, my, mw, mh in rects
        ]
        raw(" ".join(ops) + " f")
    return (len(matrix) + 2 * QUIET_ZONE) * module


def _fit(pdf, text: str, family: str, size: float, width: float) -> None:
    pdf.set_font(family, size=size)
    while size > 5 and pdf.get_string_width(text) > width:
        size -= 0.5
        pdf.set_font(family, size=size)


def draw_label(pdf, item: LabelItem, x: float, y: float, layout: Layout) -> None:
    pad = 2.0
    modules = 21 + 2 * QUIET_ZONE
    module = min(1.2, (layout.height - 2 * pad) / modules)
    side = draw_qr(
        pdf, item.payload.text, x + pad, y + (layout.height - modules * module) / 2, module
    )
    tx = x + pad + side + 1.0
    tw = layout.width - (tx - x) - pad
    pdf.set_text_color(0, 0, 0)
    top = y + layout.height / 2 - 10
    _fit(pdf, item.compound, "cjk", 10, tw)
    pdf.set_xy(tx, top)
    pdf.cell(tw, 5, item.compound)
    line = t("qr.label.address_line", building=item.building, unit=item.unit, room=item.room)
    _fit(pdf, line, "cjk", 10, tw)
    pdf.set_xy(tx, top + 5.5)
    pdf.cell(tw, 5, line)
    readable = item.payload.readable
    prefix, groups = readable.split(":", 1)
    pdf.set_font("Courier", "B", 8)
    pdf.set_xy(tx, top + 13)
    pdf.cell(tw, 3.5, prefix + ":")
    _fit(pdf, groups, "Courier", 10, tw)
    pdf.set_font("Courier", "B", pdf.font_size_pt)
    pdf.set_xy(tx, top + 16.5)
    pdf.cell(tw, 4.5, groups)


def render_labels(
    items: Sequence[LabelItem],
    out: str | Path,
    font: CjkFont,
    *,
    layout: str = "3x8",
    progress: Progress | None = None,
) -> int:
    """Write the sheet(s) to ``out``; returns the number of pages."""
    spec = LAYOUTS[layout]
    pdf = new_pdf(font)
    pdf.set_title(t("qr.label.pdf_title"))
    total = len(items)
    step = max(1, total // 200)
    for i, item in enumerate(items):
        slot = i % spec.per_page
        if slot == 0:
            pdf.add_page()
        col, row = slot % spec.cols, slot // spec.cols
        draw_label(pdf, item, spec.left + col * spec.width, spec.top + row * spec.height, spec)
        if progress and ((i + 1) % step == 0 or i + 1 == total):
            progress(i + 1, total)
    pdf.output(str(out))
    return pdf.pages_count

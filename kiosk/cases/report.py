"""The case report: one case as an A4 PDF a supervisor can file or print (docs/photos.md):
what was registered and where it stands, the timeline of steps, and the
photos, those of the registration (整改前, before) in the left column and those of the
resolution (整改后, after) in the right, side by side; the other steps' photos below.

What it shows is what the case screen shows (addresses as there, worker names as there), with
phone and ID numbers typed into free text masked as lists mask them. The pictures are decoded
and re-encoded here, so the PDF carries their pixels and nothing else whatever a picture that
arrived from elsewhere holds. The PDF's title names no one. The file is made private (0600)
beside its target and renamed into place after the export is audited: a failure leaves
neither a half-written report nor an unaudited one.

The CJK font comes from the caller (kiosk/qr/fonts.py ``font_for``, which says what to
install when there is none): this package sits beside kiosk.qr, not above it.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from db.case_fold import EscalationRules
from db.cases import CaseDetail, get_case
from db.context import WriteContext
from db.errors import UserError
from db.photos import Photo, blob
from kiosk.core.i18n import t, when
from kiosk.domain.masking import mask_numbers_in_text
from kiosk.domain.present import address_of

if TYPE_CHECKING:
    from db.workers import Worker
    from kiosk.domain.categories import Categories

T = TypeVar("T")
Writer = Callable[[Callable[[WriteContext], T]], T]

#: the steps whose photos show the problem (整改前) and those that show it fixed (整改后)
BEFORE_STEPS = frozenset({"register"})
AFTER_STEPS = frozenset({"resolve", "resolve_on_spot"})

A4 = (210.0, 297.0)
MARGIN = 15.0
GAP = 8.0  # between the two photo columns
PHOTO_MAX_HEIGHT = 70.0  # mm: a row of photos and their captions, two to a page
PLACEHOLDER_HEIGHT = 40.0
CAPTION = 5.0
#: the longest side of a picture as embedded: ~340 dpi across a column, a fraction of the bytes
EMBED_LONG_EDGE = 1200
EMBED_QUALITY = 80


class Font(Protocol):
    """A TrueType font with Chinese glyphs (kiosk.qr.fonts.CjkFont)."""

    @property
    def path(self) -> str: ...

    @property
    def index(self) -> int: ...


@dataclass(frozen=True)
class ReportPhoto:
    """One photo as the report shows it: ``jpeg`` None draws a box saying ``missing``."""

    caption: str
    jpeg: bytes | None
    width: int  # pixels of ``jpeg`` (or of the record, for the box's proportions)
    height: int
    missing: str = ""


@dataclass(frozen=True)
class ReportData:
    case_id: str
    number: str
    fields: list[tuple[str, str]]  # (label, value) of the header, in order
    steps: list[tuple[str, str, str, str]]  # (when, step, who, note)
    before: list[ReportPhoto]
    after: list[ReportPhoto]
    other: list[ReportPhoto]
    grid: str | None
    household_id: str | None  # the first household, for the audit entry

    @property
    def photo_count(self) -> int:
        return len(self.before) + len(self.after) + len(self.other)


@dataclass(frozen=True)
class ReportSummary:
    path: str
    number: str
    pages: int
    photos: int


# --- what the report shows ------------------------------------------------------------------
def clean_jpeg(data: bytes) -> tuple[bytes, int, int] | None:
    """The picture's pixels alone, re-encoded (at most :data:`EMBED_LONG_EDGE` on its longer
    side), and its size; None when it cannot be decoded."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (EMBED_LONG_EDGE, EMBED_LONG_EDGE))
            rgb = img.convert("RGB")
    except Exception:  # noqa: BLE001 - a damaged picture gets a box, not a failed report
        return None
    rgb.thumbnail((EMBED_LONG_EDGE, EMBED_LONG_EDGE), Image.Resampling.LANCZOS)
    # a new image that never had metadata (as kiosk/photos/prepare.py stores them)
    clean = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=EMBED_QUALITY, optimize=True)
    return out.getvalue(), clean.width, clean.height


def _report_photo(conn: sqlite3.Connection, p: Photo, caption: str) -> ReportPhoto:
    if p.erased:
        return ReportPhoto(caption, None, 4, 3, t("photos.report.erased"))
    data = blob(conn, p.sha256) if p.here else None
    if data is None:
        return ReportPhoto(caption, None, p.width or 4, p.height or 3, t("photos.report.not_here"))
    cleaned = clean_jpeg(data)
    if cleaned is None:
        return ReportPhoto(caption, None, p.width or 4, p.height or 3, t("photos.report.damaged"))
    jpeg, width, height = cleaned
    return ReportPhoto(caption, jpeg, width, height)


def report_data(
    conn: sqlite3.Connection,
    case_id: str,
    *,
    categories: Categories,
    rules: EscalationRules | None = None,
) -> ReportData | None:
    """What the report of ``case_id`` shows (None for an unknown case)."""
    from kiosk.cases.events import describe_event

    detail: CaseDetail | None = get_case(conn, case_id, rules=rules)
    if detail is None:
        return None
    s = detail.state
    status = t(f"cases.status.{s.status}")
    if detail.escalation_level:
        status += " · " + t(f"cases.level.{detail.escalation_level}")
    if detail.overdue:
        status += " · " + t("cases.ui.overdue")
    if s.rating:
        status += " · " + t(f"cases.rating.{s.rating}")
    registrar = next((e.by_name for e in detail.events if e.type == "register"), None)
    registered = detail.registered_at[:10]
    addresses = [
        address_of(h.compound, h.building, h.unit, h.room, forgotten=h.forgotten)
        for h in detail.households
    ]
    fields = [
        (t("cases.col.number"), detail.number),
        (t("cases.col.category"), categories.label(detail.category)),
        (t("cases.col.status"), status),
        (t("cases.col.department"), " · ".join(x for x in (s.department, s.person) if x) or "—"),
        (t("cases.col.due"), s.due or "—"),
        (
            t("cases.col.registered"),
            t("photos.report.registered", date=registered, name=registrar)
            if registrar
            else registered,
        ),
        (t("ledger.col.grid"), detail.grid_code or "—"),
        (t("cases.col.households"), "、".join(addresses) or "—"),
        (t("ledger.col.raised_by"), mask_numbers_in_text(detail.raised_by) or "—"),
        (t("cases.col.summary"), mask_numbers_in_text(detail.summary)),
    ]
    steps = []
    for e in detail.events:
        note = mask_numbers_in_text(describe_event(e.data, categories))
        if e.invalid:
            note += "  ⚠ " + t("ledger.invalid", rule=t(e.invalid, status=""))
        steps.append((when(e.at), t(f"cases.event.{e.type}"), e.by_name or "", note))
    at = {e.id: e.at for e in detail.events}
    before: list[ReportPhoto] = []
    after: list[ReportPhoto] = []
    other: list[ReportPhoto] = []
    for p in detail.photos:
        step = t(f"cases.event.{p.event_type}") if p.event_type else ""
        caption = t("photos.report.caption", step=step, date=when(at.get(p.event_id, p.added_at)))
        photo = _report_photo(conn, p, caption)
        if p.event_type in BEFORE_STEPS:
            before.append(photo)
        elif p.event_type in AFTER_STEPS:
            after.append(photo)
        else:
            other.append(photo)
    return ReportData(
        case_id=detail.id,
        number=detail.number,
        fields=fields,
        steps=steps,
        before=before,
        after=after,
        other=other,
        grid=detail.grid_code,
        household_id=detail.households[0].id if detail.households else None,
    )


# --- drawing ----------------------------------------------------------------------------------
def _new_pdf(font: Font, footer: str) -> Any:
    from fpdf import FPDF

    class ReportPDF(FPDF):
        def footer(self) -> None:
            self.set_y(-10)
            self.set_font("cjk", size=7)
            self.set_text_color(110, 110, 110)
            self.cell(0, 4, footer, align="L")
            self.set_x(MARGIN)
            self.cell(0, 4, t("photos.report.page", page=self.page_no()), align="R")
            self.set_text_color(0, 0, 0)

    pdf = ReportPDF(unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    # Metadata: a generic title and the program; never a name, an address or a case number.
    pdf.set_title(t("photos.report.pdf_title"))
    pdf.set_creator("Grid Kiosk")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fontTools chatter about unusual tables
        pdf.add_font("cjk", fname=font.path, collection_font_number=font.index)
    return pdf


def _heading(pdf: Any, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(160, 160, 160)
    pdf.line(MARGIN, pdf.get_y(), A4[0] - MARGIN, pdf.get_y())
    pdf.ln(1.5)


def _fields(pdf: Any, fields: Sequence[tuple[str, str]]) -> None:
    label_w = 24.0
    for label, value in fields:
        pdf.set_font("cjk", size=9)
        pdf.set_text_color(90, 90, 90)
        y = pdf.get_y()
        pdf.cell(label_w, 5.5, label)
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("cjk", size=10)
        pdf.set_xy(MARGIN + label_w, y)
        pdf.multi_cell(0, 5.5, value, new_x="LMARGIN", new_y="NEXT")


def _steps(pdf: Any, steps: Sequence[tuple[str, str, str, str]]) -> None:
    from fpdf.fonts import FontFace

    pdf.set_font("cjk", size=8.5)
    pdf.set_draw_color(190, 190, 190)
    with pdf.table(
        col_widths=(34, 22, 24, 100),
        headings_style=FontFace(fill_color=(235, 235, 235)),
        line_height=4.8,
        text_align="LEFT",
        first_row_as_headings=True,
    ) as table:
        table.row(
            (t("ledger.col.at"), t("ledger.col.step"), t("ledger.col.by"), t("ledger.col.note"))
        )
        for row in steps:
            table.row(row)


def _box(photo: ReportPhoto, width: float) -> tuple[float, float]:
    """The size the photo is drawn at, fitted to ``width`` and :data:`PHOTO_MAX_HEIGHT`."""
    if photo.jpeg is None:
        return width, PLACEHOLDER_HEIGHT
    w = width
    h = w * photo.height / max(1, photo.width)
    if h > PHOTO_MAX_HEIGHT:
        h = PHOTO_MAX_HEIGHT
        w = h * photo.width / max(1, photo.height)
    return w, h


def _draw_photo(pdf: Any, photo: ReportPhoto, x: float, y: float, width: float) -> None:
    w, h = _box(photo, width)
    if photo.jpeg is None:
        pdf.set_draw_color(150, 150, 150)
        pdf.set_fill_color(240, 240, 240)
        with pdf.local_context(dash_pattern={"dash": 1.5, "gap": 1.0}):
            pdf.rect(x, y, w, h, style="DF")
        pdf.set_font("cjk", size=9)
        pdf.set_text_color(90, 90, 90)
        pdf.set_xy(x + 2, y + h / 2 - 5)
        pdf.multi_cell(w - 4, 5, photo.missing, align="C")
        pdf.set_text_color(0, 0, 0)
    else:
        pdf.image(io.BytesIO(photo.jpeg), x=x + (width - w) / 2, y=y, w=w, h=h)
    pdf.set_font("cjk", size=8)
    pdf.set_xy(x, y + h + 0.5)
    pdf.cell(width, CAPTION - 0.5, photo.caption, align="C")


def _photo_rows(
    pdf: Any, columns: Sequence[Sequence[ReportPhoto]], heads: Sequence[str] | None
) -> None:
    """Photos in two columns, row by row: ``columns`` (left, right) side by side, or one list
    filling both columns in turn."""
    col_w = (A4[0] - 2 * MARGIN - GAP) / 2
    xs = (MARGIN, MARGIN + col_w + GAP)
    bottom = A4[1] - MARGIN
    if len(columns) == 2:
        left, right = columns
        rows = [
            (left[i] if i < len(left) else None, right[i] if i < len(right) else None)
            for i in range(max(len(left), len(right)))
        ]
    else:
        (single,) = columns
        rows = [
            (single[i], single[i + 1] if i + 1 < len(single) else None)
            for i in range(0, len(single), 2)
        ]

    def row_height(pair: tuple[ReportPhoto | None, ReportPhoto | None]) -> float:
        return max(_box(p, col_w)[1] for p in pair if p is not None) + CAPTION + 3

    if heads:
        # the columns' headings stay with their first row
        if rows and pdf.get_y() + 7 + row_height(rows[0]) > bottom:
            pdf.add_page()
        pdf.set_font("cjk", size=11)
        y = pdf.get_y()
        for x, head in zip(xs, heads, strict=True):
            pdf.set_xy(x, y)
            pdf.cell(col_w, 6, head, align="C")
        pdf.set_y(y + 7)
    for pair in rows:
        height = row_height(pair)
        if pdf.get_y() + height > bottom:
            pdf.add_page()
        y = pdf.get_y()
        for x, photo in zip(xs, pair, strict=True):
            if photo is not None:
                _draw_photo(pdf, photo, x, y, col_w)
        pdf.set_xy(MARGIN, y + height)
    pdf.set_x(MARGIN)


def render_report(data: ReportData, font: Font, *, made_by: str = "") -> tuple[bytes, int]:
    """The PDF of ``data``: its bytes and its number of pages."""
    made = t(
        "photos.report.made",
        at=when(datetime.now().astimezone().isoformat(timespec="minutes")),
        name=made_by or "—",
    )
    pdf = _new_pdf(font, made)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 9, t("photos.report.title", number=data.number), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _fields(pdf, data.fields)
    _heading(pdf, t("photos.report.timeline"))
    _steps(pdf, data.steps)
    _heading(pdf, t("photos.report.photos"))
    before = data.before or [ReportPhoto("", None, 4, 3, t("photos.report.none"))]
    after = data.after or [ReportPhoto("", None, 4, 3, t("photos.report.none"))]
    _photo_rows(pdf, (before, after), (t("photos.report.before"), t("photos.report.after")))
    if data.other:
        _heading(pdf, t("photos.report.other"))
        _photo_rows(pdf, (data.other,), None)
    return bytes(pdf.output()), pdf.pages_count


# --- writing the file ---------------------------------------------------------------------------
def check_output(out: str | Path) -> Path:
    """``out`` as a path a report can be written to, or :class:`UserError` saying why not."""
    path = Path(out).expanduser()
    if path.is_dir():
        raise UserError("photos.report.out_is_dir", exit_code=2, path=str(path))
    if not path.parent.is_dir():
        raise UserError("photos.report.no_dir", exit_code=2, path=str(path.parent))
    if not os.access(path.parent, os.W_OK):
        raise UserError("photos.report.no_write", exit_code=2, path=str(path))
    return path


def write_private(path: Path, data: bytes, before_publish: Callable[[], object]) -> None:
    """Write ``data`` to ``path``, readable by its owner only (0600), atomically: into a
    temporary file beside it, synced, ``before_publish()`` (the audit), then renamed."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError:
        raise UserError("photos.report.no_write", exit_code=2, path=str(path)) from None
    try:
        try:
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), 0o600)  # mkstemp's mode already; said, not assumed
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            raise UserError("photos.report.no_write", exit_code=2, path=str(path)) from None
        before_publish()
        try:
            os.replace(tmp, path)
        except OSError:
            raise UserError("photos.report.no_write", exit_code=2, path=str(path)) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_report(
    conn: sqlite3.Connection,
    write: Writer[Any],
    worker: Worker | None,
    case_id: str,
    out: str | Path,
    font: Font,
    *,
    categories: Categories,
    rules: EscalationRules | None = None,
) -> ReportSummary:
    """The report of ``case_id`` into ``out`` as ``worker``, who must be allowed a (masked)
    export of the case's grid (kiosk/security/roles.py ``export.masked``); audited as an
    export of the case. ``conn`` reads; ``write(fn)`` runs ``fn(ctx)`` in one transaction."""
    from kiosk.security.roles import require_on_case

    path = check_output(out)
    require_on_case(worker, "export.masked", conn, case_id)
    data = report_data(conn, case_id, categories=categories, rules=rules)
    if data is None:
        raise UserError("cases.error.not_found", exit_code=2, id=case_id[:40])
    pdf, pages = render_report(data, font, made_by=worker.name if worker else "")

    def audit(ctx: WriteContext) -> None:
        # The report shows addresses and worker names, and photos; phone and ID numbers masked.
        ctx.audit(
            "export",
            "case",
            data.case_id,
            household_id=data.household_id,
            detail={
                "format": "pdf",
                "report": True,
                "rows": 1,
                "photos": data.photo_count,
                "masked": True,
                "grids": [data.grid] if data.grid else [],
            },
        )

    write_private(path, pdf, lambda: write(audit))
    return ReportSummary(str(path), data.number, pages, data.photo_count)

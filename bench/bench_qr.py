"""QR benchmarks, each with a baseline measured in the same run.

- 1,000 labels to an A4 PDF (budget 5 s): choosing the households, planning their labels,
  drawing the sheets and writing the labels (rolled back: the cached database is shared).
  Baseline: the same 1,000 addresses and codes written as plain text cells with the same
  font and layout (no QR). Then EVERY label is checked: the PDF is rasterised at 300 dpi
  (pypdfium2) and decoded with zxing-cpp; all 1,000 payloads must come back.
- From a scan's Enter to the household screen showing its open cases, on the 1M-household
  database (p95 budget 50 ms), measured inside the app under Pilot: the clock starts when the
  Enter reaches the scanner hook and stops when the first frame of the household screen
  holding that household and its open cases (``HouseholdScreen.view``, the cases panel's
  household) is handed to the terminal driver. Baseline: the same households opened without
  a scan (``screens.households.household.open_household``: the same read and screen, no label lookup),
  timed to the same frame. Pilot types slower than a real scanner on a busy machine, so the
  scanner's key gap is widened for the run: every sample is a scan. Half the scans are of
  households with unfinished cases, half of random households. The database file is read
  first, and again every ``WARM_EVERY`` households (outside the timed windows), so the
  samples see it in the OS page cache as on a laptop in use: the shared machine's page
  cache holds about 3 GB for everyone and keeps evicting the 2 GB file, and a scan that
  finds its pages gone waits on the disk (15-40 ms for one household read cold, hundreds of
  milliseconds while other work is using the disk).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
from pathlib import Path

from bench.common import MILLION, idle_and_busy, million_db, percentile, report, warm_os_cache

LABELS = int(os.environ.get("KIOSK_BENCH_LABELS", "1000"))
SCANS = int(os.environ.get("KIOSK_BENCH_SCANS", "200"))
WARM_EVERY = 25


def _sample_households(conn, n: int, seed: int = 5) -> list[str]:
    top = conn.execute("SELECT max(rid) FROM households").fetchone()[0]
    rng = random.Random(seed)
    rids = rng.sample(range(1, top + 1), min(n * 2, top))
    ids: list[str] = []
    for i in range(0, len(rids), 500):
        chunk = rids[i : i + 500]
        ids += [
            r[0]
            for r in conn.execute(
                f"SELECT id FROM households WHERE rid IN ({','.join('?' * len(chunk))})", chunk
            )
        ]
    return ids[:n]


def _plain_sheet(rows, font, out: str) -> None:
    """Baseline: the same text in the same places, without the QR codes."""
    from kiosk.qr.labels_pdf import LAYOUTS, new_pdf

    spec = LAYOUTS["3x8"]
    pdf = new_pdf(font)
    for i, (compound, line, code) in enumerate(rows):
        slot = i % spec.per_page
        if slot == 0:
            pdf.add_page()
        x = spec.left + (slot % spec.cols) * spec.width + 33
        y = spec.top + (slot // spec.cols) * spec.height + 8
        pdf.set_font("cjk", size=10)
        pdf.set_xy(x, y)
        pdf.cell(35, 5, compound)
        pdf.set_xy(x, y + 5.5)
        pdf.cell(35, 5, line)
        pdf.set_font("Courier", "B", 9)
        pdf.set_xy(x, y + 15)
        pdf.cell(35, 4, code)
    pdf.output(out)


def _decode_all(path: str) -> list[str]:
    import pypdfium2 as pdfium
    import zxingcpp

    found: list[str] = []
    doc = pdfium.PdfDocument(path)
    try:
        for page in doc:
            image = page.render(scale=300 / 72, grayscale=True).to_pil()
            found += [
                b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
            ]
    finally:
        doc.close()
    return found


def bench_labels_pdf(db: Path) -> bool:
    from kiosk.core.i18n import t
    from kiosk.qr.fonts import font_for
    from kiosk.qr.printing import Selection, print_labels
    from kiosk.runtime import load, open_runtime

    runtime = open_runtime(load(db=str(db)))
    conn = runtime.conn
    # a sheet for 1,000 households of every grid: the office's print run, not one grid
    # worker's (whose scope guard refuses other grids; it is not what is measured here)
    runtime.ctx.guard = None
    font = font_for(runtime.settings)
    hids = _sample_households(conn, LABELS)

    def write_then_undo(fn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            return fn(runtime.ctx)
        finally:
            conn.execute("ROLLBACK")

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "labels.pdf")
        t0 = time.perf_counter()
        summary = print_labels(conn, write_then_undo, Selection(household_ids=hids), out, font)
        ours = time.perf_counter() - t0
        rows = [
            (
                r["compound"],
                t("qr.label.address_line", building=r["building"], unit=r["unit"], room=r["room"]),
                p,
            )
            for r, p in zip(
                conn.execute(
                    "SELECT c.name AS compound, h.building, h.unit, h.room FROM households h"
                    " JOIN compounds c ON c.id = h.compound_id WHERE h.id IN"
                    " (SELECT value FROM json_each(?))",
                    (json.dumps(hids),),
                ),
                summary.payloads,
                strict=False,
            )
        ]
        t0 = time.perf_counter()
        _plain_sheet(rows, font, os.path.join(tmp, "plain.pdf"))
        base = time.perf_counter() - t0
        print(
            f"  {summary.labels} labels, {summary.pages} pages, {os.path.getsize(out) // 1024} KiB",
            flush=True,
        )
        ok = report(f"{summary.labels} labels to PDF", ours, "s", budget=5.0, baseline=base)
        t0 = time.perf_counter()
        decoded = _decode_all(out)
        took = time.perf_counter() - t0
    runtime.close()
    expected = set(summary.payloads)
    got = set(decoded)
    missing = len(expected - got)
    print(
        f"  rasterised at 300 dpi and decoded in {took:.1f} s: {len(got & expected)} of "
        f"{len(expected)} labels read back, {missing} missing, {len(got - expected)} stray",
        flush=True,
    )
    ok &= report("labels that do not decode", float(missing), "labels", budget=0.0)
    return ok and len(decoded) == len(expected)


async def _scan_samples(db: Path, hids: list[str]) -> tuple[list[float], list[float]]:
    from db.connection import transaction
    from db.labels import ensure_household_label
    from kiosk.app.scanner import ScanAnywhere
    from kiosk.app.shell import KioskApp  # noqa: I001 - first: it sets the frame rate before Textual loads
    from kiosk.qr.payload import make
    from kiosk.runtime import load, open_runtime
    from screens.cases.case_widgets import HouseholdCases
    from screens.households.household import HouseholdScreen, open_household

    runtime = open_runtime(load(db=str(db)))
    conn = runtime.conn
    # The labels were printed at the office for households of every grid: setting the
    # scene, not a grid worker's writes (their scope guard is not what is measured here).
    runtime.ctx.guard = None
    made: list[str] = []
    with transaction(conn):
        payloads = []
        for hid in hids:
            existing = conn.execute(
                "SELECT 1 FROM labels WHERE household_id = ?", (hid,)
            ).fetchone()
            label = ensure_household_label(runtime.ctx, hid)
            if existing is None:
                made.append(label.id)
            payloads.append(make("HH", label.code).text)
    runtime.settings.scan_key_gap_ms = 60_000

    class Clock:
        start = 0.0
        armed = False
        expect = ""
        samples: list[float] = []

    from textual.app import App

    original_display = App._display

    def timed_display(app_, screen, renderable):  # type: ignore[no-untyped-def]
        # The clock stops on the first frame handed to the terminal driver that is the
        # household screen with this household and its open cases in its widgets (both are
        # put in by HouseholdScreen.show, before that frame is rendered).
        original_display(app_, screen, renderable)
        now = time.perf_counter()
        if (
            Clock.armed
            and renderable is not None
            and isinstance(screen, HouseholdScreen)
            and screen.view is not None
            and screen.view.household_id == Clock.expect
            and screen.query_one(HouseholdCases).household_id == Clock.expect
        ):
            Clock.armed = False
            Clock.samples.append((now - Clock.start) * 1000)

    App._display = timed_display  # type: ignore[method-assign]

    original_intercept = ScanAnywhere.intercept

    async def timed_intercept(self, event, **kwargs):  # type: ignore[no-untyped-def]
        if getattr(event, "key", None) == "enter" and Clock.armed and not event.is_forwarded:
            Clock.start = time.perf_counter()
        return await original_intercept(self, event, **kwargs)

    ScanAnywhere.intercept = timed_intercept  # type: ignore[method-assign]
    app = KioskApp(runtime, signed_in=runtime.worker)
    ours: list[float] = []
    base: list[float] = []
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            # Scans go through the households in order, the baseline backwards: every sample
            # opens another household than the one before it (the screen is reused, and
            # showing the household it already shows would be cheaper). Which goes first
            # alternates, so neither profits from the other's warm cache.
            for i, payload in enumerate(payloads):
                if i % WARM_EVERY == 0:
                    warm_os_cache(db)  # outside the timed windows (see the docstring)
                for kind in ("scan", "open") if i % 2 == 0 else ("open", "scan"):
                    Clock.expect = hids[i] if kind == "scan" else hids[-1 - i]
                    Clock.armed = True
                    if kind == "scan":
                        await pilot.press(*payload, "enter")
                    else:
                        Clock.start = time.perf_counter()
                        open_household(app, Clock.expect)
                    await _settle(app, pilot)
                    if Clock.samples:
                        (ours if kind == "scan" else base).append(Clock.samples.pop())
                    Clock.armed = False
                    await app.pop_screen()
                    await _settle(app, pilot)
    finally:
        App._display = original_display  # type: ignore[method-assign]
        ScanAnywhere.intercept = original_intercept  # type: ignore[method-assign]
        # the cached database is shared: take the bench's labels out again
        with transaction(conn):
            for lid in made:
                conn.execute("DELETE FROM labels WHERE id = ?", (lid,))
                conn.execute("DELETE FROM outbox WHERE entity = 'label' AND entity_id = ?", (lid,))
        runtime.close()
    return ours, base


async def _settle(app, pilot) -> None:
    from textual.worker import WorkerCancelled

    for _ in range(3):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            continue
        await pilot.pause()


def bench_scan(db: Path) -> bool:
    from kiosk.runtime import load, open_runtime

    runtime = open_runtime(load(db=str(db)))
    # half the scans at doors with unfinished cases (what the screen is for), half anywhere
    with_cases = [
        r[0]
        for r in runtime.conn.execute(
            "SELECT DISTINCT l.household_id FROM case_households l JOIN case_state s"
            " ON s.case_id = l.case_id WHERE s.status != 'closed' LIMIT ?",
            (SCANS // 2,),
        )
    ]
    hids = with_cases + _sample_households(runtime.conn, SCANS - len(with_cases), seed=11)
    cases = runtime.conn.execute(
        f"SELECT count(*) FROM case_households WHERE household_id IN ({','.join('?' * len(hids))})",
        hids,
    ).fetchone()[0]
    runtime.close()
    ours, base = asyncio.run(_scan_samples(db, hids))
    print(
        f"  {len(ours)} scans ({len(with_cases)} at households with unfinished cases;"
        f" {cases} case links in all)",
        flush=True,
    )
    ok = len(ours) == len(hids)
    ok &= report(
        "scan Enter to household with open cases painted p95 (Pilot)",
        percentile(ours, 95),
        "ms",
        budget=35.0,  # the target; the promise is 50 ms
        baseline=percentile(base, 95),
    )
    report("  median", percentile(ours, 50), "ms", baseline=percentile(base, 50))
    return ok


def main() -> bool:
    db = million_db(MILLION)
    ok = bench_labels_pdf(db)
    ok &= idle_and_busy(lambda: bench_scan(db))
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)

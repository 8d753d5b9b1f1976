"""The ledgers exported from the figures screen (x): to a file in a terminal, as a download in
a browser session (``kiosk office web``), only the worker's grids, always audited."""

from __future__ import annotations

import csv
import io
import json
from unittest.mock import PropertyMock, patch

from openpyxl import load_workbook
from textual.widgets import Input

from db.workers import worker_by_name
from kiosk.cases.ledger import headers
from tests.conftest import GRID_WORKER, SUPERVISOR
from tests.pilot_helpers import settle, signed_in_app, until


def _exports(conn) -> list[dict]:
    rows = conn.execute(
        "SELECT detail FROM audit WHERE action = 'export' AND entity = 'ledger' ORDER BY rowid"
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


async def _open_export(app, pilot):
    from screens.cases.ledger_export import LedgerExportScreen

    await pilot.press("f5")
    await settle(app, pilot)
    await pilot.press("x")
    await settle(app, pilot)
    assert isinstance(app.screen, LedgerExportScreen)
    return app.screen


async def test_a_supervisor_exports_a_ledger_to_a_file(runtime, tmp_path):
    app = signed_in_app(runtime, worker_by_name(runtime.conn, SUPERVISOR))
    out = tmp_path / "推进.csv"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_export(app, pilot)
        field = screen.query_one("#ledger-file", Input)
        assert field.value.endswith(".xlsx") and "ledger-original-" in field.value
        await pilot.press("shift+tab", "down", "space")  # the progress ledger: the name follows
        await settle(app, pilot)
        assert "ledger-progress-" in field.value
        field.value = str(out)
        field.focus()
        await pilot.press("enter")
        await until(pilot, out.exists)
        await settle(app, pilot)
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == headers("progress") and len(rows) > 1
    (entry,) = _exports(runtime.conn)
    assert entry["ledger"] == "progress" and entry["delivery"] == "file"
    assert entry["rows"] == len(rows) - 1 and entry["masked"] is True


async def test_in_a_browser_the_ledger_is_a_download_and_nothing_stays_on_disk(
    runtime, tmp_path, monkeypatch
):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the export is written, then deleted
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    delivered: list[tuple[bytes, str | None]] = []

    def deliver(file, *, save_filename=None, **_):
        delivered.append((file.read(), save_filename))

    app = signed_in_app(runtime, worker_by_name(runtime.conn, GRID_WORKER))
    with (
        patch.object(type(app), "is_web", new_callable=PropertyMock, return_value=True),
        patch.object(app, "deliver_binary", deliver),
    ):
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _open_export(app, pilot)
            field = screen.query_one("#ledger-file", Input)
            assert field.value.startswith("ledger-original-")  # a name, not a path on the PC
            await pilot.press("enter")
            await until(pilot, lambda: bool(delivered))
            await settle(app, pilot)
    content, name = delivered[0]
    assert name == field.value
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == headers("original")
    (entry,) = _exports(runtime.conn)
    assert entry["delivery"] == "browser" and entry["rows"] == len(rows) - 1
    # a grid worker's ledger: their grids only
    worker = worker_by_name(runtime.conn, GRID_WORKER)
    assert worker is not None and entry["grids"] == sorted(worker.grids)
    assert not list(tmp_path.rglob("*.xlsx")) and not list(tmp_path.rglob("kiosk-ledger-*"))


async def test_a_browser_tab_offers_no_last_workers_name(runtime):
    from kiosk.app.shell import KioskApp

    app = KioskApp(runtime, offered_worker=worker_by_name(runtime.conn, SUPERVISOR))
    with patch.object(type(app), "is_web", new_callable=PropertyMock, return_value=True):
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            assert app.offered is None
            assert app.screen.query_one("#signin-name", Input).value == ""
    app = KioskApp(runtime, offered_worker=worker_by_name(runtime.conn, SUPERVISOR))
    async with app.run_test(size=(80, 24)) as pilot:  # in a terminal: as before
        await settle(app, pilot)
        assert app.screen.query_one("#signin-name", Input).value == SUPERVISOR


def test_a_downloads_name_is_plain_ascii():
    from screens.cases.ledger_export import default_name, download_name

    assert download_name("ledger-original-2026-12-04.xlsx", "original") == (
        "ledger-original-2026-12-04.xlsx"
    )
    assert download_name("新伟 社区 台账.CSV", "progress") == default_name("progress")[:-5] + ".csv"
    assert download_name("5月 ledger.xlsx", "original") == "5_ledger.xlsx"
    assert download_name("../../etc/x.xlsx", "original") == "x.xlsx"

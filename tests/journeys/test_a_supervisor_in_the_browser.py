"""A supervisor in a browser at the office: `kiosk office web` serves the demo community's
database on 127.0.0.1; in a real Chromium the supervisor signs in (name and PIN typed into the
terminal), opens the figures, exports the original ledger (it arrives as a download with the
ledger's header row), and locks the screen. Afterwards the audit chain verifies, and the
sign-in, the export and the lock are in the trail, as the supervisor's.

The screenshots of the sign-in and figures screens in docs/user-guide.md are this test's:
``KIOSK_BROWSER_SHOTS=docs/img pytest tests/journeys/test_a_supervisor_in_the_browser.py``
writes them there (otherwise they go to the test's temporary folder)."""

from __future__ import annotations

import io
import json
import os

import pytest

from kiosk.cases.ledger import headers
from tests.browser import Tab, chromium, chromium_missing_reason, office_web
from tests.conftest import DEMO_PINS, ROOT, SUPERVISOR
from tests.journeys.conftest import BAD_WORDS, kiosk_as

missing = chromium_missing_reason()
if missing and os.environ.get("CI") != "true":
    pytest.skip(missing, allow_module_level=True)


def _small_png(path) -> None:
    """Screenshots for the guide, kept small: a palette of 64 colours (a terminal has few)."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)


def test_a_supervisor_signs_in_exports_a_ledger_and_locks_in_the_browser(demo_db, tmp_path):
    assert missing is None, missing  # in CI the browser must be there (.ci/run installs it)
    shots = (
        ROOT / os.environ["KIOSK_BROWSER_SHOTS"]
        if "KIOSK_BROWSER_SHOTS" in os.environ
        else tmp_path
    )
    with office_web(demo_db) as (url, said), chromium() as context:
        tab = Tab(context)
        tab.open(url)
        tab.wait_for("登录", "PIN")
        tab.screenshot(shots / "browser-signin.png")
        tab.focus()
        # As a person does, at machine speed: each field's text is seen before Enter, and the
        # PIN is typed once its field has the focus (keys sent sooner reach the name field,
        # which still has the focus until the screen has handled Enter).
        tab.type(SUPERVISOR)
        tab.wait_for(SUPERVISOR)
        tab.press("Enter")  # the name: on to the PIN
        tab.wait_for_field("PIN")
        tab.type(DEMO_PINS[SUPERVISOR])
        tab.wait_for("•" * len(DEMO_PINS[SUPERVISOR]))
        tab.press("Enter")
        tab.wait_for(f"— {SUPERVISOR}")  # signed in: the title names them

        tab.press("F5")
        tab.wait_for("化解率", "群众满意率", "导出台账")
        tab.screenshot(shots / "browser-figures.png")

        tab.press("x")
        tab.wait_for("导出台账", "ledger-original-")
        tab.press("Enter")  # the original ledger, under the name offered
        download = tab.wait_for_download()
        assert download.suggested_filename.startswith("ledger-original-")
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        tab.wait_for("已作为")  # the screen says it went to the browser

        tab.press("Control+l")
        tab.wait_for("已锁定")
    for name in ("browser-signin.png", "browser-figures.png"):
        _small_png(shots / name)
        assert (shots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not any(w in "".join(said) for w in BAD_WORDS), "".join(said)

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(saved.read_bytes()), read_only=True).active
    assert next(sheet.iter_rows(values_only=True)) == tuple(headers("original"))

    out = kiosk_as(demo_db, SUPERVISOR, "audit", "verify", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    out = kiosk_as(demo_db, SUPERVISOR, "audit", "--worker", SUPERVISOR, "--json")
    assert out.returncode == 0, out.stderr
    trail = json.loads(out.stdout)["entries"]
    actions = [e["action"] for e in trail]
    assert "signin" in actions and "lock" in actions, actions
    export = next(e for e in trail if e["action"] == "export" and e["entity"] == "ledger")
    assert export["detail"]["delivery"] == "browser" and export["detail"]["ledger"] == "original"
    assert export["detail"]["rows"] == sheet.max_row - 1 if sheet.max_row else True

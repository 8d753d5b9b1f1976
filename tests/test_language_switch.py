"""F12 switches the whole interface's language, the footer's keys included: key bindings are
built once, at import, so each description is a Term drawn in the language of now. For each
demo account, on every main screen, English has no Chinese in the footer and Chinese no
English words."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ADMINISTRATOR, GRID_WORKER, SUPERVISOR
from tests.pilot_helpers import settle, signed_in_app

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
ALLOWED_LATIN = {"PIN", "QR", "PDF", "Excel", "CSV"}


def _descriptions(app) -> list[str]:
    from screens.widgets.footer import KioskFooter

    footer = app.screen.query_one(KioskFooter)
    footer._read_keys()
    keys = [*footer._keys, *([footer._palette] if footer._palette else [])]
    return [k.description for k in keys]


@pytest.mark.parametrize("name", [GRID_WORKER, SUPERVISOR, ADMINISTRATOR])
async def test_f12_redraws_every_footer_in_one_language(runtime, name):
    from db.workers import worker_by_name
    from kiosk.core.i18n import set_language

    worker = worker_by_name(runtime.conn, name)
    app = signed_in_app(runtime, worker)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await settle(app, pilot)
            for key in ("f1", "f2", "f3", "f4", "f5"):
                await pilot.press(key)
                await settle(app, pilot)
                if not app.screen.query("KioskFooter"):
                    continue  # a screen this role may not open: refused, nothing to draw
                await pilot.press("f12")  # to English
                await settle(app, pilot)
                english = _descriptions(app)
                assert english and not [d for d in english if CJK.search(d)], (key, english)
                await pilot.press("f12")  # back to Chinese
                await settle(app, pilot)
                chinese = _descriptions(app)
                assert not [d for d in chinese if set(LATIN_WORD.findall(d)) - ALLOWED_LATIN], (
                    key,
                    chinese,
                )
    finally:
        set_language("zh")

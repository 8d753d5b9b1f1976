"""The corpus of real public XLSForms under tests/forms/ (sources and licences in SOURCES.md):
each one pyxform converts is imported, filled through the screen's logic with answers that
satisfy its rules (tests/form_filler.py) and exported. At least 80% of them must go the whole
way, and a form that does not says why; tests/forms/CENSUS.md lists every outcome."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

FORMS = Path(__file__).resolve().parent / "forms"
_spec = importlib.util.spec_from_file_location("forms_census", FORMS / "census.py")
assert _spec is not None and _spec.loader is not None
census = sys.modules.get("forms_census") or importlib.util.module_from_spec(_spec)
if "forms_census" not in sys.modules:
    sys.modules["forms_census"] = census  # its dataclasses look their module up by name
    _spec.loader.exec_module(census)

SHARE = 0.80


def test_most_real_forms_import_fill_and_export():
    results = {}
    for form in census.corpus_forms():
        if census.pyxform_verdict(form) is None:
            results[form.relative_to(FORMS).as_posix()] = census.fill_outcome(form)
    assert len(results) >= 40
    done = [p for p, (state, _) in results.items() if state == "filled"]
    missed = {p: why for p, (state, why) in results.items() if state != "filled"}
    assert all(why for why in missed.values())  # every form that does not make it says why
    share = len(done) / len(results)
    assert share >= SHARE, f"{len(done)} of {len(results)} filled; the others: {missed}"

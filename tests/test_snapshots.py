"""Snapshot tests: seven screens at 80x24 in Chinese, compared with the pictures accepted by a
person (tests/__snapshots__/test_snapshots/, SVG; look at them in a browser). A change to a
screen that is meant fails here once: look at the report pytest writes (snapshot_report.html),
and if the new picture is right, accept it with ``pytest tests/test_snapshots.py
--snapshot-update`` and commit the SVGs with the change.

Everything a screen shows must be the same on every run: the demo district is built and the
app runs at one frozen instant (time-machine: dates, "today", overdue days, relative times),
and new label codes, which are random by design, come from a counter."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from datetime import datetime
from itertools import count
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.pilot_helpers import settle

#: a Thursday morning in Beijing, the demo district's "today"
FROZEN = datetime(2026, 12, 3, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
SIZE = (80, 24)


@pytest.fixture(scope="module")
def frozen_district(tmp_path_factory) -> Path:
    from db import ids
    from tests.conftest import _build_demo

    path = tmp_path_factory.mktemp("snapshots") / "demo.db"
    seeded = random.Random(11)
    with pytest.MonkeyPatch.context() as mp, time_machine.travel(FROZEN, tick=False):
        # the device id (and so every case number's device tag) from a seed, not the OS
        mp.setattr(ids, "os", SimpleNamespace(urandom=seeded.randbytes))
        # and not from the last id an earlier test made (at a later, real time)
        mp.setattr(ids, "_last_ms", 0)
        mp.setattr(ids, "_last_rand", 0)
        _build_demo(path, 300, 11)
    return path


@pytest.fixture
def frozen(frozen_district, tmp_path, monkeypatch) -> Iterator[object]:
    """A runtime on a copy of the frozen district, at the frozen instant, in Chinese."""
    from db import labels
    from kiosk.core.i18n import set_language
    from kiosk.runtime import load, open_runtime

    codes = count(1)
    monkeypatch.setattr(labels, "new_label_code", lambda: labels.encode_label_id(next(codes)))
    db = tmp_path / "kiosk.db"
    shutil.copy(frozen_district, db)
    set_language("zh")
    with time_machine.travel(FROZEN, tick=False):
        rt = open_runtime(load(db=str(db), lang="zh"))
        rt.ctx.verified = True
        try:
            yield rt
        finally:
            rt.close()


def _app(rt, *, signed_in: bool = True):
    from kiosk.app.shell import KioskApp

    return KioskApp(rt, signed_in=rt.worker if signed_in else None)


def _household(rt) -> str:
    """The first household of the worker's grid (by address) with an open case."""
    grid = rt.worker.grids[0]
    return rt.conn.execute(
        "SELECT h.id FROM households h JOIN case_households ch ON ch.household_id = h.id"
        " JOIN case_state s ON s.case_id = ch.case_id AND s.status != 'closed'"
        " JOIN grids g ON g.id = h.grid_id WHERE g.code = ?"
        " ORDER BY h.compound_id, h.address_key LIMIT 1",
        (grid,),
    ).fetchone()[0]


def test_sign_in(frozen, snap_compare):
    assert snap_compare(_app(frozen, signed_in=False), terminal_size=SIZE)


def test_home(frozen, snap_compare):
    app = _app(frozen)

    async def ready(pilot):
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_household(frozen, snap_compare):
    from tests.pages import HouseholdPage

    app, hid = _app(frozen), _household(frozen)

    async def open_it(pilot):
        await HouseholdPage.open(app, pilot, hid)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_it)


def test_visit_form_with_two_problems(frozen, snap_compare):
    from tests.pages import HouseholdPage

    app, hid = _app(frozen), _household(frozen)

    async def two_problems(pilot):
        form = await (await HouseholdPage.open(app, pilot, hid)).record_visit()
        await settle(app, pilot)
        await form.met_the_first_member()
        await form.add_problem("楼道灯坏了晚上看不见台阶")
        await form.add_problem("垃圾桶满了没人清运", category_downs=2)
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=two_problems)


def test_case_list(frozen, snap_compare):
    from tests.pages import CaseListPage

    app = _app(frozen)

    async def open_it(pilot):
        await CaseListPage.open(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_it)


def test_case_detail(frozen, snap_compare):
    from screens.cases.case_detail import CaseDetailScreen

    app = _app(frozen)
    cid = frozen.conn.execute(
        "SELECT s.case_id FROM case_state s JOIN cases c ON c.id = s.case_id"
        " WHERE s.status = 'assigned' ORDER BY c.number LIMIT 1"
    ).fetchone()[0]

    async def open_it(pilot):
        await settle(app, pilot)
        await app.push_screen(CaseDetailScreen(cid))
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_it)


def test_figures(frozen, snap_compare):
    app = _app(frozen)

    async def open_it(pilot):
        await settle(app, pilot)
        app.switch_mode("figures")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_it)

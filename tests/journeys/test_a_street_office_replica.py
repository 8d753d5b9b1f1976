"""A street office's replica: the district's administrator adds a grid of another street and a
street overseer (街道督办) on their PC and syncs; the street office's PC, enrolled as an office
device for its street, is kept fresh by `kiosk office serve` (a round on demand, by signal);
the overseer signs in on it and reads the street's figures, rolled up by community and grid,
with no household reachable. The other street's office gets the other street only."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import ADMINISTRATOR, DEMO_PINS, ROOT
from tests.journeys.conftest import kiosk_as, sync, the_day_holds
from tests.pages import sign_in
from tests.pilot_helpers import settle, until

STREET, OTHER = "新阳路街道", "东风街道"
OVERSEER, OVERSEER_PIN = "王街道", "864209"


def _grid_codes(db) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT code FROM grids")}
    finally:
        conn.close()


@pytest.fixture
def two_streets(demo_db, tmp_path):
    """The demo district's laptop with a grid of a second street, imported by its
    administrator (before the hub is seeded from it)."""
    sheet = tmp_path / "网格.csv"
    sheet.write_text(f"区,街道,社区,网格,网格编号\n道里区,{OTHER},东风社区,东风一网格,DF01\n")
    out = kiosk_as(demo_db, ADMINISTRATOR, "areas", "import", str(sheet))
    assert out.returncode == 0, out.stderr
    return demo_db


@pytest.mark.parametrize("hub", ["sqlite"], indirect=True)
async def test_a_street_office_follows_its_street(two_streets, hub, tmp_path):
    from kiosk.cli.run import start_app
    from kiosk.runtime import load, open_runtime
    from screens.cases.figures import FiguresScreen

    admin_pc, street_pc, other_pc = two_streets, tmp_path / "street.db", tmp_path / "other.db"
    hub.enrol(admin_pc, "区管理员电脑", "--admin")
    hub.enrol(street_pc, "新阳路街道办", "--street", STREET)
    hub.enrol(other_pc, "东风街道办", "--street", OTHER)

    # The administrator adds the street's overseer on their PC and syncs.
    out = kiosk_as(
        admin_pc,
        ADMINISTRATOR,
        "workers",
        "add",
        OVERSEER,
        "--role",
        "street",
        "--street",
        OTHER + "X",
        "--new-pin-stdin",
    )
    assert out.returncode == 2 and "东风街道X" in out.stderr  # a street no grid lies in
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk.cli.main",
            "--as",
            ADMINISTRATOR,
            "--pin-stdin",
            "workers",
            "add",
            OVERSEER,
            "--role",
            "street",
            "--street",
            STREET,
            "--new-pin-stdin",
            "--db",
            str(admin_pc),
        ],
        input=f"{DEMO_PINS[ADMINISTRATOR]}\n{OVERSEER_PIN}\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    sync(admin_pc)

    # The street office's replica: one round by hand, then the loop, woken by a signal.
    out = kiosk_as(street_pc, None, "office", "serve", "--once")
    assert out.returncode == 0, out.stderr
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli.main",
            "office",
            "serve",
            "--every",
            "3600",
            "--db",
            str(street_pc),
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stderr is not None
        lines = iter(proc.stderr.readline, "")
        assert "办公室副本" in next(lines)  # ready
        assert "同步完成" in next(lines)  # the first round, at start
        proc.send_signal(signal.SIGUSR1)  # "sync now"
        assert "同步完成" in next(lines)
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0

    # Each street's office holds its own street's grids only (what the hub refuses from the
    # other street's office: tests/adversarial/test_hostile_street_office.py).
    assert _grid_codes(street_pc) == {"G001", "G002"}
    sync(other_pc)
    assert _grid_codes(other_pc) == {"DF01"}
    other = sqlite3.connect(other_pc)
    assert other.execute("SELECT count(*) FROM households").fetchone()[0] == 0
    other.close()

    # The overseer signs in on the street office's replica and reads the street's figures.
    conn = sqlite3.connect(street_pc)
    cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    conn.close()
    assert cases > 0
    runtime = open_runtime(load(db=str(street_pc)))
    app = start_app(runtime)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            await sign_in(app, pilot, OVERSEER, OVERSEER_PIN)
            await until(pilot, lambda: app.worker is not None and app.worker.name == OVERSEER)
            assert not app.permit("household.view")
            await until(pilot, lambda: type(app.screen).__name__ == "HomeScreen")
            head = app.screen.query_one("#home-head")
            await until(pilot, lambda: STREET in str(head.render()))
            assert "F5" in str(head.render())
            await pilot.press("f5")
            await until(pilot, lambda: isinstance(app.screen, FiguresScreen))
            screen = app.screen
            await until(pilot, lambda: screen.figures is not None)
            assert screen.figures["total"]["registered"] == cases
            by_community = screen.figures["by_community"]
            assert [r["key"] for r in by_community] == ["安静社区"]
            assert sum(r["registered"] for r in screen.figures["by_grid"]) == cases
            table = screen.query_one("#figures-table")
            assert table.get_row_at(0)[0] == "安静社区"  # the roll-up starts at the community
            await pilot.press("b")
            await settle(app, pilot)
            assert {table.get_row_at(i)[0] for i in range(table.row_count)} == {"G001", "G002"}
    finally:
        runtime.close()

    out = kiosk_as(street_pc, None, "stats", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)
    the_day_holds(hub, admin_pc, street_pc)

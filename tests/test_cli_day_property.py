"""A grid worker's everyday actions in any order, through the real `kiosk` command, and after
every one of them the day still works: sign-in, `kiosk audit verify`, `kiosk stats` and
`kiosk sync` against a real hub on 127.0.0.1 all succeed, and nothing says "unexpected".

Hypothesis draws the sequences (visit with a problem and a suggestion, a 未遇 visit, community
feedback, a questionnaire answer, a case event, a label sheet, a case slip, a masked export,
a sync, a lock and unlock). One community feedback once locked every worker out of the laptop
(the audit trail read a column feedback does not have); this is the test that catches the
next such mistake, whichever action it hides in.

The questionnaire answer and the lock go through the functions the screens call (there is no
command for them): `db.surveys.save_response` after `kiosk.domain.survey.check_answers`, and
`kiosk.security.session.record_lock` / `attempt(unlock=True)`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import DEMO_PINS, GRID_WORKER, ROOT, SUPERVISOR, run_kiosk
from tests.pg import free_port, wait_listening

ACTIONS = (
    "visit",
    "nobody_home",
    "feedback",
    "survey",
    "case_event",
    "labels",
    "slip",
    "export",
    "sync",
    "lock",
)
BAD_WORDS = ("意外错误", "unexpected error", "Traceback")


class Day:
    """The laptop, its hub, and what the worker has done so far."""

    def __init__(self, db: Path, hub_url: str, out: Path) -> None:
        self.db, self.hub_url, self.out = db, hub_url, out
        self.households = [
            r[0]
            for r in self.q(
                "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
                " WHERE g.code = 'G001' ORDER BY h.rid LIMIT 20"
            )
        ]
        self.cases: list[dict] = []
        self.step = 0

    def q(self, sql: str, *args):  # type: ignore[no-untyped-def]
        conn = sqlite3.connect(self.db)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def kiosk(self, *args: str, who: str | None = GRID_WORKER) -> subprocess.CompletedProcess:
        out = run_kiosk(*args, "--db", str(self.db), as_worker=who)
        said = out.stdout + out.stderr
        assert not any(w in said for w in BAD_WORDS), (args, said)
        return out

    def ok(self, *args: str, who: str | None = GRID_WORKER) -> str:
        out = self.kiosk(*args, who=who)
        assert out.returncode == 0, (args, out.stderr)
        return out.stdout

    def household(self) -> str:
        self.step += 1
        return self.households[self.step % len(self.households)]

    # --- the actions -------------------------------------------------------------------

    def visit(self) -> None:
        doc = json.loads(
            self.ok(
                "visits",
                "add",
                self.household(),
                "--met",
                "王阿姨",
                "--problem",
                "roof_leak:楼顶漏雨",
                "--suggestion",
                "多装路灯",
                "--json",
            )
        )
        assert doc["cases"] == 1

    def nobody_home(self) -> None:
        revisit = (date.today() + timedelta(days=7)).isoformat()
        self.ok("visits", "add", self.household(), "--nobody-home", "--revisit", revisit)

    def feedback(self) -> None:
        self.ok(
            "feedback", "add", "--category", "parking", "--text", "晚上停车难", "--source", "stall"
        )

    def survey(self) -> None:
        from db.connection import transaction
        from db.surveys import find_survey, save_response
        from kiosk.domain.survey import check_answers
        from kiosk.runtime import load, open_runtime

        rt = open_runtime(load(db=str(self.db), worker=GRID_WORKER))
        try:
            rt.ctx.verified = True  # signed in, as on the screen
            survey = find_survey(rt.conn, "satisfaction_2026")
            assert survey is not None
            answers = check_answers(survey.definition, {"overall": "basic", "household_size": "3"})
            with transaction(rt.conn):
                save_response(rt.ctx, survey.id, answers, household_id=self.household())
        finally:
            rt.close()

    def _case(self) -> dict:
        if not self.cases:
            doc = json.loads(
                self.ok(
                    "cases",
                    "add",
                    "--household",
                    self.household(),
                    "--category",
                    "roof_leak",
                    "--summary",
                    "楼道灯坏了",
                    "--json",
                )
            )
            self.cases.append(doc)
        return self.cases[-1]

    def case_event(self) -> None:
        self.ok("cases", "act", self._case()["id"], "progress", "--note", "已联系物业")

    def labels(self) -> None:
        self.ok(
            "labels",
            "--household",
            self.household(),
            "--out",
            str(self.out / f"labels-{self.step}.pdf"),
        )

    def slip(self) -> None:
        self.ok("slip", self._case()["number"], "--out", str(self.out / f"slip-{self.step}.pdf"))

    def export(self) -> None:
        self.step += 1
        self.ok("households", "export", "--out", str(self.out / f"export-{self.step}.csv"))

    def sync(self) -> None:
        out = self.kiosk("sync", "--json", who=None)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["held"] == []

    def lock(self) -> None:
        from db.connection import open_database, transaction
        from db.context import WriteContext
        from db.workers import worker_by_name
        from kiosk.security.session import attempt, record_lock

        database = open_database(self.db)
        try:
            conn = database.conn
            ctx = WriteContext.open(conn)

            def write(fn):  # type: ignore[no-untyped-def]
                with transaction(conn):
                    return fn(ctx)

            worker = worker_by_name(conn, GRID_WORKER)
            assert worker is not None
            record_lock(write, worker, "key")
            attempt(conn, write, GRID_WORKER, DEMO_PINS[GRID_WORKER], unlock=True)
        finally:
            database.close()

    # --- what must still work after every step -----------------------------------------

    def still_works(self) -> None:
        from db.connection import open_database, transaction
        from db.context import WriteContext
        from kiosk.security.session import attempt

        database = open_database(self.db)
        try:
            conn = database.conn
            ctx = WriteContext.open(conn)

            def write(fn):  # type: ignore[no-untyped-def]
                with transaction(conn):
                    return fn(ctx)

            assert attempt(conn, write, GRID_WORKER, DEMO_PINS[GRID_WORKER]).name == GRID_WORKER
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            database.close()
        out = self.kiosk("audit", "verify", who=SUPERVISOR)
        assert out.returncode == 0, out.stdout + out.stderr
        json.loads(self.ok("stats", "--json", who=None))
        self.sync()


@pytest.fixture
def day(tmp_path, demo_db, kiosk):
    """The demo laptop enrolled as G001's field laptop with a hub seeded from it (as the
    README's walkthrough does), the hub a `kiosk hub serve` subprocess."""
    store = tmp_path / "hub.db"
    out = kiosk("hub", "seed", "--db", str(store), "--from", str(demo_db))
    assert out.returncode == 0, out.stderr
    out = kiosk(
        "hub", "devices", "add", "网格一的笔记本", "--grid", "G001", "--db", str(store), "--json"
    )
    assert out.returncode == 0, out.stderr
    code = json.loads(out.stdout)["code"]
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli.main",
            "hub",
            "serve",
            "--db",
            str(store),
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_listening(proc)
        url = f"http://127.0.0.1:{port}"
        out = kiosk("enrol", "--db", str(demo_db), "--hub", url, "--code", code)
        assert out.returncode == 0, out.stderr
        files = tmp_path / "out"
        files.mkdir()
        yield Day(demo_db, url, files)
    finally:
        proc.terminate()
        proc.wait(10)


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.sampled_from(ACTIONS), min_size=2, max_size=4))
def test_after_every_everyday_action_the_day_still_works(day, steps):
    """The examples share one laptop and one hub, as one long day does."""
    for action in steps:
        getattr(day, action)()
        day.still_works()


def test_every_action_once_then_the_day_still_works(day):
    """Each action at least once, whatever hypothesis draws (community feedback first: it
    once locked every worker out)."""
    for action in ("feedback", *[a for a in ACTIONS if a != "feedback"]):
        getattr(day, action)()
    day.still_works()
    # what the hub holds is what the laptop wrote: nothing left behind, nothing held
    assert day.q("SELECT count(*) FROM outbox")[0][0] == 0

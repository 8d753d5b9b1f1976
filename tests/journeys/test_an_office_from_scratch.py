"""A community office starts from its own files, as docs/deployment.md tells it to: a list of
grids, a roster typed by hand (with doubtful numbers), the administrator and the workers with
the PINs set at the office; the hub is seeded from the office PC and served on 127.0.0.1; two
laptops are enrolled for two grids. Each laptop holds only its grid's households, and its
worker signs in on the real sign-in screen with the PIN set at the office. A visit with a
problem goes to the office, the supervisor assigns the case there, and the worker's laptop
receives the assignment. Afterwards every replica is whole, its audit chain verifies and
nothing waits to be sent. No demo anywhere."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from kiosk.households.roster.fields import id_check_char
from tests.conftest import ROOT, run_kiosk
from tests.journeys.conftest import BAD_WORDS
from tests.pages import sign_in
from tests.pg import free_port, wait_listening
from tests.pilot_helpers import settle, until

PINS = {"张建国": "802461", "王芳": "613579", "李明": "420864", "赵红梅": "975135"}

AREAS = (
    "区,街道,社区,网格,网格编号,网格员\n"
    "滨江区,新伟街道,新伟社区,第一网格,XW01,王芳\n"
    "滨江区,新伟街道,新伟社区,第二网格,XW02,李明\n"
)


def _roster() -> str:
    body = "23010219790315123"
    wrong = body + ("0" if id_check_char(body) != "0" else "1")
    good = "11010119500312771"
    return (
        "社区,网格,小区,楼栋,单元,房号,户主姓名,户主电话,户主身份证号,重点人群\n"
        f"新伟社区,第一网格,春华新苑,1,1,101,孙秀兰,13812345678,{good + id_check_char(good)},独居\n"
        f"新伟社区,第一网格,春华新苑,1,1,102,陈明,13912345678,{wrong},\n"
        "新伟社区,第一网格,春华新苑,1,2,201,周平,1381234,,\n"
        "新伟社区,第二网格,秋实家园,3,1,301,吴桂英,13712345678,,困难\n"
        "新伟社区,第二网格,秋实家园,3,1,302,郑强,13612345678,,\n"
    )


def _k(db: Path, *args: str, who: str | None = None, stdin: str = "") -> dict | str:
    """The real command on ``db``; as ``who`` with their PIN typed first."""
    full = ["--db", str(db), *args]
    text = stdin
    if who is not None:
        full = ["--as", who, "--pin-stdin", *full]
        text = PINS[who] + "\n" + stdin
    out = run_kiosk(*full, input=text)
    assert not any(w in out.stdout + out.stderr for w in BAD_WORDS), out.stderr
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return json.loads(out.stdout) if "--json" in args else out.stderr


def _q(db: Path, sql: str, *args) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def test_an_office_from_its_own_files_to_a_case_assigned_on_the_laptop(tmp_path):
    from kiosk.cli.run import start_app
    from kiosk.runtime import load, open_runtime
    from screens.households.home import HomeScreen

    office, hub_db = tmp_path / "office.db", tmp_path / "hub.db"
    first, second = tmp_path / "wangfang.db", tmp_path / "liming.db"
    (tmp_path / "网格.csv").write_text(AREAS, encoding="utf-8")
    (tmp_path / "花名册.csv").write_text(_roster(), encoding="utf-8")

    # 1. the office PC: the grids, the administrator, the roster, the workers
    made = _k(office, "areas", "import", str(tmp_path / "网格.csv"), "--json")
    assert made["created"] == ["XW01", "XW02"]
    _k(office, "workers", "add", "张建国", "--role", "admin", "--new-pin-stdin",
       stdin=PINS["张建国"] + "\n")  # fmt: skip
    _k(office, "households", "import", str(tmp_path / "花名册.csv"), who="张建国")
    assert _q(office, "SELECT count(*) FROM households") == [(5,)]  # doubtful numbers kept
    # found at once, by name, initials, phone tail and address (keys written at the end)
    for words in ("孙秀兰", "sxl", "5678", "1栋1单元102"):
        found = _k(office, "households", "find", words, "--json", who="张建国")["results"]
        assert 1 <= len(found) <= 4, (words, found)
    # the same file again: every household known, merged, nothing doubled
    again = _k(office, "households", "import", str(tmp_path / "花名册.csv"), "--json",
               who="张建国")  # fmt: skip
    assert again["unchanged"] == 5 and again["imported_households"] == 0, again
    assert _q(office, "SELECT count(*) FROM households") == [(5,)]
    flagged = _q(office, "SELECT name, to_verify FROM members WHERE to_verify != ''")
    assert sorted(flagged) == [("周平", "phone"), ("陈明", "id_number")]
    for name, grid in (("王芳", "XW01"), ("李明", "XW02")):
        _k(office, "workers", "add", name, "--role", "worker", "--grid", grid, "--new-pin-stdin",
           who="张建国", stdin=PINS[name] + "\n")  # fmt: skip
    _k(office, "workers", "add", "赵红梅", "--role", "supervisor", "--community", "新伟社区",
       "--new-pin-stdin", who="张建国", stdin=PINS["赵红梅"] + "\n")  # fmt: skip
    _k(office, "departments", "add", "城管执法中队", "物业服务中心", who="赵红梅")

    # 2. the hub, seeded from the office PC, served on 127.0.0.1
    out = run_kiosk("hub", "seed", "--db", str(hub_db), "--from", str(office))
    assert out.returncode == 0, out.stderr
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "hub", "serve", "--db", str(hub_db),
         "--port", str(port)],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_listening(proc)
        url = f"http://127.0.0.1:{port}"

        def enrol(laptop: Path, name: str, *scope: str) -> None:
            out = run_kiosk("hub", "devices", "add", name, *scope, "--json", "--db", str(hub_db))
            assert out.returncode == 0, out.stderr
            code = json.loads(out.stdout)["code"]
            out = run_kiosk("enrol", "--db", str(laptop), "--hub", url, "--code", code)
            assert out.returncode == 0, out.stderr

        def sync(laptop: Path) -> dict:
            doc = _k(laptop, "sync", "--json")
            assert doc["held"] == [], doc
            return doc

        enrol(office, "社区办公室", "--admin")
        enrol(first, "王芳的笔记本", "--grid", "XW01", "--person", "王芳")
        enrol(second, "李明的笔记本", "--grid", "XW02", "--person", "李明")
        for laptop in (office, first, second):
            sync(laptop)

        # 3. each laptop holds its grid's households only, the doubtful numbers still marked
        def households(laptop: Path) -> set[str]:
            return {r[0] for r in _q(laptop, "SELECT head_name FROM households")}

        assert households(first) == {"孙秀兰", "陈明", "周平"}
        assert households(second) == {"吴桂英", "郑强"}
        assert sorted(_q(first, "SELECT name, to_verify FROM members WHERE to_verify != ''")) == [
            ("周平", "phone"),
            ("陈明", "id_number"),
        ]

        # 4. 王芳 signs in on her laptop with the PIN set at the office, on the real screen
        runtime = open_runtime(load(db=str(first)))
        app = start_app(runtime)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(app, pilot)
                await sign_in(app, pilot, "王芳", PINS["王芳"])
                await until(pilot, lambda: isinstance(app.screen, HomeScreen))
                await settle(app, pilot)
                head = str(app.screen.query_one("#home-head").render())
                assert "3 户" in head and "待核实 2 户" in head
        finally:
            runtime.close()

        # 5. a visit with a problem, synced to the office; the supervisor assigns it there
        hid = _q(first, "SELECT household_id FROM members WHERE name = '孙秀兰'")[0][0]
        _k(first, "visits", "add", hid, "--met", "孙秀兰", "--problem", "street_lights:楼道灯坏了",
       who="王芳")  # fmt: skip
        sync(first)
        sync(office)
        number = _q(office, "SELECT number FROM cases")[0][0]
        _k(office, "cases", "act", number, "assign", "--department", "物业服务中心", who="赵红梅")
        sync(office)
        sync(first)
        shown = _k(first, "cases", "show", number, "--json", who="王芳")
        assert (shown["status"], shown["department"]) == ("assigned", "物业服务中心"), shown
        assert shown["due"], shown  # a deadline, though none was typed
        assert _q(second, "SELECT count(*) FROM cases") == [(0,)]  # another grid's case
        sync(second)
        assert _q(second, "SELECT count(*) FROM cases") == [(0,)]

        # 6. the day holds: every replica whole and verified, nothing waiting, all on the hub
        for laptop in (office, first, second):
            sync(laptop)
            assert _q(laptop, "PRAGMA integrity_check") == [("ok",)]
            assert _q(laptop, "SELECT count(*) FROM outbox") == [(0,)]
            _k(laptop, "audit", "verify", who="赵红梅")
        for laptop in (first, second):  # each equals what the hub holds for its grid
            grid = "XW01" if laptop == first else "XW02"
            mine = set(_q(laptop, "SELECT m.id, m.phone, m.to_verify FROM members m"))
            theirs = set(
                _q(
                    office,
                    "SELECT m.id, m.phone, m.to_verify FROM members m JOIN households h"
                    " ON h.id = m.household_id JOIN grids g ON g.id = h.grid_id WHERE g.code = ?",
                    grid,
                )
            )
            assert mine == theirs, laptop.name
    finally:
        proc.terminate()
        proc.wait(10)
        said = proc.stderr.read().decode() if proc.stderr else ""
        assert "Traceback" not in said, said

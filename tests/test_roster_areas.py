"""A community's own roster into a database that has never seen its grids: refused once, by
name, with the command that creates them; an administrator's ``--create-areas`` creates them
from the roster's own 街道 / 社区 / 网格 columns and imports in one transaction."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

ADMIN, PIN = "王主任", "864209"


def _roster(path: Path, grids: list[str], per_grid: int = 4) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["姓名", "与户主关系", "手机号", "街道", "社区", "网格", "小区", "楼栋", "单元", "房号"]
        )
        for g, grid in enumerate(grids):
            for i in range(per_grid):
                w.writerow(
                    [
                        f"张{'一二三四五六七八'[i]}{'甲乙丙'[g]}",
                        "户主",
                        f"1391234{g}{i:03d}",
                        "红旗街道",
                        "新伟社区",
                        grid,
                        "新伟小区",
                        g + 1,
                        1,
                        101 + i,
                    ]
                )
    return path


@pytest.fixture
def office(tmp_path, kiosk) -> Path:
    """A new office PC: a database made by adding its first administrator, nothing else."""
    db = tmp_path / "office.db"
    out = kiosk(
        "workers",
        "add",
        ADMIN,
        "--role",
        "admin",
        "--new-pin-stdin",
        "--db",
        str(db),
        input=PIN + "\n",
    )
    assert out.returncode == 0, out.stderr
    return db


def _count(db: Path, table: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_a_roster_into_a_database_that_does_not_exist_says_how_to_make_one(tmp_path, kiosk):
    roster = _roster(tmp_path / "roster.csv", ["第三网格"])
    out = kiosk("households", "import", str(roster), "--db", str(tmp_path / "none.db"))
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "找不到数据库文件" in out.stderr and "kiosk workers add" in out.stderr
    assert not (tmp_path / "none.db").exists()


def test_unknown_grids_are_refused_once_by_name_and_nothing_is_written(tmp_path, kiosk, office):
    roster = _roster(tmp_path / "roster.csv", ["第三网格", "第四网格"])
    out = kiosk("households", "import", str(roster), "--db", str(office), as_worker=ADMIN, pin=PIN)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("新伟社区 / 第三网格") == 1
    assert "新伟社区 / 第四网格" in out.stderr and "--create-areas" in out.stderr
    assert "第 2 行" not in out.stderr  # not row by row
    assert _count(office, "households") == 0 and _count(office, "grids") == 0
    out = kiosk(
        "households", "import", str(roster), "--json", "--db", str(office), as_worker=ADMIN, pin=PIN
    )
    doc = json.loads(out.stdout)
    assert doc["error"]["code"] == "unknown_grids"
    assert [g["grid"] for g in doc["error"]["grids"]] == ["第三网格", "第四网格"]
    assert doc["error"]["grids"][1]["row"] == 6  # the header is row 1


def test_create_areas_makes_the_grids_from_the_roster_and_imports_in_one_go(
    tmp_path, kiosk, office
):
    roster = _roster(tmp_path / "roster.csv", ["第三网格", "第四网格"])
    dry = kiosk(
        "households",
        "import",
        str(roster),
        "--create-areas",
        "--dry-run",
        "--json",
        "--db",
        str(office),
        as_worker=ADMIN,
        pin=PIN,
    )
    assert dry.returncode == 0, dry.stderr
    assert len(json.loads(dry.stdout)["created_areas"]) == 2
    assert _count(office, "grids") == 0 and _count(office, "households") == 0  # a dry run
    out = kiosk(
        "households",
        "import",
        str(roster),
        "--create-areas",
        "--json",
        "--db",
        str(office),
        as_worker=ADMIN,
        pin=PIN,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["imported_households"] == 8 and not doc["rejected"]
    made = {g["name"]: g for g in doc["created_areas"]}
    assert set(made) == {"新伟社区第三网格", "新伟社区第四网格"}
    assert all(g["street"] == "红旗街道" and g["community"] == "新伟社区" for g in made.values())
    # the same file again: nothing new, the same grids (their codes come from their names)
    again = kiosk(
        "households",
        "import",
        str(roster),
        "--create-areas",
        "--json",
        "--db",
        str(office),
        as_worker=ADMIN,
        pin=PIN,
    )
    assert json.loads(again.stdout)["created_areas"] == []
    assert json.loads(again.stdout)["unchanged"] == 8
    other = tmp_path / "other.db"
    kiosk(
        "workers",
        "add",
        ADMIN,
        "--role",
        "admin",
        "--new-pin-stdin",
        "--db",
        str(other),
        input=PIN + "\n",
    )
    elsewhere = kiosk(
        "households",
        "import",
        str(roster),
        "--create-areas",
        "--json",
        "--db",
        str(other),
        as_worker=ADMIN,
        pin=PIN,
    )
    codes = {g["name"]: g["code"] for g in json.loads(elsewhere.stdout)["created_areas"]}
    assert codes == {name: g["code"] for name, g in made.items()}  # stable across machines


def test_only_an_administrator_creates_areas(tmp_path, kiosk, demo_db):
    from tests.conftest import SUPERVISOR

    roster = _roster(tmp_path / "roster.csv", ["第九网格"])
    before = _count(demo_db, "households")
    out = kiosk(
        "households",
        "import",
        str(roster),
        "--create-areas",
        "--db",
        str(demo_db),
        as_worker=SUPERVISOR,
    )
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert _count(demo_db, "households") == before
    conn = sqlite3.connect(demo_db)
    assert conn.execute("SELECT count(*) FROM grids WHERE name LIKE '%第九网格'").fetchone()[0] == 0
    conn.close()


def test_one_mistyped_grid_stops_the_import_before_anything_is_written(tmp_path, kiosk, demo_db):
    from tests.conftest import ADMINISTRATOR

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "姓名,网格,小区,楼栋,单元,房号\n周婷,G002,秋实家园,3,2,502\n陈明,G0O2,秋实家园,3,2,503\n",
        encoding="utf-8",
    )
    before = _count(demo_db, "households")
    out = kiosk("households", "import", str(roster), "--db", str(demo_db), as_worker=ADMINISTRATOR)
    assert out.returncode == 2 and "G0O2" in out.stderr and "Traceback" not in out.stderr
    assert _count(demo_db, "households") == before


def test_a_page_long_grid_cell_is_named_short_and_never_made_a_grid(tmp_path, kiosk, office):
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "姓名,街道,社区,网格,小区,楼栋,单元,房号\n"
        f"张三,红旗街道,新伟社区,{'网' * 5000},新伟小区,1,1,101\n",
        encoding="utf-8",
    )
    out = kiosk("households", "import", str(roster), "--db", str(office), as_worker=ADMIN, pin=PIN)
    assert out.returncode == 2 and len(out.stderr) < 1000 and "Traceback" not in out.stderr
    out = kiosk(
        "households",
        "import",
        str(roster),
        "--create-areas",
        "--db",
        str(office),
        as_worker=ADMIN,
        pin=PIN,
    )
    assert out.returncode == 1 and "找不到网格" in out.stderr and "姓名" not in out.stderr
    assert _count(office, "grids") == 0 and _count(office, "households") == 0

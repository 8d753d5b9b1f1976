"""``kiosk households import`` as a subprocess on real roster files made in tmp_path."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from conftest import ROOT

from kiosk.households.roster.fields import id_check_char


def ident(year: int, male: bool, seq: int = 12) -> str:
    body = f"230102{year:04d}0315{seq:02d}{1 if male else 2}"
    return body + id_check_char(body)


def bad_check(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


HEADERS = [
    "序号",
    "姓名",
    "性别",
    "与户主关系",
    "公民身份号码",
    "手机号",
    "网格",
    "小区名称",
    "楼栋",
    "单元",
    "房号",
    "人员类别",
]

# (row as the spreadsheet shows it, cells); the title row is 1, headers are row 2.
PERSON_ROWS: list[list[object]] = [
    [
        1,
        "王桂英",
        "女",
        "户主",
        ident(1944, False),
        "13812345678",
        "G001",
        "春华小区",
        "1栋",
        "1单元",
        "101",
        "70周岁以上老人、独居",
    ],
    [
        2,
        "李建国",
        "男",
        "户主",
        ident(1968, True),
        "139 0451 2345",
        "G001",
        "春华小区",
        "1",
        "1",
        "102",
        "",
    ],
    # family members under merged (blank) address cells
    [
        3,
        "张丽",
        "女",
        "配偶",
        ident(1970, False),
        "+86 137-1234-5678",
        None,
        None,
        None,
        None,
        None,
        "",
    ],
    [4, "李浩", "男", "子", ident(2006, True), "", None, None, None, None, None, "适龄青年"],
    [
        5,
        "赵志成",
        "男",
        "户主",
        "",
        '=HYPERLINK("http://x.example","点我")',
        "G001",
        "春华小区",
        "1",
        "2",
        "301",
        "",
    ],  # row 7
    [
        6,
        None,
        "女",
        "户主",
        ident(1980, False),
        "13712345678",
        "G001",
        "春华小区",
        "2",
        "1",
        "502",
        "",
    ],  # row 8
    [
        7,
        "孙秀兰",
        "女",
        "户主",
        ident(1953, False),
        "1381234",
        "G001",
        "春华小区",
        "2",
        "1",
        "503",
        "",
    ],  # row 9
    [
        8,
        "陈明",
        "男",
        "户主",
        bad_check(ident(1979, True)),
        "",
        "G001",
        "秋实家园",
        "3",
        "2",
        "501",
        "",
    ],  # row 10
    [9, "周婷", "女", "户主", "", "", "G002", "秋实家园", "", "2", "502", ""],  # row 11
    [
        10,
        "马淑珍",
        "女",
        "户主",
        ident(1950, False),
        "",
        "G001",
        "春华小区",
        "1",
        "1",
        "102",
        "",
    ],  # row 12: 2nd head
    [
        11,
        "王桂英",
        "女",
        "户主",
        ident(1944, False),
        "13812345678",
        "G001",
        "春华小区",
        "1栋",
        "1单元",
        "101",
        "70周岁以上老人、独居",
    ],  # row 13: same as row 3
    [
        12,
        "郭海峰",
        "男",
        "户主",
        ident(1975, True),
        "",
        "G002",
        "秋实家园",
        "1",
        "1",
        "101",
        "困难",
    ],  # row 14
]
GOOD_NAMES = {"王桂英", "李建国", "张丽", "李浩", "郭海峰", "孙秀兰", "陈明"}
EXPECTED_REJECTED = {
    7: ("formula", "手机号"),
    8: ("missing_name", "姓名"),
    11: ("missing_address", "楼栋"),
    12: ("second_head", "与户主关系"),
}


def write_xlsx(
    path: Path,
    rows: list[list[object]],
    headers: list[str] = HEADERS,
    title: str | None = "春华社区住户花名册",
) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花名册"
    if title:
        ws.append([title])
    ws.append(headers)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(
    path: Path, rows: list[list[object]], headers: list[str] = HEADERS, encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
    return path


#: Rosters of the whole district are imported at the office, by its administrator.
OFFICE = "演示管理员"


def run_import(kiosk, db: Path, file: Path, *extra: str):
    out = kiosk(
        "households", "import", str(file), "--db", str(db), "--json", *extra, as_worker=OFFICE
    )
    doc = json.loads(out.stdout) if out.stdout.strip() else None
    return out, doc


def snapshot(db: Path) -> dict:
    """Everything an import may touch, to compare before and after."""
    conn = sqlite3.connect(db)
    try:
        return {
            "households": conn.execute("SELECT count(*) FROM households").fetchone()[0],
            "members": conn.execute("SELECT count(*) FROM members").fetchone()[0],
            "compounds": conn.execute("SELECT count(*) FROM compounds").fetchone()[0],
            "outbox": conn.execute("SELECT count(*) FROM outbox").fetchone()[0],
            "terms": conn.execute("SELECT count(*) FROM search_terms").fetchone()[0],
            "rows": sorted(
                conn.execute(
                    "SELECT m.name, m.relation, m.gender, m.phone, m.id_number, m.birth_year, m.tags,"
                    " h.building, h.unit, h.room, h.tags, c.name FROM members m"
                    " JOIN households h ON h.id = m.household_id"
                    " JOIN compounds c ON c.id = h.compound_id"
                ).fetchall()
            ),
        }
    finally:
        conn.close()


def assert_integrity(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # every household and member row has its insert operation in the outbox
        for table, entity in (("households", "household"), ("members", "member")):
            missing = conn.execute(
                f"SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM outbox o"
                " WHERE o.entity = ? AND o.entity_id = t.id AND o.kind = 'insert')"
                " AND t.created_at NOT LIKE '2026-01-05%'",
                (entity,),
            ).fetchone()[0]
            assert missing == 0
        formulas = conn.execute(
            "SELECT count(*) FROM members WHERE substr(name,1,1) = '=' OR substr(phone,1,1) = '='"
            " OR substr(id_number,1,1) = '='"
        ).fetchone()[0]
        assert formulas == 0
    finally:
        conn.close()


def imported_people(db: Path, compounds=("春华小区", "秋实家园")) -> dict[str, tuple]:
    conn = sqlite3.connect(db)
    marks = ",".join("?" * len(compounds))
    rows = conn.execute(
        "SELECT m.name, m.relation, m.phone, m.birth_year, m.tags, g.code, c.name, h.building,"
        " h.unit, h.room, h.tags FROM members m JOIN households h ON h.id = m.household_id"
        " JOIN compounds c ON c.id = h.compound_id JOIN grids g ON g.id = h.grid_id"
        f" WHERE c.name IN ({marks})",
        compounds,
    ).fetchall()
    conn.close()
    return {r[0]: r[1:] for r in rows}


def test_person_roster_imports_good_rows_and_reports_the_rest(tmp_path, demo_db, kiosk):
    roster = write_xlsx(tmp_path / "花名册.xlsx", PERSON_ROWS)
    before = snapshot(demo_db)
    out, doc = run_import(kiosk, demo_db, roster)
    assert out.returncode == 1, out.stderr
    rejected = {r["row"]: (r["code"], r["column"]) for r in doc["rejected"]}
    assert rejected == EXPECTED_REJECTED
    assert all(r["reason"] and r["sheet"] == "花名册" for r in doc["rejected"])
    # a number typed wrong does not lose the household: kept as typed, to verify
    warned = [(w["row"], w["code"], w["column"]) for w in doc["warnings"]]
    assert warned == [
        (9, "doubtful_phone", "手机号"),
        (10, "doubtful_id", "公民身份号码"),
        (13, "duplicate_row", ""),
    ]
    assert doc["imported_households"] == 5 and doc["imported_members"] == 7
    assert doc["updated"] == 0 and doc["unchanged"] == 0 and doc["rows"] == 12
    assert doc["layout"] == "person" and doc["ignored_columns"] == ["序号"]

    people = imported_people(demo_db)
    assert set(people) == GOOD_NAMES
    # merged address cells: the members below a head join the head's household
    assert people["张丽"][5:9] == ("春华小区", "1", "1", "102")
    assert people["李浩"][5:9] == ("春华小区", "1", "1", "102")
    assert people["张丽"][1] == "13712345678"  # +86 and separators dropped
    assert people["李建国"][1] == "13904512345"
    assert people["王桂英"][3] == "alone elderly70" and people["王桂英"][9] == "alone elderly70"
    assert people["李浩"][3] == "conscription" and people["李浩"][2] == 2006
    assert people["郭海峰"][4] == "G002" and "hardship" in people["郭海峰"][9]
    conn = sqlite3.connect(demo_db)
    flagged = dict(
        conn.execute(
            "SELECT name, to_verify || ':' || phone || ':' || id_number FROM members"
            " WHERE to_verify != ''"
        ).fetchall()
    )
    conn.close()
    assert flagged == {
        "孙秀兰": f"phone:1381234:{ident(1953, False)}",
        "陈明": f"id_number::{bad_check(ident(1979, True))}",
    }
    after = snapshot(demo_db)
    assert after["households"] == before["households"] + 5
    assert after["members"] == before["members"] + 7
    assert_integrity(demo_db)

    # the same file again: nobody twice, nothing changed, the same rows rejected
    out2, doc2 = run_import(kiosk, demo_db, roster)
    assert out2.returncode == 1
    assert {r["row"] for r in doc2["rejected"]} == set(EXPECTED_REJECTED)
    assert doc2["imported_households"] == 0 and doc2["imported_members"] == 0
    assert doc2["updated"] == 0 and doc2["unchanged"] == 5
    assert snapshot(demo_db) == after


def test_human_report_on_stderr_in_both_languages(tmp_path, demo_db, kiosk, isolated_dirs):
    roster = write_xlsx(tmp_path / "r.xlsx", PERSON_ROWS)
    out = kiosk(
        "households", "import", str(roster), "--db", str(demo_db), "--dry-run", as_worker=OFFICE
    )
    assert out.returncode == 1 and out.stdout == ""
    assert "第 9 行" in out.stderr and "电话号码格式不对" in out.stderr and "（F 列）" in out.stderr
    assert "试运行" in out.stderr
    assert "Traceback" not in out.stderr
    out = kiosk(
        "households",
        "import",
        str(roster),
        "--db",
        str(demo_db),
        "--dry-run",
        "--lang",
        "en",
        as_worker=OFFICE,
    )
    assert "row 10" in out.stderr and "check character" in out.stderr
    # the log file says what happened without personal data
    logs = "".join(p.read_text(encoding="utf-8") for p in isolated_dirs.rglob("*.log"))
    assert "roster import: rows=12" in logs
    assert not any(x in logs for x in ("王桂英", "春华小区", "13812345678", ident(1944, False)))


def test_dry_run_writes_nothing(tmp_path, demo_db, kiosk):
    roster = write_xlsx(tmp_path / "r.xlsx", PERSON_ROWS)
    before = snapshot(demo_db)
    out, doc = run_import(kiosk, demo_db, roster, "--dry-run")
    assert out.returncode == 1
    assert doc["dry_run"] is True and doc["imported_households"] == 5
    assert snapshot(demo_db) == before


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_encodings(tmp_path, demo_db, kiosk, encoding):
    roster = write_csv(tmp_path / "r.csv", PERSON_ROWS[:4] + PERSON_ROWS[-1:], encoding=encoding)
    out, doc = run_import(kiosk, demo_db, roster)
    assert out.returncode == 0, out.stderr
    assert (
        doc["encoding"] == {"gbk": "gb18030", "utf-8-sig": "utf-8-sig", "utf-8": "utf-8"}[encoding]
    )
    assert doc["rejected"] == []
    people = imported_people(demo_db)
    assert set(people) == GOOD_NAMES - {"孙秀兰", "陈明"}  # their rows are not in this file
    assert people["王桂英"][5] == "春华小区"
    assert_integrity(demo_db)


HOUSEHOLD_HEADERS = [
    "网格编号",
    "地址",
    "户主姓名",
    "户主身份证号",
    "户主电话",
    "户主出生年份",
    "成员1姓名",
    "成员1关系",
    "成员1身份证号",
    "成员2姓名",
    "成员2关系",
    "成员2出生年月",
    "重点人群",
    "是否残疾",
]


BAD_DATE_ID = "23010219900230123" + id_check_char("23010219900230123")  # 30 February


def household_rows() -> list[list[object]]:
    return [
        [
            "G001",
            "春华小区3栋1单元201",
            "马淑珍",
            ident(1950, False),
            "0451-86661234",
            1950,
            "",
            "",
            "",
            "",
            "",
            "",
            "独居,70周岁以上老人",
            "",
        ],
        [
            "G001",
            "安静社区春华小区3号楼1单元202室",
            "郭海峰",
            ident(1975, True),
            "13912345678",
            "",
            "何静",
            "妻子",
            ident(1977, False),
            "郭宇",
            "儿子",
            "2004年5月",
            "",
            "否",
        ],
        [
            "G002",
            "秋实家园1-1-101",
            "邓凤",
            ident(1962, False),
            "",
            "",
            "邓建军",
            "子",
            ident(1988, True),
            "",
            "",
            "",
            "困难",
            "是",
        ],
        # the same room as the row above with different people: rejected
        ["G002", "秋实家园1栋1单元101", "冯雪", "", "", "", "", "", "", "", "", "", "", ""],
        # identical to the second row: taken once
        [
            "G001",
            "安静社区春华小区3号楼1单元202室",
            "郭海峰",
            ident(1975, True),
            "13912345678",
            "",
            "何静",
            "妻子",
            ident(1977, False),
            "郭宇",
            "儿子",
            "2004年5月",
            "",
            "否",
        ],
        # a member's ID number with a wrong date
        [
            "G002",
            "秋实家园1-1-102",
            "韩磊",
            "",
            "",
            "",
            "冯丽",
            "配偶",
            BAD_DATE_ID,
            "",
            "",
            "",
            "",
            "",
        ],
    ]


def test_household_roster_and_updates(tmp_path, demo_db, kiosk):
    roster = write_csv(tmp_path / "户.csv", household_rows(), HOUSEHOLD_HEADERS, "gbk")
    out, doc = run_import(kiosk, demo_db, roster)
    assert out.returncode == 1, out.stderr
    assert doc["layout"] == "household"
    assert {r["row"]: r["code"] for r in doc["rejected"]} == {5: "duplicate_room", 7: "bad_id_date"}
    assert doc["rejected"][1]["column"] == "成员1身份证号"
    assert [w["row"] for w in doc["warnings"]] == [6]
    assert doc["imported_households"] == 3 and doc["imported_members"] == 6
    people = imported_people(demo_db)
    assert set(people) == {"马淑珍", "郭海峰", "何静", "郭宇", "邓凤", "邓建军"}
    assert people["马淑珍"][1] == "045186661234"
    assert people["何静"][0] == "配偶" and people["郭宇"][0] == "子"
    assert people["郭宇"][2] == 2004
    assert people["郭海峰"][0] == "户主" and people["郭海峰"][5:9] == ("春华小区", "3", "1", "202")
    assert people["邓凤"][3] == "disabled hardship"
    assert_integrity(demo_db)
    before = snapshot(demo_db)

    # a corrected roster: a phone filled in, a new member, the rejected rows fixed
    rows = household_rows()
    rows[2][4] = "13612345678"
    rows[2][9:12] = ["邓小燕", "孙女", "2015"]
    del rows[3]
    rows[4][8] = ident(1990, False)
    roster2 = write_csv(tmp_path / "户2.csv", rows, HOUSEHOLD_HEADERS, "utf-8-sig")
    out, doc = run_import(kiosk, demo_db, roster2)
    assert out.returncode == 0, out.stderr
    assert doc["imported_households"] == 1 and doc["imported_members"] == 3
    assert doc["updated"] == 1 and doc["unchanged"] == 2
    people = imported_people(demo_db)
    assert people["邓凤"][1] == "13612345678" and people["邓小燕"][0] == "孙女"
    assert snapshot(demo_db)["outbox"] > before["outbox"]
    after = snapshot(demo_db)
    out, doc = run_import(kiosk, demo_db, roster2)
    assert out.returncode == 0 and doc["unchanged"] == 4 and doc["updated"] == 0
    assert snapshot(demo_db) == after
    assert_integrity(demo_db)


def test_grid_option_when_the_roster_has_no_grid_column(tmp_path, demo_db, kiosk):
    headers = ["姓名", "关系", "电话", "住址"]
    rows = [["陈明", "户主", "13812340000", "秋实家园3栋2单元501"], ["周婷", "配偶", "", ""]]
    roster = write_csv(tmp_path / "nogrid.csv", rows, headers)
    out, doc = run_import(kiosk, demo_db, roster)
    assert out.returncode == 2 and doc["error"]["code"] == "no_grid"
    assert "--grid" in out.stderr
    out, doc = run_import(kiosk, demo_db, roster, "--grid", "G999")
    assert out.returncode == 2 and "G999" in out.stderr
    out, doc = run_import(kiosk, demo_db, roster, "--grid", "g002")
    assert out.returncode == 0, out.stderr
    people = imported_people(demo_db)
    assert people["周婷"][4:9] == ("G002", "秋实家园", "3", "2", "501")


def _truncated_xlsx(tmp_path: Path) -> Path:
    good = write_xlsx(tmp_path / "good.xlsx", PERSON_ROWS * 20)
    data = good.read_bytes()
    bad = tmp_path / "truncated.xlsx"
    bad.write_bytes(data[: len(data) // 2])
    return bad


def _encrypted_xlsx(tmp_path: Path) -> Path:
    # What Excel writes for a workbook with an open password: an OLE compound file whose
    # directory names the EncryptionInfo and EncryptedPackage streams.
    header = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)
    directory = "EncryptionInfo".encode("utf-16-le").ljust(128, b"\0") + "EncryptedPackage".encode(
        "utf-16-le"
    ).ljust(128, b"\0")
    path = tmp_path / "locked.xlsx"
    path.write_bytes(header + directory + bytes(2048))
    return path


def _old_xls(tmp_path: Path) -> Path:
    path = tmp_path / "old.xls"
    path.write_bytes(
        bytes.fromhex("d0cf11e0a1b11ae1") + "Workbook".encode("utf-16-le") + bytes(1000)
    )
    return path


def _write(name: str, data: bytes):
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return make


UNREADABLE = {
    "missing": lambda tmp_path: tmp_path / "nope.xlsx",
    "truncated": _truncated_xlsx,
    "encrypted": _encrypted_xlsx,
    "old_xls": _old_xls,
    "empty": _write("empty.csv", b""),
    "not_a_roster": _write("sales.csv", "产品,数量,单价\n苹果,3,5.5\n".encode()),
    "no_rows": _write("header.csv", "姓名,网格,地址\n".encode("gbk")),
    "binary": _write("junk.xlsx", bytes(range(256)) * 10),
}
EXPECTED_CODE = {
    "missing": "missing",
    "truncated": "corrupt_xlsx",
    "encrypted": "encrypted",
    "old_xls": "old_xls",
    "empty": "empty",
    "not_a_roster": "not_a_roster",
    "no_rows": "no_rows",
    "binary": "corrupt_xlsx",
}


@pytest.mark.parametrize("kind", sorted(UNREADABLE))
def test_unreadable_files_exit_2_and_write_nothing(tmp_path, demo_db, kiosk, kind):
    path = UNREADABLE[kind](tmp_path)
    before = snapshot(demo_db)
    out, doc = run_import(kiosk, demo_db, path)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert doc["error"]["code"] == EXPECTED_CODE[kind]
    assert out.stderr.strip() and "Traceback" not in out.stderr
    assert snapshot(demo_db) == before


def test_shipped_examples_import_cleanly_and_only_once(tmp_path, demo_db, kiosk):
    examples = ROOT / "kiosk" / "examples"
    for name in ("roster-example.xlsx", "roster-example.csv"):
        out, doc = run_import(kiosk, demo_db, examples / name)
        assert out.returncode == 0, out.stderr
        assert doc["rejected"] == [] and doc["imported_households"] > 0
    after = snapshot(demo_db)
    for name in ("roster-example.xlsx", "roster-example.csv"):
        out, doc = run_import(kiosk, demo_db, examples / name)
        assert out.returncode == 0 and doc["imported_households"] == 0 and doc["updated"] == 0
    assert snapshot(demo_db) == after
    assert_integrity(demo_db)


def test_workbook_with_several_sheets_and_spreadsheet_damage(tmp_path, demo_db, kiosk):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "说明"
    ws.append(["本表由社区填写，请勿修改表头。"])
    first = wb.create_sheet("春华小区")
    first.append(["姓名", "身份证号", "电话", "网格", "地址", "重点人群"])
    first.append(
        ["王桂英", ident(1944, False), 13812345678, "G001", "春华小区1栋1单元101", "独居、党员"]
    )
    first.append(["李建国", 2.301021968031512e17, "", "G001", "春华小区1栋1单元102", ""])
    first.append(["张丽", "", "1.38123E+10", "G001", "春华小区1栋1单元103", ""])
    second = wb.create_sheet("秋实家园")
    second.append(["序号", "户主姓名", "户主电话", "成员1姓名", "成员1关系", "网格名称", "地址"])
    second.append([1, "陈明", "", "周婷", "配偶", "安静社区第二网格", "秋实家园3栋2单元501"])
    second.append([2, "韩磊", "@SUM(A1:A3)", "", "", "安静社区第二网格", "秋实家园3栋2单元502"])
    path = tmp_path / "multi.xlsx"
    wb.save(path)
    out, doc = run_import(kiosk, demo_db, path)
    assert out.returncode == 1, out.stderr
    assert doc["sheets"] == ["春华小区", "秋实家园"] and doc["layout"] == "household/person"
    assert {(r["sheet"], r["row"]): r["code"] for r in doc["rejected"]} == {
        ("春华小区", 3): "id_number_rounded",
        ("春华小区", 4): "phone_rounded",
        ("秋实家园", 3): "formula",
    }
    assert [(w["code"], w["row"]) for w in doc["warnings"]] == [("unknown_tag", 2)]
    people = imported_people(demo_db)
    assert set(people) == {"王桂英", "陈明", "周婷"}
    assert people["周婷"][4] == "G002" and people["陈明"][0] == "户主"
    assert_integrity(demo_db)


def test_large_roster_reports_progress(tmp_path, demo_db, kiosk):
    rows = []
    for i in range(5200):
        building, rest = divmod(i, 200)
        rows.append(
            [
                f"居民{'甲乙丙丁戊己庚辛壬癸'[i % 10]}",
                "G001",
                "大院小区",
                building + 1,
                rest // 100 + 1,
                101 + rest % 100,
            ]
        )
    roster = write_csv(tmp_path / "big.csv", rows, ["姓名", "网格", "小区", "楼号", "单元", "室"])
    out = kiosk(
        "households", "import", str(roster), "--db", str(demo_db), "--dry-run", as_worker=OFFICE
    )
    assert out.returncode == 0, out.stderr
    assert "已读取 5000 行" in out.stderr and "已写入 5000/5200 户" in out.stderr
    assert "将新增 5200 户、5200 人" in out.stderr


def test_the_same_person_twice_is_one_member_with_both_rows_details(tmp_path, demo_db, kiosk):
    headers = ["姓名", "关系", "电话", "身份证号", "网格", "住址"]
    rows = [
        ["陈明", "户主", "", ident(1979, True), "G002", "秋实家园3栋2单元501"],
        ["周婷", "配偶", "", "", "", ""],
        ["陈明", "", "13812340000", "", "G002", "秋实家园3-2-501"],
        ["陈明", "户主", "13900000000", "", "G002", "秋实家园3-2-501"],
    ]
    out, doc = run_import(kiosk, demo_db, write_csv(tmp_path / "twice.csv", rows, headers))
    assert out.returncode == 1, out.stderr
    assert [(w["row"], w["code"]) for w in doc["warnings"]] == [(4, "duplicate_row")]
    assert [(r["row"], r["code"], r["column"]) for r in doc["rejected"]] == [
        (5, "duplicate_person", "姓名")
    ]
    people = imported_people(demo_db)
    assert people["陈明"][:2] == ("户主", "13812340000") and people["周婷"][0] == "配偶"
    assert doc["imported_members"] == 2


def test_a_grid_worker_imports_only_into_their_own_grids(tmp_path, demo_db, kiosk):
    """The G001 grid worker's roster rows of other grids are rejected, each with its row and
    the reason; the rows of G001 are imported."""
    rows = [
        ["测试甲", "G001", "和平小区", 1, 1, 101],
        ["测试乙", "G002", "和平小区", 1, 1, 102],
        ["测试丙", "G002", "和平小区", 1, 1, 103],
    ]
    roster = write_csv(tmp_path / "mixed.csv", rows, ["姓名", "网格", "小区", "楼号", "单元", "室"])
    out = kiosk(
        "households", "import", str(roster), "--db", str(demo_db), "--json", as_worker="演示网格员"
    )
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["imported_households"] == 1
    assert sorted((r["row"], r["code"]) for r in doc["rejected"]) == [
        (3, "out_of_reach"),
        (4, "out_of_reach"),
    ]
    conn = sqlite3.connect(demo_db)
    try:
        grids = {
            r[0]
            for r in conn.execute(
                "SELECT g.code FROM members m JOIN households h ON h.id = m.household_id"
                " JOIN grids g ON g.id = h.grid_id WHERE m.name LIKE '测试_'"
            )
        }
    finally:
        conn.close()
    assert grids == {"G001"}


def test_a_number_put_right_in_the_next_roster_clears_its_mark(tmp_path, demo_db, kiosk):
    """The office corrects the mistyped ID number and the phone: the same people, updated,
    no longer to verify; nobody registered twice."""
    wrong = [PERSON_ROWS[6], PERSON_ROWS[7]]  # rows 9 and 10: a short phone, a bad check
    out, doc = run_import(kiosk, demo_db, write_csv(tmp_path / "first.csv", wrong))
    assert out.returncode == 0 and [w["code"] for w in doc["warnings"]] == [
        "doubtful_phone",
        "doubtful_id",
    ]
    right = [list(r) for r in wrong]
    right[0][5] = "13812345670"
    right[1][4] = ident(1979, True)
    out, doc = run_import(kiosk, demo_db, write_csv(tmp_path / "second.csv", right))
    assert out.returncode == 0 and doc["warnings"] == [] and doc["updated"] == 2, doc
    assert doc["imported_members"] == 0
    conn = sqlite3.connect(demo_db)
    rows = conn.execute(
        "SELECT name, phone, id_number, to_verify FROM members WHERE name IN ('孙秀兰', '陈明')"
        " ORDER BY name"
    ).fetchall()
    conn.close()
    assert rows == [
        ("孙秀兰", "13812345670", ident(1953, False), ""),
        ("陈明", "", ident(1979, True), ""),
    ]

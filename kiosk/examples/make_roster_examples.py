"""Make the example rosters shipped beside this script (synthetic people, demo grids).

    .venv/bin/python kiosk/examples/make_roster_examples.py

- ``roster-example.xlsx``: one row per person, the way a community keeps its 花名册: a title
  row above the headers, a serial-number column, the address cells of each family merged
  down over its members, ID numbers stored as text.
- ``roster-example.csv``: one row per household (head of household plus numbered member
  columns), a combined 地址 column, UTF-8 with BOM as Excel's "CSV UTF-8" saves it.

Both import cleanly into a demo database (``kiosk demo``): they use grids G001 and G002 of
the demo's 安静社区. Names, phones and ID numbers are made up; ID numbers carry a valid
check character so the importer accepts them.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).parent
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(rng: random.Random, year: int, male: bool) -> str:
    seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
    body = f"230102{year:04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{seq:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11]


def phone(rng: random.Random) -> str:
    return "1" + rng.choice("3578") + str(rng.randrange(10**9)).zfill(9)


# (compound, building, unit, room, grid, [(name, gender, relation, birth year, care)])
PERSON_ROWS = [
    ("春华小区", "1", "1", "101", "G001", [("王桂英", "女", "户主", 1944, "70周岁以上老人、独居")]),
    (
        "春华小区",
        "1",
        "1",
        "102",
        "G001",
        [
            ("李建国", "男", "户主", 1968, ""),
            ("张丽", "女", "配偶", 1970, ""),
            ("李浩", "男", "子", 2006, "适龄青年"),
        ],
    ),
    (
        "春华小区",
        "1",
        "2",
        "301",
        "G001",
        [("赵志成", "男", "户主", 1951, "70周岁以上老人"), ("孙秀兰", "女", "配偶", 1953, "残疾")],
    ),
    (
        "春华小区",
        "2",
        "1",
        "502",
        "G001",
        [("刘芳", "女", "户主", 1985, "困难"), ("刘欣悦", "女", "女", 2012, "")],
    ),
    (
        "秋实家园",
        "3",
        "2",
        "501",
        "G002",
        [
            ("陈明", "男", "户主", 1979, ""),
            ("周婷", "女", "配偶", 1981, "未接种"),
            ("陈国华", "男", "父亲", 1949, "70周岁以上老人"),
        ],
    ),
]

# (grid, address, head (name, gender, birth year), members [(name, relation, gender, year)], care)
HOUSEHOLD_ROWS = [
    ("G001", "春华小区3栋1单元201", ("马淑珍", "女", 1950), [], "独居,70周岁以上老人"),
    (
        "G001",
        "春华小区3号楼1单元202室",
        ("郭海峰", "男", 1975),
        [("何静", "配偶", "女", 1977), ("郭宇", "子", "男", 2004)],
        "",
    ),
    ("G002", "秋实家园1-1-101", ("邓凤", "女", 1962), [("邓建军", "子", "男", 1988)], "困难"),
    ("G002", "秋实家园2栋3单元602", ("韩磊", "男", 1990), [("冯雪", "配偶", "女", 1992)], ""),
]


def make_xlsx(path: Path, rng: random.Random) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "住户花名册"
    headers = [
        "序号",
        "姓名",
        "性别",
        "与户主关系",
        "身份证号",
        "联系电话",
        "社区",
        "网格编号",
        "小区名称",
        "楼栋",
        "单元",
        "房号",
        "重点人群",
        "备注",
    ]
    ws.append(["安静社区住户花名册（示例数据，均为虚构）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(headers)
    n = 0
    for compound, building, unit, room, grid, people in PERSON_ROWS:
        first = ws.max_row + 1
        for i, (name, gender, relation, year, care) in enumerate(people):
            n += 1
            address = (
                ["安静社区", grid, compound, f"{building}栋", f"{unit}单元", room]
                if i == 0
                else [None] * 6
            )
            ws.append(
                [
                    n,
                    name,
                    gender,
                    relation,
                    id_number(rng, year, gender == "男"),
                    phone(rng) if 2026 - year >= 14 else "",
                    *address,
                    care,
                    "",
                ]
            )
        last = ws.max_row
        if last > first:  # address cells merged over the family, as offices do
            for col in range(7, 13):
                ws.merge_cells(start_row=first, start_column=col, end_row=last, end_column=col)
                ws.cell(first, col).alignment = Alignment(vertical="center")
    for row in ws.iter_rows(min_row=3, min_col=5, max_col=6):
        for cell in row:
            cell.number_format = "@"  # ID and phone numbers as text, never as numbers
    widths = [6, 10, 6, 12, 22, 14, 10, 10, 12, 6, 6, 6, 20, 10]
    for i, w in enumerate(widths):
        ws.column_dimensions[chr(65 + i)].width = w
    wb.save(path)


def make_csv(path: Path, rng: random.Random) -> None:
    width = max(len(m) for *_, m, _ in HOUSEHOLD_ROWS)
    headers = [
        "网格编号",
        "地址",
        "户主姓名",
        "户主性别",
        "户主身份证号",
        "户主电话",
        "户主出生年份",
    ]
    for k in range(1, width + 1):
        headers += [f"成员{k}姓名", f"成员{k}关系", f"成员{k}身份证号", f"成员{k}电话"]
    headers += ["重点人群"]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        for grid, address, (name, gender, year), members, care in HOUSEHOLD_ROWS:
            row = [
                grid,
                address,
                name,
                gender,
                id_number(rng, year, gender == "男"),
                phone(rng),
                year,
            ]
            for k in range(width):
                if k < len(members):
                    m_name, rel, m_gender, m_year = members[k]
                    row += [
                        m_name,
                        rel,
                        id_number(rng, m_year, m_gender == "男"),
                        phone(rng) if 2026 - m_year >= 14 else "",
                    ]
                else:
                    row += ["", "", "", ""]
            w.writerow([*row, care])


def main() -> None:
    rng = random.Random(20260105)
    make_xlsx(HERE / "roster-example.xlsx", rng)
    make_csv(HERE / "roster-example.csv", rng)
    print("wrote", HERE / "roster-example.xlsx", "and", HERE / "roster-example.csv")


if __name__ == "__main__":
    main()

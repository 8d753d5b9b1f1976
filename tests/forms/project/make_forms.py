"""Writes the corpus forms made by the project (run from the repository root):
features no public form in the corpus shows together: Chinese labels, a
select_one_from_file CSV, ``label:English`` single-colon headers, a ``save_to`` column."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent


def _book(sheets: dict[str, list[list[object]]], path: Path) -> None:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)


def grid_household_zh() -> None:
    zh, en = "中文 (zh)", "English (en)"
    survey = [
        [
            "type",
            "name",
            f"label::{zh}",
            f"label::{en}",
            f"hint::{zh}",
            "required",
            "relevant",
            "constraint",
            "calculation",
            "choice_filter",
            "repeat_count",
            f"image::{en}",
            "备注",
        ],
        [
            "begin group",
            "household",
            "住户信息",
            "Household",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
        [
            "select_one_from_file communities.csv",
            "community",
            "所属社区",
            "Community",
            None,
            "yes",
            None,
            None,
            None,
            None,
            None,
            None,
            "社区名单由街道提供",
        ],
        [
            "select_one street",
            "street",
            "街道",
            "Street",
            None,
            "yes",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
        [
            "select_one lane",
            "lane",
            "小区",
            "Estate",
            None,
            None,
            None,
            None,
            None,
            "street=${street}",
            None,
            None,
            None,
        ],
        [
            "text",
            "address",
            "门牌号",
            "Door number",
            "例如：3栋2单元501",
            "yes",
            None,
            None,
            None,
            None,
            None,
            "door.jpg",
            None,
        ],
        [
            "integer",
            "members_n",
            "户籍人数",
            "Registered members",
            None,
            "yes",
            None,
            ". >= 0 and . < 100",
            None,
            None,
            None,
            None,
            None,
        ],
        [
            "geopoint",
            "location",
            "位置",
            "Location",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
        ["end group", None, None, None, None, None, None, None, None, None, None, None, None],
        [
            "begin repeat",
            "members",
            "家庭成员",
            "Members",
            None,
            None,
            "${members_n} > 0",
            None,
            None,
            None,
            "${members_n}",
            None,
            None,
        ],
        [
            "text",
            "member_name",
            "姓名",
            "Name",
            None,
            "yes",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
        [
            "select_one relation",
            "relation",
            "与户主关系",
            "Relation to the head",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
        [
            "integer",
            "age",
            "年龄",
            "Age",
            None,
            None,
            None,
            ". >= 0 and . < 130",
            None,
            None,
            None,
            None,
            None,
        ],
        ["end repeat", None, None, None, None, None, None, None, None, None, None, None, None],
        [
            "calculate",
            "elderly",
            None,
            None,
            None,
            None,
            None,
            None,
            "count(${age}[. >= 60])",
            None,
            None,
            None,
            None,
        ],
        [
            "select_multiple needs",
            "needs",
            "需要的帮助",
            "Help needed",
            "可多选",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
        [
            "image",
            "door_photo",
            "门牌照片",
            "Door photo",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
        [
            "note",
            "summary",
            "本户 60 岁以上 ${elderly} 人。",
            "${elderly} aged 60 or over.",
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ]
    choices = [
        ["list_name", "name", f"label::{zh}", f"label::{en}", "street"],
        ["street", "east", "东街街道", "East Street", None],
        ["street", "west", "西街街道", "West Street", None],
        ["lane", "plum", "梅园小区", "Plum Garden", "east"],
        ["lane", "bamboo", "竹苑小区", "Bamboo Court", "east"],
        ["lane", "pine", "松林小区", "Pine Grove", "west"],
        # ODK allows spaces in choice names of a select_one
        ["relation", "head of household", "户主", "Head of household", None],
        ["relation", "spouse", "配偶", "Spouse", None],
        ["relation", "child", "子女", "Child", None],
        ["relation", "other relative", "其他亲属", "Other relative", None],
        ["needs", "elderly_care", "养老服务", "Elderly care", None],
        ["needs", "medical", "就医", "Medical care", None],
        ["needs", "employment", "就业", "Employment", None],
    ]
    settings = [
        ["form_title", "form_id", "version", "default_language"],
        ["入户走访登记", "grid_household_zh", "2026120501", zh],
    ]
    _book(
        {"survey": survey, "choices": choices, "settings": settings},
        HERE / "grid_household_zh.xlsx",
    )
    (HERE / "communities.csv").write_text(
        "name,label\nc01,幸福社区\nc02,和平社区\nc03,光明社区\n", encoding="utf-8"
    )


def single_colon_labels() -> None:
    survey = [
        [
            "type",
            "name",
            "label:English",
            "label:Chinese",
            "hint:English",
            "constraint",
            "constraint_message:English",
            "constraint_message:Chinese",
        ],
        [
            "integer",
            "rooms",
            "Rooms",
            "房间数",
            "Bedrooms and living rooms",
            ". > 0",
            "At least one",
            "至少一间",
        ],
        ["select_one yn", "rented", "Rented out?", "是否出租", None, None, None, None],
    ]
    choices = [
        ["list_name", "name", "label:English", "label:Chinese"],
        ["yn", "yes", "Yes", "是"],
        ["yn", "no", "No", "否"],
    ]
    _book({"survey": survey, "choices": choices}, HERE / "single_colon_labels.xlsx")


def geo_marks() -> None:
    """A GeoJSON list for the osm-fieldwork forms, which ship without theirs (their field
    tool fills it per project)."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [116.39 + i / 100, 39.9]},
            "properties": {"id": str(i), "label": f"Feature {i}"},
        }
        for i in (1, 2)
    ]
    text = json.dumps({"type": "FeatureCollection", "features": features}, indent=1)
    for name in ("waterpoints.geojson", "buildings.geojson"):
        (HERE.parent / "osm-fieldwork" / name).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    grid_household_zh()
    single_colon_labels()
    geo_marks()

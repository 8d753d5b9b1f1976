"""Case categories: the built-in table and a district's own TOML file."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.core.errors import UserError
from kiosk.domain.categories import DEFAULT, parse_toml

TABLE = """
[[group]]
code = "roads"
zh = "道路"
en = "Roads"
  [[group.sub]]
  code = "pothole"
  zh = "坑洼"
  en = "Pothole"
[[group]]
code = "misc"
zh = "杂项"
"""


def test_builtin_table_has_the_five_groups_and_the_field_categories():
    assert [g.zh for g in DEFAULT.groups] == [
        "城建城管执法",
        "民生服务",
        "文教卫生",
        "信访维稳安全",
        "其他",
    ]
    for name in (
        "停车",
        "电动车充电",
        "路灯",
        "路面维修",
        "车辆停放",
        "环境卫生",
        "漏雨",
        "下水堵",
        "断头路",
        "噪音扰民",
        "塌陷路",
        "垃圾死点",
    ):
        assert DEFAULT.resolve(name).zh == name
    assert DEFAULT.resolve("urban.parking").code == "parking"
    assert DEFAULT.resolve("Roof leak").code == "roof_leak"
    with pytest.raises(UserError) as err:
        DEFAULT.resolve("teleport")
    assert err.value.key == "cases.error.unknown_category"


def test_toml_table(tmp_path):
    path = tmp_path / "cats.toml"
    path.write_text(TABLE, encoding="utf-8")
    cats = parse_toml(path)
    assert cats.resolve("坑洼").group == "roads"
    assert cats.resolve("misc").group == "misc"  # a group without subs is its own category
    bad = tmp_path / "bad.toml"
    bad.write_text('[[group]]\ncode = "x"\n', encoding="utf-8")
    with pytest.raises(UserError) as err:
        parse_toml(bad)
    assert "zh" in err.value.message()


def test_cli_uses_the_configured_table(kiosk, demo_db, tmp_path):
    path = tmp_path / "cats.toml"
    path.write_text(TABLE, encoding="utf-8")
    hh = sqlite3.connect(demo_db).execute("SELECT id FROM households LIMIT 1").fetchone()[0]
    env = {"KIOSK_CASE_CATEGORIES": str(path)}
    out = kiosk(
        "cases",
        "add",
        "--db",
        str(demo_db),
        "--household",
        hh,
        "--category",
        "坑洼",
        "--summary",
        "路面坑洼",
        env=env,
        as_worker="演示网格员",
    )
    assert out.returncode == 0, out.stderr
    refused = kiosk(
        "cases",
        "add",
        "--db",
        str(demo_db),
        "--household",
        hh,
        "--category",
        "parking",
        "--summary",
        "停车",
        env=env,
        as_worker="演示网格员",
    )
    assert refused.returncode != 0 and "pothole" in refused.stderr
    path.write_text("[[group]\n", encoding="utf-8")
    broken = kiosk(
        "cases",
        "add",
        "--db",
        str(demo_db),
        "--household",
        hh,
        "--category",
        "坑洼",
        "--summary",
        "x",
        env=env,
        as_worker="演示网格员",
    )
    assert broken.returncode != 0 and "cats.toml" in broken.stderr
    assert "Traceback" not in broken.stderr

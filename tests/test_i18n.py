"""One translation layer: both catalogues carry the same keys, and code uses only known keys."""

import re
from pathlib import Path

from kiosk.core.i18n import catalogue, set_language, t

ROOT = Path(__file__).resolve().parent.parent


def test_catalogues_have_the_same_keys():
    zh, en = catalogue("zh"), catalogue("en")
    assert sorted(set(zh) - set(en)) == []
    assert sorted(set(en) - set(zh)) == []


def test_placeholders_match_between_languages():
    zh, en = catalogue("zh"), catalogue("en")
    for key in zh:
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_literal_keys_used_in_code_exist():
    zh = catalogue("zh")
    pattern = re.compile(r"""\bt\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")
    missing = []
    for folder in ("kiosk", "screens"):
        for path in (ROOT / folder).rglob("*.py"):
            for key in pattern.findall(path.read_text(encoding="utf-8")):
                if key not in zh:
                    missing.append(f"{path.relative_to(ROOT)}: {key}")
    assert missing == []


def test_fallback_and_formatting():
    set_language("en")
    assert t("cli.households.no_match", query="x") == "No household matches “x”."
    assert t("no.such.key") == "no.such.key"
    set_language("zh")
    assert t("cli.households.no_match", query="x") == "没有找到与“x”匹配的住户。"


def test_audit_catalogues_are_parallel():
    """The audit trail's catalogue (kiosk/core/locale/*/audit.toml): same keys, same placeholders."""
    import tomllib

    from kiosk.core.i18n import _flatten

    def load(lang: str) -> dict[str, str]:
        out: dict[str, str] = {}
        with (ROOT / "kiosk" / "core" / "locale" / lang / "audit.toml").open("rb") as fh:
            _flatten("", tomllib.load(fh), out)
        return out

    zh, en = load("zh_CN"), load("en")
    assert sorted(zh) == sorted(en)
    for key in zh:
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_compiled_catalogue_is_used_and_remade_when_a_file_changes(tmp_path, monkeypatch):
    """The catalogue loads from its compiled copy, never from a copy older than the files."""
    import shutil

    import kiosk.core.i18n as i18n

    locale = tmp_path / "locale"
    shutil.copytree(Path(i18n.__file__).parent / "locale", locale)
    monkeypatch.setattr(i18n, "_LOCALE", locale)
    monkeypatch.setenv("KIOSK_CACHE_DIR", str(tmp_path / "cache"))
    i18n.catalogue.cache_clear()
    try:
        first = i18n.catalogue("zh")
        compiled = list((tmp_path / "cache").glob("locale-zh-*.marshal"))
        assert len(compiled) == 1
        i18n.catalogue.cache_clear()
        assert i18n.catalogue("zh") == first  # read back from the compiled copy
        (locale / "zh_CN" / "zz_test.toml").write_text('[test]\nadded = "新加的"\n', "utf-8")
        i18n.catalogue.cache_clear()
        assert i18n.catalogue("zh")["test.added"] == "新加的"
        compiled[0].write_bytes(b"not marshal data")  # a damaged copy is read past
        (locale / "zh_CN" / "zz_test.toml").unlink()
        i18n.catalogue.cache_clear()
        assert i18n.catalogue("zh") == first
    finally:
        monkeypatch.undo()
        i18n.catalogue.cache_clear()


def test_catalogue_loads_when_the_cache_folder_cannot_be_written(tmp_path, monkeypatch):
    import kiosk.core.i18n as i18n

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KIOSK_CACHE_DIR", str(blocker / "cache"))
    i18n.catalogue.cache_clear()
    try:
        assert i18n.catalogue("en")["app.title"]
    finally:
        monkeypatch.undo()
        i18n.catalogue.cache_clear()


def test_english_counts_agree_with_their_number():
    set_language("en")
    try:
        assert t("home.summary", households=1, members=1, pending=1) == (
            "1 household · 1 person · 1 change to sync"
        )
        assert t("home.summary", households=2, members=3, pending=0) == (
            "2 households · 3 people · 0 changes to sync"
        )
        assert t("sync.pending", n=1).startswith("1 change waiting")
    finally:
        set_language("zh")
    assert t("home.summary", households=1, members=1, pending=1) == "1 户 · 1 人 · 待同步 1 条"


def test_times_read_in_local_time_and_the_interfaces_language(monkeypatch):
    import time

    from kiosk.core.i18n import when

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert when("2026-12-03T07:39:32+00:00") == "2026年12月3日 15:39"
        set_language("en")
        assert when("2026-12-03T07:39:32+00:00") == "3 Dec 2026 15:39"
        assert when("not a time") == "not a time" and when(None) == ""
    finally:
        set_language("zh")
        monkeypatch.delenv("TZ")
        time.tzset()

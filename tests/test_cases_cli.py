"""``kiosk cases`` run as a real subprocess: its options, output and exit codes, and bad input."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

import pytest
from conftest import run_kiosk

from kiosk.demo.district import DEMO_ACCOUNTS


@pytest.fixture
def kiosk():
    """``kiosk`` as the demo supervisor: assigning, escalating, closing and reopening are a
    supervisor's (kiosk.security.roles), and the first households are in their community."""

    def run(*args, as_worker=DEMO_ACCOUNTS["supervisor"][0], **kwargs):  # type: ignore[no-untyped-def]
        return run_kiosk(*args, as_worker=as_worker, **kwargs)

    return run


def _household(db) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT id FROM households ORDER BY rid LIMIT 1").fetchone()[0]
    finally:
        conn.close()


def _counts(db) -> tuple[int, int, int]:
    conn = sqlite3.connect(db)
    try:
        return tuple(
            conn.execute(
                "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_events),"
                " (SELECT count(*) FROM outbox)"
            ).fetchone()
        )
    finally:
        conn.close()


def _ok(kiosk, *args):
    out = kiosk(*args)
    assert out.returncode == 0, out.stderr
    return out


def test_a_case_from_registration_to_closing(kiosk, demo_db):
    db = str(demo_db)
    hh = _household(demo_db)
    out = _ok(
        kiosk,
        "cases",
        "add",
        "--db",
        db,
        "--household",
        hh,
        "--category",
        "roof_leak",
        "--summary",
        "顶楼漏雨",
    )
    cid = out.stdout.strip()
    assert len(cid) == 36 and "\n" not in cid

    def show():
        doc = json.loads(_ok(kiosk, "cases", "show", cid, "--db", db, "--json").stdout)
        return doc

    doc = show()
    assert doc["id"] == cid and doc["status"] == "registered"
    assert doc["escalation_level"] == 0 and doc["overdue"] is False
    assert doc["households"] == [hh]
    assert [e["type"] for e in doc["events"]] == ["register"]
    assert {"type", "at", "by"} <= set(doc["events"][0])
    due = (date.today() + timedelta(days=10)).isoformat()
    _ok(
        kiosk,
        "cases",
        "act",
        cid,
        "assign",
        "--db",
        db,
        "--department",
        "房管所",
        "--person",
        "王主任",
        "--due",
        due,
    )
    doc = show()
    assert (doc["status"], doc["department"], doc["due"]) == ("assigned", "房管所", due)
    _ok(kiosk, "cases", "act", cid, "progress", "--db", db, "--note", "已联系施工队")
    assert show()["status"] == "in_progress"
    _ok(kiosk, "cases", "act", cid, "escalate", "--db", db, "--level", "2")
    assert show()["escalation_level"] == 2
    _ok(kiosk, "cases", "act", cid, "resolve", "--db", db, "--note", "已修好")
    _ok(kiosk, "cases", "act", cid, "follow-up", "--db", db)
    _ok(kiosk, "cases", "act", cid, "rate", "--db", db, "--rating", "不满意")
    assert show()["status"] == "in_progress"  # 不满意 reopens
    _ok(kiosk, "cases", "act", cid, "resolve", "--db", db)
    _ok(kiosk, "cases", "act", cid, "rate", "--db", db, "--rating", "basic")
    out = _ok(kiosk, "cases", "act", cid, "close", "--db", db, "--json")
    doc = json.loads(out.stdout)
    assert doc["status"] == "closed" and doc["escalation_level"] == 0
    assert [e["type"] for e in doc["events"]] == [
        "register",
        "assign",
        "progress",
        "escalate",
        "resolve",
        "follow_up",
        "rate",
        "resolve",
        "rate",
        "close",
    ]
    assert all(e["valid"] for e in doc["events"])
    listed = json.loads(
        _ok(kiosk, "cases", "list", "--db", db, "--status", "closed", "--json").stdout
    )
    assert cid in [c["id"] for c in listed["cases"]]


def test_resolve_on_spot_unreachable_close_and_repeat(kiosk, demo_db):
    db = str(demo_db)
    hh = _household(demo_db)
    a = _ok(
        kiosk,
        "cases",
        "add",
        "--db",
        db,
        "--household",
        hh,
        "--category",
        "路灯",
        "--summary",
        "路灯不亮",
    ).stdout.strip()
    _ok(kiosk, "cases", "act", a, "resolve-on-spot", "--db", db)
    for _ in range(2):
        _ok(kiosk, "cases", "act", a, "follow-up", "--db", db, "--unreached")
    refused = kiosk("cases", "act", a, "close", "--db", db, "--note", "长期外出")
    assert refused.returncode != 0  # 3 attempts are needed by default
    _ok(kiosk, "cases", "act", a, "follow-up", "--db", db, "--unreached")
    _ok(kiosk, "cases", "act", a, "close", "--db", db, "--note", "长期外出")
    out = _ok(
        kiosk,
        "cases",
        "add",
        "--db",
        db,
        "--household",
        hh,
        "--category",
        "street_lights",
        "--summary",
        "路灯不亮",
        "--json",
    )
    added = json.loads(out.stdout)
    assert a in [c["id"] for c in added["repeat_candidates"]]
    b = added["id"]
    _ok(kiosk, "cases", "act", b, "repeat-of", "--db", db, "--of", a)
    doc = json.loads(_ok(kiosk, "cases", "show", b, "--db", db, "--json").stdout)
    assert doc["status"] == "closed" and doc["repeat_of"] == a


def test_list_filters_and_overdue(kiosk, demo_db):
    db = str(demo_db)
    doc = json.loads(_ok(kiosk, "cases", "list", "--db", db, "--overdue", "--json").stdout)
    assert doc["total"] > 0
    today = date.today().isoformat()
    assert all(
        c["overdue"] and c["due"] < today and c["escalation_level"] >= 1 for c in doc["cases"]
    )
    doc = json.loads(
        _ok(kiosk, "cases", "list", "--db", db, "--status", "in_progress", "--json").stdout
    )
    assert doc["cases"] and all(c["status"] == "in_progress" for c in doc["cases"])
    out = _ok(kiosk, "cases", "list", "--db", db)
    assert "编号" in out.stdout


@pytest.mark.parametrize(
    "args, needle",
    [
        (["add", "--category", "flying_cars", "--summary", "x"], "未知的事项类别"),
        (["act", "{cid}", "demolish"], "未知的动作"),
        (
            ["act", "{cid}", "assign", "--department", "d", "--due", "2001-01-01"],
            "办理时限不能早于挂号日期",
        ),
        (["act", "{cid}", "assign", "--department", "d", "--due", "next week"], "YYYY-MM-DD"),
        (["act", "{cid}", "rate", "--rating", "satisfied"], "只有已办结的事项才能由群众评价"),
        (["act", "{cid}", "close"], "只有已办结的事项才能销号"),
        (["act", "{cid}", "assign"], "责任单位"),
        (["act", "{cid}", "repeat-of", "--of", "{cid}"], "不能与自己重复"),
        (["list", "--status", "lost"], "未知的状态"),
        (["show", "no-such-case", "--json"], "找不到事项"),
    ],
)
def test_bad_input_is_refused_naming_the_rule_and_writes_nothing(kiosk, demo_db, args, needle):
    db = str(demo_db)
    hh = _household(demo_db)
    cid = _ok(
        kiosk,
        "cases",
        "add",
        "--db",
        db,
        "--household",
        hh,
        "--category",
        "noise",
        "--summary",
        "噪音",
    ).stdout.strip()
    args = [a.replace("{cid}", cid) for a in args]
    if args[0] == "add":
        args += ["--household", hh]
    before = _counts(demo_db)
    out = kiosk("cases", *args, "--db", db)
    assert out.returncode != 0
    assert needle in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert _counts(demo_db) == before


def test_rating_outside_the_scale_and_closing_without_rating(kiosk, demo_db):
    db = str(demo_db)
    cid = _ok(
        kiosk,
        "cases",
        "add",
        "--db",
        db,
        "--household",
        _household(demo_db),
        "--category",
        "sewer",
        "--summary",
        "下水堵",
    ).stdout.strip()
    _ok(kiosk, "cases", "act", cid, "resolve", "--db", db)
    before = _counts(demo_db)
    out = kiosk("cases", "act", cid, "rate", "--db", db, "--rating", "5")
    assert out.returncode != 0 and "满意" in out.stderr
    out = kiosk("cases", "act", cid, "close", "--db", db, "--lang", "en")
    assert out.returncode != 0 and "rating" in out.stderr
    assert _counts(demo_db) == before


def test_a_case_is_registered_on_a_household_by_its_label_code_in_any_case(
    kiosk, demo_db, tmp_path
):
    """The code a scanner types (Caps Lock on: lower case; hyphens or none) names the
    household, as the help and docs/cases.md say."""
    from kiosk.qr.payload import make

    db = str(demo_db)
    hid = _household(db)
    _ok(kiosk, "labels", "--household", hid, "--out", str(tmp_path / "l.pdf"), "--db", db)
    conn = sqlite3.connect(db)
    code = conn.execute(
        "SELECT code FROM labels WHERE household_id = ? AND kind = 'HH'", (hid,)
    ).fetchone()[0]
    conn.close()
    text = make("HH", code).text
    for typed in (text.lower(), text.replace("-", "")):
        doc = json.loads(
            _ok(
                kiosk,
                "cases",
                "add",
                "--db",
                db,
                "--household",
                typed,
                "--category",
                "roof_leak",
                "--summary",
                "楼顶漏雨",
                "--json",
            ).stdout
        )
        conn = sqlite3.connect(db)
        linked = conn.execute(
            "SELECT household_id FROM case_households WHERE case_id = ?", (doc["id"],)
        ).fetchall()
        conn.close()
        assert linked == [(hid,)]
    damaged = kiosk(
        "cases",
        "add",
        "--db",
        db,
        "--household",
        text[:-3],
        "--category",
        "roof_leak",
        "--summary",
        "x",
    )
    assert damaged.returncode != 0 and "Traceback" not in damaged.stderr
    assert "标签" in damaged.stderr or "码" in damaged.stderr, damaged.stderr

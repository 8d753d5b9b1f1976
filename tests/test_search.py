"""Household search on a demo district: every query kind, best first, bad input."""

import pytest

from db.areas import get_or_create_compound, get_or_create_grid
from db.connection import transaction
from db.households import MemberInput, create_household
from db.search import search_households
from tests.conftest import ADMINISTRATOR, acting_as


@pytest.fixture
def known(runtime):
    """Two households with known people, added to a 600-household demo district."""
    ctx = runtime.ctx
    with acting_as(runtime, ADMINISTRATOR), transaction(ctx.conn):
        grid = get_or_create_grid(ctx, "G900", "测试网格", "安静社区", "新阳路街道", "道里区")
        compound = get_or_create_compound(ctx, grid.id, "翠微里小区")
        a = create_household(
            ctx,
            grid_id=grid.id,
            compound_id=compound.id,
            building="3",
            unit="2",
            room="501",
            members=[
                MemberInput("张焕丽", "户主", "女", "13812345678"),
                MemberInput("曾国强", "配偶", "男", "13900004321"),
            ],
        )
        b = create_household(
            ctx,
            grid_id=grid.id,
            compound_id=compound.id,
            building="12",
            unit="1",
            room="1102",
            members=[MemberInput("单雪梅", "户主", "女", "15000009999")],
        )
    return runtime.conn, a, b


def ids(hits):
    return [h.household.id for h in hits]


@pytest.mark.parametrize(
    "query",
    [
        "张焕丽",
        "zhl",
        "zhanghuanli",
        "ZHL",
        "zhanghuan",
        "5678",
        "13812345678",
        "翠微里小区3栋2单元501",
        "翠微里3-2-501",
    ],
)
def test_each_query_kind_finds_the_household(known, query):
    conn, a, _ = known
    assert a in ids(search_households(conn, query, limit=50))


@pytest.mark.parametrize("query", ["zgq", "cgq", "zengguoqiang", "cengguoqiang", "4321"])
def test_second_member_and_both_surname_readings(known, query):
    conn, a, _ = known
    assert a in ids(search_households(conn, query, limit=50))


@pytest.mark.parametrize(
    "query",
    ["sxm", "dxm", "danxuemei", "shanxuemei", "12号楼1单元1102室", "12-1-1102", "12栋1单元1102"],
)
def test_shan_dan_and_addresses(known, query):
    conn, _, b = known
    assert b in ids(search_households(conn, query, limit=50))


def test_exact_matches_come_first(known):
    conn, a, _ = known
    hits = search_households(conn, "张焕丽", limit=10)
    assert hits[0].household.id == a and hits[0].rank == 0


def test_compound_name_lists_its_households(known):
    conn, a, b = known
    assert set(ids(search_households(conn, "翠微里", limit=10))) == {a, b}
    assert set(ids(search_households(conn, "cwlxq", limit=10))) >= {a, b}


def test_address_without_compound_finds_every_compound(known):
    conn, a, _ = known
    hits = search_households(conn, "3栋2单元501", limit=100)
    assert a in ids(hits)
    assert all(
        h.household.building == "3" and h.household.unit == "2" and h.household.room == "501"
        for h in hits
        if h.rank == 0
    )


def test_phone_suffix_longer_than_four_digits_filters(known):
    conn, a, _ = known
    assert ids(search_households(conn, "2345678")) == [a]


def test_paging_returns_disjoint_pages(runtime):
    conn = runtime.conn
    first = ids(search_households(conn, "z", limit=10))
    second = ids(search_households(conn, "z", limit=10, offset=10))
    assert len(first) == 10 and len(second) == 10 and not set(first) & set(second)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "x" * 10_000,
        '"',
        "*",
        "NEAR",
        "'",
        "a' OR 1=1 --",
        "张*",
        "😀",
        "\x00",
        "%",
        "_",
        "\\",
        "HH1:",
        "-",
        "栋",
    ],
)
def test_bad_input_never_crashes(runtime, query):
    hits = search_households(runtime.conn, query, limit=5)
    assert isinstance(hits, list)


@pytest.mark.parametrize(
    ("query", "member"),
    [
        ("zgq", "曾国强"),
        ("cengguoqiang", "曾国强"),
        ("曾国", "曾国强"),
        ("4321", "曾国强"),
        ("13900004321", "曾国强"),
        ("zhl", "张焕丽"),
        ("翠微里3-2-501", ""),
    ],
)
def test_a_hit_names_the_member_who_matched(known, query, member):
    """The result row shows the head of household; the member searched for is named too."""
    from kiosk.core.i18n import set_language
    from kiosk.domain import present

    conn, a, _ = known
    hit = next(h for h in search_households(conn, query, limit=50) if h.household.id == a)
    assert hit.member == member
    set_language("en")
    shown = present.match(hit)
    if member and member != hit.household.head_name:
        assert shown == f"{member} ({present.t(f'match.{hit.matched}')})"
    else:
        assert shown == present.t(f"match.{hit.matched}")

"""Roster headers and cell values: property tests for the parsers the import relies on."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.households.roster.apply import column_letter
from kiosk.households.roster.fields import (
    HEADER_SPELLINGS,
    CellError,
    classify_header,
    id_check_char,
    is_formula,
    parse_birth_year,
    parse_full_address,
    parse_id_number,
    parse_name,
    parse_phone,
    parse_tags,
)
from kiosk.households.roster.read import detect_encoding

TODAY = dt.date(2026, 11, 21)
SPELLINGS = [(f, s) for f, spellings in HEADER_SPELLINGS.items() for s in spellings]
FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


@st.composite
def decorated(draw, text: str) -> str:
    """A header as people type it: padding, a required-field star, a note in brackets."""
    pad = st.sampled_from(["", " ", "  ", "\u3000", "\t"])
    note = draw(st.sampled_from(["", "（必填）", "(选填)", "【必填】", "*", "＊", "：", ":"]))
    spaced = draw(st.booleans()) and len(text) == 2
    body = f"{text[0]} {text[1]}" if spaced else text
    return draw(pad) + body + note + draw(pad)


@given(st.sampled_from(SPELLINGS).flatmap(lambda fs: st.tuples(st.just(fs[0]), decorated(fs[1]))))
def test_every_accepted_header_spelling_maps_to_its_field(pair):
    field, header = pair
    col = classify_header(header)
    assert col is not None and col.field == field and col.member == 0


@given(
    st.sampled_from(
        [
            (f, s)
            for f, s in SPELLINGS
            if f in ("name", "relation", "phone", "id_number", "birth", "gender")
        ]
    ),
    st.integers(1, 12),
    st.sampled_from(["成员", "家庭成员"]),
)
def test_numbered_member_headers(pair, n, prefix):
    field, spelling = pair
    col = classify_header(f"{prefix}{n}{spelling}")
    assert col is not None and (col.field, col.member) == (field, n)
    head = classify_header(f"户主{spelling}")
    assert head is not None and (head.field, head.member, head.head) == (field, 0, True)


@given(st.text(max_size=12))
def test_classify_header_never_fails(text):
    classify_header(text)


@st.composite
def mobile_cells(draw) -> tuple[str, str]:
    digits = (
        "1"
        + draw(st.sampled_from("3456789"))
        + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9)))
    )
    sep = draw(st.sampled_from(["", " ", "-", "－", " - "]))
    body = digits[:3] + sep + digits[3:7] + sep + digits[7:]
    prefix = draw(st.sampled_from(["", "+86 ", "+86", "0086", "86", "(+86)"]))
    if prefix == "86":
        body = digits
    return digits, prefix + body


@given(mobile_cells())
def test_mobile_numbers_in_any_spelling(pair):
    digits, cell = pair
    assert parse_phone(cell) == (digits, 0)
    assert parse_phone(int(digits)) == (digits, 0)
    assert parse_phone(float(digits)) == (digits, 0)


@given(
    st.text("0123456789", min_size=1, max_size=20).filter(
        lambda d: len(d) not in (7, 8, 10, 11, 12) and not (len(d) == 13 and d.startswith("86"))
    )
)
def test_digit_strings_of_no_phone_length_are_refused(d):
    with pytest.raises(CellError):
        parse_phone(d)


def test_phone_cells_that_lost_digits():
    with pytest.raises(CellError) as e:
        parse_phone("1.38123E+10")
    assert e.value.code == "phone_rounded"
    assert parse_phone("13812345678/0451-86661234") == ("13812345678", 1)
    assert parse_phone("") == ("", 0)


@st.composite
def id_numbers(draw) -> tuple[str, int, str]:
    born = draw(st.dates(dt.date(1900, 1, 1), TODAY))
    region = draw(st.sampled_from(["230102", "110105", "440305", "510104"]))
    seq = draw(st.integers(0, 999))
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + id_check_char(body), born.year, "男" if seq % 2 else "女"


@given(id_numbers())
def test_valid_id_numbers_are_taken(data):
    number, year, gender = data
    got = parse_id_number(number.lower(), TODAY)
    assert got is not None and (got.number, got.birth_year, got.gender) == (number, year, gender)


@given(id_numbers(), st.integers(0, 16), st.integers(1, 9))
def test_any_single_mistyped_digit_is_caught(data, position, delta):
    number = data[0]
    wrong = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    with pytest.raises(CellError):
        parse_id_number(wrong, TODAY)


def test_id_numbers_rounded_by_a_spreadsheet():
    with pytest.raises(CellError) as e:
        parse_id_number(2.301021950010112e17, TODAY)
    assert e.value.code == "id_number_rounded"
    with pytest.raises(CellError) as e:
        parse_id_number("2.30102E+17", TODAY)
    assert e.value.code == "id_number_rounded"


@given(
    st.dates(dt.date(1900, 1, 1), TODAY),
    st.sampled_from(
        [
            "{y}",
            "{y}年",
            "{y}-{m:02d}-{d:02d}",
            "{y}/{m}/{d}",
            "{y}.{m:02d}",
            "{y}年{m}月",
            "{y}年{m}月{d}日",
            "{y}{m:02d}{d:02d}",
            "{y}{m:02d}",
        ]
    ),
)
def test_birth_dates_in_any_spelling(born, fmt):
    text = fmt.format(y=born.year, m=born.month, d=born.day)
    assert parse_birth_year(text, TODAY) == born.year
    assert parse_birth_year(born, TODAY) == born.year
    serial = (born - dt.date(1899, 12, 30)).days
    if serial > TODAY.year:  # a date cell read without its format
        assert parse_birth_year(serial, TODAY) == born.year


TAG_WORDS = {
    "70周岁以上老人": "elderly70",
    "70岁以上": "elderly70",
    "八十岁以上老人": "elderly70",
    "独居": "alone",
    "孤寡老人": "alone",
    "残疾": "disabled",
    "丧失自主生活能力": "disabled",
    "困难": "hardship",
    "低保户": "hardship",
    "未接种": "unvaccinated",
    "适龄青年": "conscription",
    "elderly70": "elderly70",
}


@given(
    st.lists(st.sampled_from(sorted(TAG_WORDS)), min_size=1, max_size=5),
    st.sampled_from(["、", ",", "，", ";", " ", "/", "；"]),
)
def test_care_tags_in_any_combination(words, sep):
    codes, unknown = parse_tags(sep.join(words))
    assert set(codes) == {TAG_WORDS[w] for w in words} and unknown == []


def test_unknown_care_words_are_kept_apart():
    assert parse_tags("独居、党员") == (["alone"], ["党员"])
    assert parse_tags("无") == ([], [])


CJK = st.sampled_from("阳光和平安居幸福丽江金色兴隆友谊建设新城春华秋实雅居")


@given(
    st.text(CJK, min_size=2, max_size=6).map(lambda s: s + "小区"),
    st.integers(1, 40),
    st.integers(1, 9),
    st.integers(101, 2404),
    st.sampled_from(
        [
            "{b}栋{u}单元{r}",
            "{b}号楼{u}单元{r}室",
            "{b}-{u}-{r}",
            "{b}幢{u}单元{r}号",
            "{b}#{u}-{r}",
        ]
    ),
    st.sampled_from(["", "安静社区", "新阳路街道安静社区"]),
)
def test_combined_address_cells(compound, b, u, r, fmt, prefix):
    cell = prefix + compound + fmt.format(b=b, u=u, r=r)
    assert parse_full_address(cell) == (compound, str(b), str(u), str(r))


@given(st.text(max_size=30))
def test_address_parser_only_answers_or_refuses(text):
    try:
        parse_full_address(text)
    except CellError as e:
        assert e.code == "bad_address"


@given(st.text(min_size=1, max_size=40))
def test_text_after_equals_is_always_a_formula(body):
    assert is_formula("=" + body)
    assert is_formula(" =" + body)


@given(mobile_cells())
def test_phone_numbers_and_dashes_are_not_formulas(pair):
    _, cell = pair
    assert not is_formula(cell)
    assert not is_formula("-") and not is_formula("-5")
    assert is_formula("@SUM(A1:A3)") and is_formula("-cmd|' /C calc'!A0") and is_formula("+A1")


def test_names():
    assert parse_name("张 三") == "张三"
    assert parse_name("买买提•艾力") == "买买提·艾力"
    for bad in ("张三1", "13812345678", "张" * 41):
        with pytest.raises(CellError):
            parse_name(bad)


@given(st.integers(0, 16383))
def test_column_letters(n):
    letters = column_letter(n)
    value = 0
    for ch in letters:
        value = value * 26 + (ord(ch) - 64)
    assert value - 1 == n


@settings(max_examples=30)
@given(
    st.lists(st.text(CJK, min_size=1, max_size=8), min_size=1, max_size=20),
    st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030"]),
)
def test_encoding_detection(tmp_path_factory, cells, encoding):
    path = tmp_path_factory.mktemp("enc") / "r.csv"
    text = "姓名,地址\n" + "\n".join(f"{c},{c}1栋2单元301" for c in cells) + "\n"
    path.write_bytes(text.encode(encoding))
    detected = detect_encoding(path)
    assert path.read_bytes().decode(detected).lstrip("\ufeff") == text


# --- the whole pipeline: any well-formed roster imports completely, and only once -------------

NAME_CHARS = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗伟强磊军芳娜敏静丽艳"
HEADER_SETS = {
    "name": ["姓名", "居民姓名", "姓 名"],
    "relation": ["与户主关系", "关系"],
    "phone": ["联系电话", "手机号", "电话"],
    "id_number": ["身份证号", "公民身份号码", "身份证号码"],
    "grid": ["网格", "网格编号"],
    "compound": ["小区", "小区名称"],
    "building": ["楼栋", "楼号", "楼"],
    "unit": ["单元"],
    "room": ["房号", "户号", "门牌号", "室"],
    "tags": ["重点人群", "标签", "人员类别"],
}


@st.composite
def rosters(draw):
    n_households = draw(st.integers(1, 6))
    addresses = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["春华小区", "秋实家园"]),
                st.integers(1, 3),
                st.integers(1, 2),
                st.integers(101, 104),
            ),
            min_size=n_households,
            max_size=n_households,
            unique=True,
        )
    )
    seq = iter(range(1000))
    households = []
    for address in addresses:
        people = []
        for k in range(draw(st.integers(1, 3))):
            name = "".join(draw(st.lists(st.sampled_from(NAME_CHARS), min_size=2, max_size=3)))
            with_id = draw(st.booleans())
            number = ""
            if with_id:
                body = f"230102{1940 + k * 20}0101{next(seq):03d}"
                number = body + id_check_char(body)
            tags = draw(st.lists(st.sampled_from(sorted(TAG_WORDS)), max_size=2, unique=True))
            phone = draw(st.one_of(st.just(""), mobile_cells().map(lambda p: p[1])))
            relation = "户主" if k == 0 else "配偶" if k == 1 else "子"
            people.append((name, relation, phone, number, tags))
        # names inside one household are unique (else they are one person by the rules)
        if len({p[0] for p in people}) < len(people):
            people = people[:1]
        households.append((address, people))
    headers = {f: draw(st.sampled_from(spellings)) for f, spellings in HEADER_SETS.items()}
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
    return households, headers, encoding


@settings(max_examples=15, deadline=None)
@given(rosters())
def test_any_well_formed_roster_imports_completely_and_only_once(tmp_path_factory, roster):
    import csv as _csv
    import sqlite3

    from db.areas import get_or_create_grid
    from db.connection import transaction
    from kiosk.households.roster.apply import apply_plan, plan_import
    from kiosk.runtime import load, open_runtime

    households, headers, encoding = roster
    folder = tmp_path_factory.mktemp("pipe")
    fields = list(HEADER_SETS)
    with (folder / "r.csv").open("w", encoding=encoding, newline="") as fh:
        w = _csv.writer(fh)
        w.writerow([headers[f] for f in fields])
        for (compound, b, u, r), people in households:
            for name, relation, phone, number, tags in people:
                values = {
                    "name": name,
                    "relation": relation,
                    "phone": phone,
                    "id_number": number,
                    "grid": "G001",
                    "compound": compound,
                    "building": f"{b}栋",
                    "unit": u,
                    "room": r,
                    "tags": "、".join(tags),
                }
                w.writerow([values[f] for f in fields])
    rt = open_runtime(load(db=str(folder / "k.db")))
    try:
        with transaction(rt.conn):
            get_or_create_grid(
                rt.ctx, "G001", "安静社区第一网格", "安静社区", "新阳路街道", "道里区"
            )
        plan = plan_import(rt.conn, folder / "r.csv", today=TODAY)
        assert plan.rejected == []
        first = apply_plan(rt.ctx, plan)
        assert first.imported_households == len(households)
        assert first.imported_members == sum(len(p) for _, p in households)
        stored = sorted(
            tuple(r)
            for r in rt.conn.execute(
                "SELECT m.name, m.phone, m.id_number, m.tags, h.building, h.unit, h.room"
                " FROM members m JOIN households h ON h.id = m.household_id"
            )
        )
        expected = sorted(
            (
                name,
                parse_phone(phone)[0],
                number,
                " ".join(sorted({TAG_WORDS[t] for t in tags})),
                str(b),
                str(u),
                str(r),
            )
            for (_, b, u, r), people in households
            for name, _, phone, number, tags in people
        )
        assert stored == expected
        outbox = rt.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        again = apply_plan(rt.ctx, plan_import(rt.conn, folder / "r.csv", today=TODAY))
        assert (again.imported_households, again.imported_members, again.updated) == (0, 0, 0)
        assert again.unchanged == len(households)
        assert rt.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == outbox
        assert (
            sqlite3.connect(folder / "k.db").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        )
    finally:
        rt.close()

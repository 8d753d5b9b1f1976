"""Address, name and phone normalisation: the keys written and the keys looked up agree."""

from hypothesis import given, settings
from hypothesis import strategies as st

from db.normalize import (
    address_key,
    clean_query,
    mask_id_number,
    mask_phone,
    member_terms,
    name_pinyin,
    parse_address,
    split_compound_prefix,
)
from db.search import plan

numbers = st.integers(min_value=1, max_value=40).map(str)
rooms = st.integers(min_value=101, max_value=3404).map(str)

SPELLINGS = [
    "{b}栋{u}单元{r}",
    "{b}-{u}-{r}",
    "{b}号楼{u}单元{r}室",
    "{b}幢{u}单元{r}号",
    "{b}#{u}-{r}",
    "{b} {u} {r}",
    "{b}栋{u}-{r}",
    "{b}/{u}/{r}",
]


@given(numbers, numbers, rooms, st.sampled_from(SPELLINGS))
def test_every_spelling_of_an_address_gives_the_stored_key(b, u, r, spelling):
    text = spelling.format(b=b, u=u, r=r)
    assert parse_address(text) == (b, u, r)
    probes, compound, _ = plan(text)
    assert compound == ""
    assert probes[0].prefix == "a:" + address_key(b, u, r)


@given(numbers, numbers, rooms)
def test_full_width_digits_and_leading_zeros(b, u, r):
    wide = "".join(chr(ord(c) + 0xFEE0) for c in f"0{b}") + "栋" + u + "单元" + r
    assert parse_address(wide) == (b, u, r)


def test_compound_prefix_is_split_from_the_address():
    assert split_compound_prefix("阳光小区3栋2单元501") == ("阳光小区", "3栋2单元501")
    assert split_compound_prefix("张焕丽") == ("", "张焕丽")


def test_pinyin_full_and_initials():
    assert ("zhanghuanli", "zhl") in name_pinyin("张焕丽")
    terms = member_terms("张焕丽", "13812345678")
    assert {"n:张焕丽", "p:zhanghuanli", "i:zhl", "t:5678"} <= terms


def test_surnames_with_two_readings_are_indexed_both_ways():
    zeng = name_pinyin("曾小明")
    assert ("zengxiaoming", "zxm") in zeng and ("cengxiaoming", "cxm") in zeng
    shan = name_pinyin("单田芳")
    assert ("shantianfang", "stf") in shan and ("dantianfang", "dtf") in shan


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_any_text_plans_without_error(text):
    probes, compound, phone = plan(text)
    assert len(clean_query(text)) <= 64
    for p in probes:
        assert p.prefix[:2] in {"a:", "n:", "p:", "i:", "t:"}


@given(st.text(alphabet="0123456789", min_size=0, max_size=20))
def test_masking_never_shows_the_middle(number):
    masked = mask_phone(number)
    assert len(masked) == len(number)
    if len(number) >= 8:
        assert masked[3:-4] == "*" * (len(number) - 7)
    masked_id = mask_id_number(number)
    if len(number) > 8:
        assert masked_id[6:-4] == "*" * (len(number) - 10)


def test_pinyin_readings_do_not_depend_on_the_phrase_dictionary():
    """char_readings loads pypinyin without its phrases (memory): a character's readings are
    the same either way. Checked here on the demo's name characters and on 曾, 单 and other
    surnames read differently from their common reading."""
    import os
    import subprocess
    import sys

    from kiosk.demo.district import FEMALE_CHARS, MALE_CHARS, SURNAMES

    chars = SURNAMES + MALE_CHARS + FEMALE_CHARS + "曾单重长区仇朴解覃"
    code = (
        "import os, sys; os.environ['PYPINYIN_NO_PHRASES'] = sys.argv[2];"
        "from db.normalize import char_readings;"
        "print([char_readings(c) for c in sys.argv[1]], 'pypinyin.phrases_dict' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYPINYIN_")}
    with_phrases, without = (
        subprocess.run(
            [sys.executable, "-c", code, chars, flag],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.rsplit(" ", 1)
        for flag in ("", "1")
    )
    assert with_phrases[1].strip() == "True" and without[1].strip() == "False"
    assert with_phrases[0] == without[0] and "zeng" in without[0] and "ceng" in without[0]

"""Label payloads: format, check character, lenient parsing, and every kind of damage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.qr.payload import (
    ALPHABET,
    BODY_CHARS,
    CHECK_SYMBOLS,
    InvalidLabel,
    NotALabel,
    check_symbol,
    decode_id,
    encode_id,
    find_in,
    looks_like_label,
    make,
    parse,
)

codes = st.integers(min_value=0, max_value=(1 << 60) - 1).map(encode_id)
kinds = st.sampled_from(["HH", "CS"])
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def test_known_values():
    assert encode_id(0) == "000000000000"
    assert encode_id((1 << 60) - 1) == "ZZZZZZZZZZZZ"
    # Crockford's mod-37 check: 1234 % 37 = 13 -> "D"; values 32..36 are * + $ % U here.
    assert check_symbol(encode_id(1234)) == "D"
    assert check_symbol(encode_id(32)) == "*"
    assert check_symbol(encode_id(36)) == "U"
    p = make("HH", "7K3M9QDR2X4B")
    assert p.text == "HH1:7K3M9QDR2X4B" + p.check
    assert p.readable == "HH1:7K3M-9QDR-2X4B-" + p.check


@given(kinds, codes)
def test_payload_is_short_ascii_qr_alphanumeric(kind, code):
    p = make(kind, code)
    assert len(p.text) == 4 + BODY_CHARS == 17
    assert set(p.text) <= QR_ALPHANUMERIC
    assert p.text.isascii() and p.readable.isascii()
    groups = p.readable.split(":", 1)[1].split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 1]


@given(kinds, codes, st.data())
def test_parse_accepts_what_people_type(kind, code, data):
    p = make(kind, code)
    text = data.draw(st.sampled_from([p.text, p.readable]))
    # any letter case, spaces and hyphens anywhere, I/L for 1 and O for 0
    text = "".join(
        data.draw(st.sampled_from([ch.lower(), ch.upper()])) if ch.isalpha() else ch for ch in text
    )
    text = text.replace("1", data.draw(st.sampled_from(["1", "I", "l", "L", "i"])))
    text = text.replace("0", data.draw(st.sampled_from(["0", "O", "o"])))
    sep = data.draw(st.sampled_from(["", " ", "-", "  "]))
    text = sep.join(text[i : i + 3] for i in range(0, len(text), 3))
    assert parse(f"  {text} ") == p


@given(kinds, codes)
def test_colon_may_be_left_out(kind, code):
    p = make(kind, code)
    assert parse(p.text.replace(":", "")) == p


@given(kinds, codes, st.integers(0, BODY_CHARS - 1), st.sampled_from(CHECK_SYMBOLS))
def test_any_single_wrong_character_is_refused(kind, code, pos, replacement):
    p = make(kind, code)
    body = list(code + p.check)
    if body[pos] == replacement or (pos < 12 and replacement not in ALPHABET):
        return
    body[pos] = replacement
    damaged = f"{kind}1:" + "".join(body)
    with pytest.raises(InvalidLabel) as err:
        parse(damaged)
    assert err.value.reason in ("check", "bad_char")
    assert err.value.message().startswith("不是有效的标签")


@given(kinds, codes, st.integers(0, BODY_CHARS - 2))
def test_adjacent_transpositions_are_refused(kind, code, pos):
    p = make(kind, code)
    body = list(code + p.check)
    if body[pos] == body[pos + 1]:
        return
    body[pos], body[pos + 1] = body[pos + 1], body[pos]
    with pytest.raises(InvalidLabel):
        parse(f"{kind}1:" + "".join(body))


@given(kinds, codes, st.integers(0, BODY_CHARS - 1))
def test_truncated_payloads_say_incomplete(kind, code, keep):
    p = make(kind, code)
    with pytest.raises(InvalidLabel) as err:
        parse(p.text[: 4 + keep])
    assert err.value.reason == "too_short"


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(InvalidLabel) as err:
        parse("HH1:" + "A" * 10_000)
    assert err.value.reason == "too_long"
    with pytest.raises(InvalidLabel) as err:
        parse("HH1:ABCD-EFGH-JKMN-PQ")
    assert err.value.reason == "too_long"
    with pytest.raises(InvalidLabel) as err:
        parse("HH1:ABCD-EFGH-JKUN-P")  # U is only ever a check character
    assert err.value.reason == "bad_char" and err.value.params["pos"] == 11
    for text in ("", "hello", "张三", "13812345678", "3-2-501", "HX1:0000", "x" * 100_000):
        with pytest.raises(NotALabel):
            parse(text)


def test_crockford_symbols_for_33_and_35_are_accepted_when_typed():
    code = next(encode_id(v) for v in range(1000) if v % 37 == 33)
    assert make("HH", code).check == "+"
    assert parse(f"HH1:{code}~") == make("HH", code)


def test_looks_like_label_needs_the_colon():
    assert looks_like_label("hh1:abc")
    assert looks_like_label("  CS1: 7K3M")
    assert not looks_like_label("hh")
    assert not looks_like_label("hh1abc")
    assert not looks_like_label("")


@given(kinds, codes, st.text(max_size=20))
def test_find_in_locates_the_label_after_other_text(kind, code, before):
    before = before.replace("1", "")  # no HH1/CS1 hidden in the noise
    p = make(kind, code)
    start, tail = find_in(before + p.readable)
    assert parse(tail) == p
    assert start == len(before)


@given(codes)
def test_encode_decode_roundtrip(code):
    assert encode_id(decode_id(code)) == code


def test_find_in_with_prefix_letters_inside_the_code():
    p = make("CS", "ABCS1XHH1Z00")
    assert find_in("note " + p.text) == (5, p.text)
    assert find_in("HH1:0000") == (0, "HH1:0000")  # a damaged claim is still found
    assert find_in("no label here") is None

"""ODK's functions in kiosk.domain.xpath, with values from ODK's documentation.

Each group names its section of https://docs.getodk.org/form-operators-functions/ ; where the
documentation is vague the expected value is what JavaRosa (getodk/javarosa, XPathFuncExpr)
computes, and the comment says so.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from kiosk.domain.xpath import DateValue, Env, Node, XPathError, parse, to_string, truth

TODAY = date(2026, 12, 4)  # a Friday; 20791 days after 1970-01-01
NOW = datetime(2026, 12, 4, 9, 5, 3, 7000, tzinfo=timezone(timedelta(hours=8)))


def _leaf(parent: Node, name: str, value: str = "", datatype: str | None = None) -> Node:
    return Node(name, value, parent, datatype=datatype)


def build_instance() -> Node:
    document = Node("")
    data = Node("data", parent=document, attrs={"id": "household"})
    _leaf(data, "name", "Ann", "string")
    _leaf(data, "age", "34", "int")
    _leaf(data, "dob", "1990-05-17", "date")
    _leaf(data, "visit_date", "2026-11-20", "date")
    _leaf(data, "old_visit", "2026-10-01", "date")
    _leaf(data, "no_visit", "", "date")
    _leaf(data, "colors", "red green purple", "select")
    _leaf(data, "state", "hubei", "select1")
    _leaf(data, "district", "", "select1")
    _leaf(data, "empty")
    _leaf(data, "calc", "")
    _leaf(data, "kept", "first")
    _leaf(data, "point1", "0 0 0 0", "geopoint")
    _leaf(data, "point2", "0 1 0 0", "geopoint")
    for name, age in (("Bo", "30"), ("", "12"), ("Cy", "5")):
        member = Node("members", parent=data)
        _leaf(member, "name", name, "string")
        _leaf(member, "age", age, "int")
        visit = Node("visit", parent=member)
        _leaf(visit, "note", f"{name or 'nobody'}-note")
    return document


def build_list() -> Node:
    """A secondary instance as pyxform writes choice_filter lists: root/item."""
    document = Node("")
    root = Node("root", parent=document)
    for name, state in (("wuhan", "hubei"), ("yichang", "hubei"), ("changsha", "hunan")):
        item = Node("item", parent=root)
        _leaf(item, "name", name)
        _leaf(item, "state", state)
    return document


DOCUMENT = build_instance()
LABELS = {("red", "/data/colors"): "Red", ("green", "/data/colors"): "Green"}


def _lookup(name: str) -> list[Node]:
    """${name}: the question of that name, nearest the top of the form."""
    found = parse(f"/data/{name}").evaluate(DOCUMENT) or parse(f"//{name}").evaluate(DOCUMENT)
    assert isinstance(found, list)
    return found


ENV = Env(
    instances={"list": build_list()},
    today=lambda: TODAY,
    now=lambda: NOW,
    choice_label=lambda value, path: LABELS.get((value, path), value),
    name_lookup=_lookup,
    pulldata=lambda table, column, key_column, key: f"{table}:{column}:{key_column}={key}",
)


def at(path: str) -> Node:
    found = parse(path).evaluate(DOCUMENT)
    assert isinstance(found, list) and len(found) == 1, path
    return found[0]


def value(expression: str, context: str = "/data") -> object:
    return parse(expression).evaluate(at(context), ENV)


def text(expression: str, context: str = "/data") -> str:
    return to_string(value(expression, context))


CASES: list[tuple[str, str, object]] = [
    # --- #comparison-operators, #boolean-operators
    ("/data/age > 17", "/data", True),
    ("/data/age >= 18 and /data/age < 65", "/data", True),
    ("/data/name = 'Ann' or /data/age < 19", "/data", True),
    ("/data/name != 'Ann'", "/data", False),
    # empty answers are not 0 (#empty-values): '' > 3 and '' < 3 are both false
    ("/data/empty > 3 or /data/empty < 3", "/data", False),
    # --- #control-flow: if, position, once
    ("if(/data/age > 17, 'adult', 'child')", "/data", "adult"),
    ("if(/data/age > 40, 'older', /data/name)", "/data", "Ann"),
    ("position(..)", "/data/members[2]/name", 2.0),
    ("position(..)", "/data/members[3]/visit/note", 1.0),
    ("position(../..)", "/data/members[3]/visit/note", 3.0),
    ("once(concat('a', 'b'))", "/data/calc", "ab"),
    ("once(concat('a', 'b'))", "/data/kept", "first"),
    # --- #select-questions
    ("selected(/data/colors, 'red')", "/data", True),
    ("selected(/data/colors, 'blue')", "/data", False),
    ("selected(/data/colors, ' green ')", "/data", True),
    ("selected-at(/data/colors, 0)", "/data", "red"),
    ("selected-at(/data/colors, 2)", "/data", "purple"),
    ("selected-at(/data/colors, 3)", "/data", ""),
    ("count-selected(/data/colors)", "/data", 3.0),
    ("count-selected(.) = 3", "/data/colors", True),
    ("count-selected(/data/empty)", "/data", 0.0),
    ("jr:choice-name(selected-at(/data/colors, 0), '/data/colors')", "/data", "Red"),
    ("jr:choice-name('green', ' /data/colors ')", "/data", "Green"),
    # --- #repeat-groups: indexed-repeat, count, count-non-empty, sum, max, min
    ("indexed-repeat(/data/members/name, /data/members, 1)", "/data", "Bo"),
    ("indexed-repeat(/data/members/name, /data/members, 3)", "/data", "Cy"),
    (
        "indexed-repeat(/data/members/visit/note, /data/members, 3, /data/members/visit, 1)",
        "/data",
        "Cy-note",
    ),
    ("count(/data/members)", "/data", 3.0),
    ("count(../../members)", "/data/members[1]/name", 3.0),
    ("count-non-empty(/data/members/name)", "/data", 2.0),
    ("sum(/data/members/age)", "/data", 47.0),
    ("max(/data/members/age)", "/data", 30.0),
    ("min(/data/members/age)", "/data", 5.0),
    ("max(3, 9, /data/members/age)", "/data", 30.0),
    # JavaRosa skips what is not a number; all of it empty is NaN
    ("min(/data/members/name)", "/data", math.nan),
    ("max(/data/empty, 4)", "/data", 4.0),
    # --- #searching-and-matching-strings
    ("regex('AB1234', '[A-Z]{2}[0-9]{4}')", "/data", True),
    # "an exact and complete match" (JavaRosa: Pattern.matches)
    ("regex('xAB1234', '[A-Z]{2}[0-9]{4}')", "/data", False),
    ("regex(/data/name, '^A.*')", "/data", True),
    ("contains(/data/colors, 'green')", "/data", True),
    ("starts-with(/data/name, 'An')", "/data", True),
    ("ends-with(/data/name, 'nn')", "/data", True),
    ("ends-with(/data/name, 'A')", "/data", False),
    ("substr('hello world', 0, 5)", "/data", "hello"),
    ("substr('hello world', 6)", "/data", "world"),
    ("substr('hello', -3)", "/data", "llo"),
    ("substr('hello', 3, 1)", "/data", ""),
    ("substring-before('2026-12-04', '-')", "/data", "2026"),
    ("substring-after('2026-12-04', '-')", "/data", "12-04"),
    ("translate('abc', 'abc', 'AB')", "/data", "AB"),
    ("string-length('网格通')", "/data", 3.0),
    ("string-length()", "/data/name", 3.0),
    ("normalize-space('  a \t b  ')", "/data", "a b"),
    # --- #combining-strings: a node-set's values are all concatenated
    ("concat(/data/name, '-', /data/age)", "/data", "Ann-34"),
    ("concat(/data/members/name)", "/data", "BoCy"),
    ("concat('x')", "/data", "x"),
    ("join(', ', /data/members/age)", "/data", "30, 12, 5"),
    ("join('-', 'a', 'b', 'c')", "/data", "a-b-c"),
    # --- #converting-to-and-from-strings
    ("boolean-from-string('true')", "/data", True),
    ("boolean-from-string('1')", "/data", True),
    ("boolean-from-string('TRUE')", "/data", True),
    ("boolean-from-string('yes')", "/data", False),
    ("string(/data/age + 1)", "/data", "35"),
    # --- #encoding-and-decoding-strings
    (
        "digest('abc', 'SHA-256', 'hex')",
        "/data",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ),
    ("digest('abc', 'MD5')", "/data", "kAFQmDzST7DWlj99KOF/cg=="),
    ("string-length(digest('abc', 'SHA-512', 'base64'))", "/data", 88.0),
    ("base64-decode('572R5qC86YCa')", "/data", "网格通"),
    # --- #number-handling
    ("round(3.14159, 2)", "/data", 3.14),
    ("round(2.5)", "/data", 3.0),
    ("round(1234.5678, -2)", "/data", 1200.0),
    # JavaRosa rounds halves toward +Infinity with places too (ROUND_HALF_DOWN below 0)
    ("round(-2.5, 0)", "/data", -2.0),
    ("round(-1.25, 1)", "/data", -1.2),
    ("round(1.25, 1)", "/data", 1.3),
    ("round(2, 31)", "/data", math.nan),
    ("int(3.9)", "/data", 3.0),
    ("int(-3.9)", "/data", -3.0),
    ("int('7.5')", "/data", 7.0),
    ("number('12')", "/data", 12.0),
    ("number('abc')", "/data", math.nan),
    ("number(true())", "/data", 1.0),
    ("number(false())", "/data", 0.0),
    # --- #calculation
    ("pow(2, 10)", "/data", 1024.0),
    ("pow(-8, 0.5)", "/data", math.nan),
    ("pow(0, -1)", "/data", math.inf),
    ("pow(-10, 401)", "/data", -math.inf),
    ("exp(1000)", "/data", math.inf),
    ("log(1)", "/data", 0.0),
    ("log10(1000)", "/data", 3.0),
    ("abs(-3.5)", "/data", 3.5),
    ("sqrt(16)", "/data", 4.0),
    ("exp(0)", "/data", 1.0),
    ("exp10(2)", "/data", 100.0),
    ("sin(0)", "/data", 0.0),
    ("cos(0)", "/data", 1.0),
    ("tan(0)", "/data", 0.0),
    ("asin(1)", "/data", math.pi / 2),
    ("acos(1)", "/data", 0.0),
    ("atan(1)", "/data", math.pi / 4),
    ("atan2(1, 1)", "/data", math.pi / 4),
    ("pi()", "/data", math.pi),
    ("sqrt(-1)", "/data", math.nan),
    # --- #date-and-time: today(), now()
    ("string(today())", "/data", "2026-12-04"),
    ("today() - 30", "/data", 20761.0),
    ("today() = '2026-12-04'", "/data", True),  # a date and a string compare as text
    ("today() = 20791", "/data", True),  # a date and a number as days
    ("string(now())", "/data", "2026-12-04T09:05:03.007+08"),  # JavaRosa's offset: +08
    # a date question against today(): the constraint ". >= today() - 30"
    (". >= today() - 30", "/data/visit_date", True),
    (". >= today() - 30", "/data/old_visit", False),
    (". >= today() - 30", "/data/no_visit", False),
    (". <= today()", "/data/visit_date", True),
    ("today() - /data/visit_date", "/data", 14.0),
    ("int((today() - /data/dob) div 365.25)", "/data", 36.0),
    ("/data/dob < /data/visit_date", "/data", True),
    # JavaRosa: a plain string is not a date as a number, whatever it looks like (NaN)
    ("'2026-12-03' < today()", "/data", False),
    ("date('2026-12-03') < today()", "/data", True),
    # --- #converting-dates-and-time
    ("string(date(0))", "/data", "1970-01-01"),
    ("string(date(20791))", "/data", "2026-12-04"),
    ("string(date(20791.9))", "/data", "2026-12-04"),
    ("string(date('2026-12-04T23:30:00.000+08:00'))", "/data", "2026-12-04"),
    ("string(date(today() - 30))", "/data", "2026-11-04"),
    ("decimal-date-time('1970-01-02T00:00:00.000Z')", "/data", 1.0),
    # JavaRosa: milliseconds since 1970-01-01T00:00Z in days (22:30 UTC)
    ("decimal-date-time('2018-04-24T15:30:00.000-07:00')", "/data", 17645.9375),
    ("decimal-date-time(/data/visit_date)", "/data", 20777.0),
    ("decimal-date-time(date-time(20791.5))", "/data", 20791.5),
    ("decimal-time('12:00:00.000')", "/data", 0.5),  # "noon is 0.5"
    ("decimal-time('18:00:00.000+08:00')", "/data", 0.75),  # "6:00 PM is 0.75"
    ("decimal-time(20791.25)", "/data", 0.25),
    ("string(date(''))", "/data", ""),
    # --- #formatting-dates-and-times-for-display
    ("format-date('2026-12-04', '%Y/%m/%d')", "/data", "2026/12/04"),
    ("format-date(date('2026-03-07'), '%y %n %e %b %a')", "/data", "26 3 7 Mar Sat"),
    ("format-date(today(), '%d %b %Y')", "/data", "04 Dec 2026"),
    ("format-date(/data/no_visit, '%Y')", "/data", ""),
    (
        "format-date-time('2026-12-04T09:05:03.007+08:00', '%H:%M:%S.%3 %h')",
        "/data",
        "09:05:03.007 9",
    ),
    ("format-date-time(now(), '%Y-%m-%d %H:%M')", "/data", "2026-12-04 09:05"),
    # --- #geography: one degree of longitude on the equator (JavaRosa's radius 6378100 m)
    ("round(distance('0 0 0 0; 0 1 0 0'))", "/data", 111319.0),
    ("round(distance(/data/point1 | /data/point2))", "/data", 111319.0),
    ("area('0 0 0 0; 0 1 0 0')", "/data", 0.0),
    # --- #utility: coalesce, boolean, not, checklist, weighted-checklist
    ("coalesce('', 'x')", "/data", "x"),
    ("coalesce(/data/empty, /data/name)", "/data", "Ann"),
    ("coalesce(/data/name, 'x')", "/data", "Ann"),
    ("boolean('')", "/data", False),
    ("boolean(/data/members)", "/data", True),
    ("not(0)", "/data", True),
    # JavaRosa counts responses that convert to true (non-empty); ODK's documentation
    # says "exactly 'yes'"; these cases hold under both
    ("checklist(1, 2, 'yes', '', 'yes')", "/data", True),
    ("checklist(3, -1, 'yes', '', 'yes')", "/data", False),
    ("checklist(-1, 1, '', '')", "/data", True),
    ("weighted-checklist(5, 10, 'yes', 6, '', 4)", "/data", True),
    ("weighted-checklist(7, 10, 'yes', 6, '', 4)", "/data", False),
    ("true() and not(false())", "/data", True),
    # pulldata through Env.pulldata
    ("pulldata('fruits', 'name', 'key', 'a')", "/data", "fruits:name:key=a"),
    # ${name} (legacy forms) through Env.name_lookup
    ("${age} > 17", "/data", True),
    ("concat(${name}, '/', count(${members}))", "/data", "Ann/3"),
]


@pytest.mark.parametrize(("expression", "context", "expected"), CASES)
def test_odk_function(expression: str, context: str, expected: object) -> None:
    result = value(expression, context)
    if isinstance(expected, float):
        assert isinstance(result, float), (expression, result)
        if math.isnan(expected):
            assert math.isnan(result), (expression, result)
        else:
            assert result == pytest.approx(expected, rel=1e-12, abs=1e-12), (expression, result)
    elif isinstance(expected, bool):
        assert result is expected, (expression, result)
    else:
        assert to_string(result) == expected, (expression, result)


# --- choice_filter itemsets, as pyxform writes them (instance('list')/root/item[...])


def test_itemset_filter_with_current() -> None:
    expression = "instance('list')/root/item[state = current()/../state]/name"
    names = value(expression, "/data/district")
    assert isinstance(names, list)
    assert [n.value for n in names] == ["wuhan", "yichang"]


def test_itemset_filter_with_an_absolute_path_and_position() -> None:
    found = value("instance('list')/root/item[state != /data/state][1]/name", "/data")
    assert isinstance(found, list) and [n.value for n in found] == ["changsha"]
    assert value("count(instance('list')/root/item)", "/data") == 3.0


def test_unknown_instance_is_an_error() -> None:
    with pytest.raises(XPathError, match="instance"):
        value("instance('nope')/root/item", "/data")


def test_name_reference_needs_a_lookup() -> None:
    with pytest.raises(XPathError, match=r"\$\{age\}"):
        parse("${age} > 17").evaluate(at("/data"), Env())


def test_pulldata_and_choice_name_need_their_env() -> None:
    with pytest.raises(XPathError, match="pulldata"):
        parse("pulldata('a', 'b', 'c', 'd')").evaluate(at("/data"), Env())
    with pytest.raises(XPathError, match="choice-name"):
        parse("jr:choice-name('red', '/data/colors')").evaluate(at("/data"), Env())


# --- now(), uuid(), random(): shapes, not values


def test_now_prints_utc_as_z_and_half_hours() -> None:
    env = Env(now=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert to_string(parse("now()").evaluate(at("/data"), env)) == "2026-01-02T03:04:05.000Z"
    india = timezone(timedelta(hours=5, minutes=30))
    env = Env(now=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=india))
    assert to_string(parse("now()").evaluate(at("/data"), env)) == "2026-01-02T03:04:05.000+05:30"


def test_now_is_a_date_value_and_a_number_of_days() -> None:
    now = value("now()")
    assert isinstance(now, DateValue)
    # 09:05:03.007 on the clock it was read on
    assert value("now() - today()") == pytest.approx((9 * 3600 + 5 * 60 + 3.007) / 86400)


def test_uuid_and_random() -> None:
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", text("uuid()")
    )
    assert re.fullmatch(r"[A-Za-z0-9]{12}", text("uuid(12)"))
    assert text("uuid()") != text("uuid()")
    number = value("random()")
    assert isinstance(number, float) and 0 <= number < 1


def test_truth_helper() -> None:
    assert truth("/data/age > 17", at("/data"), ENV) is True
    assert truth("/data/nothing", at("/data")) is False


# --- errors: syntax with its position, arities, unknown functions, limits


@pytest.mark.parametrize(
    ("expression", "position", "fragment"),
    [
        ("1 +", 3, "ends"),
        ("(1 + 2", 6, "')'"),
        ("1 = = 2", 4, "'='"),
        ("/data/age >", 11, "ends"),
        ("'unclosed", 0, "unexpected character"),
        ("/data/age 5", 10, "'5'"),
        ("a b", 2, "operator"),
        ("#", 0, "unexpected character"),
        ("", 0, "empty"),
        ("if(1, 2)", 0, "if() takes 3 arguments, not 2"),
        ("selected(/data/colors)", 0, "selected() takes 2 arguments, not 1"),
        ("round(1, 2, 3)", 0, "round() takes 1 to 2 arguments"),
        ("concat('a', substring('b'))", 12, "substring() takes 2 to 3"),
        ("today(1)", 0, "today() takes 0 arguments"),
        ("frobnicate(1)", 0, "unknown function frobnicate()"),
        ("1 + odk:magic()", 4, "unknown function odk:magic()"),
        ("jr:itext('x')", 0, "unknown function jr:itext()"),
        ("namespace::x", 0, "axis 'namespace'"),
        ("$x + 1", 0, "variables"),
    ],
)
def test_errors_name_the_problem_and_where(expression: str, position: int, fragment: str) -> None:
    with pytest.raises(XPathError) as caught:
        parse(expression)
    assert caught.value.position == position, caught.value
    assert fragment in caught.value.detail


def test_forty_nested_parentheses_are_fine_and_deeper_nesting_is_refused() -> None:
    assert value("(" * 40 + "1 + 1" + ")" * 40) == 2.0
    assert value("-(" * 40 + "1" + ")" * 40) == 1.0
    assert value("concat(" * 40 + "'a'" + ")" * 40) == "a"
    for deep in ("(" * 150 + "1" + ")" * 150, "f(" * 500, "a[" * 300, "-" * 1000 + "1"):
        try:
            parse(deep)
        except XPathError:
            pass  # refused, and not with a RecursionError
    with pytest.raises(XPathError, match="nested"):
        parse("(" * 150 + "1" + ")" * 150)
    assert value("-" * 1001 + "1") == -1.0


def test_long_chains_do_not_recurse() -> None:
    chain = " + ".join(["1"] * 1000)
    assert len(chain) < 4000
    assert value(chain) == 1000.0
    assert value(" or ".join(["false()"] * 350)) is False
    assert value(" and ".join(["/data/age = 34"] * 200)) is True


def test_expressions_longer_than_4000_characters_are_refused() -> None:
    with pytest.raises(XPathError, match="4000"):
        parse("1" + " " * 4000)


def test_parse_is_cached() -> None:
    assert parse("/data/age + 1") is parse("/data/age + 1")


def test_references_are_the_paths_as_written() -> None:
    expression = parse(
        "instance('list')/root/item[state = current()/../state] and ${name} != '' "
        "and /data/age > ../b and count(/data/members[age > 3])"
    )
    assert expression.references() == {
        "instance('list')/root/item[state = current()/../state]",
        "state",
        "current()/../state",
        "${name}",
        "/data/age",
        "../b",
        "/data/members[age > 3]",
        "age",
    }


# --- speed: relevance-like expressions over a 200-leaf instance


def relevance_round() -> tuple[float, int]:
    """Seconds to evaluate 200 parsed relevance expressions once each, and how many held."""
    document = Node("")
    data = Node("data", parent=document)
    for g in range(1, 11):
        group = Node(f"g{g}", parent=data)
        for q in range(1, 21):
            Node(f"q{q}", "yes" if q % 2 else str(q), group)
    expressions = [
        parse(
            f"/data/g{1 + i % 10}/q{1 + i % 20} = 'yes' and /data/g{1 + (i + 3) % 10}/q{2 + i % 19} > 3"
        )
        for i in range(200)
    ]
    context = data
    started = time.perf_counter()
    held = sum(1 for e in expressions if e.evaluate(context) is True)
    return time.perf_counter() - started, held


def test_two_hundred_relevance_expressions_are_quick() -> None:
    relevance_round()  # warm up
    best = min(relevance_round()[0] for _ in range(5))
    _elapsed, held = relevance_round()
    assert held > 0
    # the target is 16 ms for all 200 on a busy two-core machine; the bound leaves room
    assert best < 0.016, f"{best * 1000:.1f} ms for 200 evaluations"

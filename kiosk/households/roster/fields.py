"""Roster columns and cell values: which header means what, and what a cell may hold.

Pure functions, no database: they turn the headers and cells of a street office's roster
into the fields of a member and a household, or say (with a reason code) why a cell cannot
be taken. The reason codes are catalogue keys under ``roster.reason``.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass

from db.households import CARE_TAGS
from db.normalize import is_cjk, parse_address, split_compound_prefix

# --- headers --------------------------------------------------------------------------------

#: Canonical field -> the header spellings street offices use (after :func:`clean_header`).
HEADER_SPELLINGS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "居民姓名", "人员姓名", "成员姓名", "名字"),
    "relation": ("与户主关系", "与户主的关系", "关系", "家庭关系", "家庭成员关系", "户内关系"),
    "phone": (
        "联系电话",
        "手机号",
        "手机号码",
        "电话",
        "电话号码",
        "手机",
        "联系方式",
        "联系手机",
        "固定电话",
        "座机",
    ),
    "id_number": (
        "身份证号",
        "公民身份号码",
        "身份证号码",
        "身份证",
        "证件号码",
        "证件号",
        "身份证件号码",
    ),
    "birth": ("出生年份", "出生日期", "出生年月", "出生年月日", "生日", "出生年"),
    "age": ("年龄", "周岁"),
    "gender": ("性别",),
    "street": ("街道", "街道办事处", "街道名称", "所属街道", "街道办"),
    "community": ("社区", "社区名称", "所属社区", "社区居委会"),
    "grid": ("网格", "网格编号", "网格名称", "所属网格", "网格号", "网格编码"),
    "compound": ("小区", "小区名称", "所属小区", "小区名"),
    "building": ("楼栋", "楼号", "楼", "栋", "楼栋号", "栋号", "幢"),
    "unit": ("单元", "单元号"),
    "room": ("房号", "户号", "门牌号", "室", "房间号", "房屋号", "室号", "门牌"),
    "address": ("地址", "住址", "家庭住址", "居住地址", "现住址", "详细地址", "现居住地址"),
    "tags": (
        "重点人群",
        "标签",
        "人员类别",
        "人群类别",
        "特殊人群",
        "重点人群类别",
        "人员类型",
        "类别",
    ),
    "note": ("备注", "说明"),
}
#: Fields that describe where the household is, shared by every person of the household.
ADDRESS_FIELDS = ("street", "community", "grid", "compound", "building", "unit", "room", "address")
#: Fields that describe one person.
PERSON_FIELDS = ("name", "relation", "phone", "id_number", "birth", "age", "gender", "tags")
#: Headers that are known but carry nothing to import (serial numbers).
IGNORED_HEADERS = ("序号", "编号", "行号", "no", "no.")

_SPELLING_TO_FIELD = {s: f for f, spellings in HEADER_SPELLINGS.items() for s in spellings}
_HEAD_PREFIXES = ("户主",)
_MEMBER_PREFIX = re.compile(r"^(?:家庭)?成员([0-9]+|[一二三四五六七八九十]+)(?:的)?")
_CN_NUMBERS = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)}
_DECORATION = re.compile(r"[\s*＊:：_]|[（(【\[][^）)】\]]*[）)】\]]")


def clean_header(text: object) -> str:
    """A header cell as compared with the spellings: NFKC, no spaces, no ``*``, no ``(必填)``."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return _DECORATION.sub("", s)


@dataclass(frozen=True)
class Column:
    """What one roster column holds: ``field`` for ``member`` (0 = the row's own person or
    the head of household, 1.. = the numbered member columns of a one-row-per-household
    roster); ``flag`` columns ("是否独居") hold yes/no for a care tag."""

    field: str
    member: int = 0
    flag: str = ""
    head: bool = False  # spelled for the head of household: 户主姓名, 户主电话


def classify_header(text: object) -> Column | None:
    """The column a header names, or None when it is not one we import."""
    h = clean_header(text)
    if not h or h in IGNORED_HEADERS:
        return None
    field = _SPELLING_TO_FIELD.get(h)
    if field:
        return Column(field)
    for prefix in _HEAD_PREFIXES:
        if h.startswith(prefix) and len(h) > len(prefix):
            rest = h[len(prefix) :]
            field = _SPELLING_TO_FIELD.get(rest) or _SPELLING_TO_FIELD.get(rest.lstrip("的"))
            if field in PERSON_FIELDS:
                return Column(field, member=0, head=True)
    m = _MEMBER_PREFIX.match(h)
    if m:
        number = m.group(1)
        n = int(number) if number.isdigit() else _CN_NUMBERS.get(number, 0)
        rest = h[m.end() :] or "姓名"
        field = _SPELLING_TO_FIELD.get(rest)
        if n and field in PERSON_FIELDS:
            return Column(field, member=n)
    if h.startswith("是否") and len(h) > 2:
        code = tag_code(h[2:])
        if code:
            return Column("flag", flag=code)
    return None


# --- care tags ------------------------------------------------------------------------------

_TAG_WORDS: dict[str, tuple[str, ...]] = {
    "alone": ("独居", "独居老人", "孤寡", "孤寡老人", "独居人员", "孤老"),
    "disabled": (
        "残疾",
        "残疾人",
        "残障",
        "残障人士",
        "丧失自主生活能力",
        "失能",
        "失能老人",
        "半失能",
        "半失能老人",
        "残疾人员",
    ),
    "hardship": (
        "困难",
        "困难群众",
        "困难户",
        "困难家庭",
        "低保",
        "低保户",
        "特困",
        "特困人员",
        "贫困户",
        "低收入",
        "低收入家庭",
        "困难人员",
    ),
    "unvaccinated": ("未接种", "未接种疫苗", "未接种新冠疫苗", "未打疫苗", "疫苗未接种"),
    "conscription": ("适龄青年", "兵役适龄青年", "应征青年", "征兵适龄青年", "适龄男青年"),
    "elderly70": ("高龄", "高龄老人"),
}
_TAG_WORD_TO_CODE = {w: code for code, words in _TAG_WORDS.items() for w in words}
_ELDERLY = re.compile(
    r"^(?:[7-9]0|七十|八十|九十)(?:周岁|岁)?(?:以上|及以上|\+)?(?:的)?(?:老人|老年人)?$"
)
_TAG_SPLIT = re.compile(r"[、,，;；/|\s]+")
_NO_TAGS = ("无", "否", "-", "—", "/", "none", "n/a", "na")


def tag_code(word: str) -> str | None:
    """The care tag code for one word of a 重点人群 cell (70周岁以上老人 -> elderly70)."""
    w = clean_header(word)
    if not w:
        return None
    if w in CARE_TAGS:
        return w
    if w in _TAG_WORD_TO_CODE:
        return _TAG_WORD_TO_CODE[w]
    if _ELDERLY.match(w):
        return "elderly70"
    return None


def parse_tags(value: object) -> tuple[list[str], list[str]]:
    """(care tag codes, words not understood) of a 重点人群 cell."""
    text = cell_text(value)
    if not text or text.lower() in _NO_TAGS:
        return [], []
    codes: list[str] = []
    unknown: list[str] = []
    for word in _TAG_SPLIT.split(text):
        if not word:
            continue
        code = tag_code(word)
        if code:
            if code not in codes:
                codes.append(code)
        elif word.lower() not in _NO_TAGS:
            unknown.append(word)
    return codes, unknown


_YES = ("是", "√", "✓", "✔", "y", "yes", "1", "true", "有", "○", "●")
_NO = ("否", "×", "✗", "n", "no", "0", "false", "无", "-", "—")


def parse_flag(value: object) -> bool | None:
    """A yes/no cell (是/否, √, 1/0); None when it is neither."""
    text = cell_text(value).lower()
    if not text or text in _NO:
        return False
    if text in _YES:
        return True
    return None


# --- cells ----------------------------------------------------------------------------------


class CellError(ValueError):
    """A cell that cannot be taken; ``code`` is the reason key under ``roster.reason``."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


_FORMULA_BODY = re.compile(r"[A-Za-z(!|=*/^&\"]")


def is_formula(value: object, formula_cell: bool = False) -> bool:
    """A cell a spreadsheet would run: an .xlsx formula, or text beginning with ``=``, or with
    ``+ - @`` followed by something a spreadsheet reads as a formula (``@SUM(A1)``,
    ``-cmd|...``); ``+86 138...``, ``-`` and ``-5`` are values."""
    if formula_cell:
        return True
    if not isinstance(value, str):
        return False
    s = value.lstrip(" \t\r\n\u3000")
    if not s:
        return False
    if s[0] in "=＝":
        return True
    return s[0] in "+-@＋－＠" and bool(_FORMULA_BODY.search(s[1:]))


def cell_text(value: object) -> str:
    """A cell as text: numbers without a trailing ``.0``, dates as ISO, NFKC, trimmed."""
    if type(value) is str:  # a text cell (every cell of a CSV): read 2-3 times per row
        text = _CELL_TEXTS.get(value)
        if text is None:
            if len(_CELL_TEXTS) >= 16_384:
                _CELL_TEXTS.clear()
            text = _CELL_TEXTS[value] = _text(value)
        return text
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    return _text(str(value))


def _text(text: str) -> str:
    if text.isascii():
        return text.strip()
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.replace("\u200b", "").replace("\ufeff", "").strip()


#: text cells as :func:`cell_text` read them, while a file is read (bounded)
_CELL_TEXTS: dict[str, str] = {}


def _exact_digits(value: object, column: str) -> str:
    """Digits of a number-like cell, refusing numbers a spreadsheet has already rounded."""
    if isinstance(value, float) and (not value.is_integer() or abs(value) >= 1e15):
        raise CellError(f"{column}_rounded")
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and abs(value) >= 10**15
        and column == "id_number"
    ):
        # 18-digit numbers only survive as Python ints when written by a program; Excel
        # keeps 15 significant digits, so treat them like rounded numbers unless they check.
        return str(value)
    text = cell_text(value)
    if re.fullmatch(r"[0-9.]+[eE][+-]?[0-9]+", text):
        raise CellError(f"{column}_rounded")
    return text


_PHONE_SEPARATORS = re.compile(r"[\s\-－—()（）.]")
_PHONE_SPLIT = re.compile(r"[/、,，;；]|\s{2,}")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[1-9][0-9]{1,2}[2-9][0-9]{6,7}")
_LOCAL = re.compile(r"[2-9][0-9]{6,7}")


def _one_phone(text: str) -> str:
    d = _PHONE_SEPARATORS.sub("", text)
    if d.startswith("+86"):
        d = d[3:]
    elif d.startswith("0086"):
        d = d[4:]
    elif d.startswith("86") and len(d) == 13:
        d = d[2:]
    if d.startswith("+"):
        raise CellError("bad_phone")
    if _MOBILE.fullmatch(d) or _LANDLINE.fullmatch(d) or _LOCAL.fullmatch(d):
        return d
    raise CellError("bad_phone")


def parse_phone(value: object) -> tuple[str, int]:
    """A phone cell as digits: an 11-digit mobile, or a landline with or without its area
    code. Returns (the first number, how many more the cell held)."""
    text = _exact_digits(value, "phone")
    if not text:
        return "", 0
    parts = [p for p in _PHONE_SPLIT.split(text) if p.strip()]
    numbers = [_one_phone(p) for p in parts]
    return numbers[0], len(numbers) - 1


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643, ISO 7064 MOD 11-2


def id_check_char(body: str) -> str:
    """The check character of an 18-character resident ID number (GB 11643)."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class IdNumber:
    number: str
    birth_year: int
    gender: str  # 男 / 女


def parse_id_number(value: object, today: _dt.date | None = None) -> IdNumber | None:
    """An ID number cell: 18 characters with a valid date and check character, or an old
    15-digit number. None for an empty cell; :class:`CellError` for anything else."""
    text = _exact_digits(value, "id_number").replace(" ", "").upper()
    if not text:
        return None
    today = today or _dt.date.today()
    if re.fullmatch(r"[0-9]{17}[0-9X]", text):
        year, month, day = int(text[6:10]), int(text[10:12]), int(text[12:14])
        if id_check_char(text[:17]) != text[17]:
            raise CellError("bad_id_check")
        sex_digit = int(text[16])
    elif re.fullmatch(r"[0-9]{15}", text):
        year, month, day = 1900 + int(text[6:8]), int(text[8:10]), int(text[10:12])
        sex_digit = int(text[14])
    else:
        raise CellError("bad_id")
    try:
        born = _dt.date(year, month, day)
    except ValueError:
        raise CellError("bad_id_date") from None
    if born > today or year < 1890:
        raise CellError("bad_id_date")
    return IdNumber(text, year, "男" if sex_digit % 2 else "女")


_EXCEL_EPOCH = _dt.date(1899, 12, 30)
_DATE = re.compile(
    r"^(\d{4})(?:\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*月?)?\s*年?$"
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})?$")


def parse_birth_year(value: object, today: _dt.date | None = None) -> int | None:
    """A birth year from 1950, 1950年, 1950-03-12, 1950/3, 195003, 19500312, 1950年3月,
    a date cell, or an Excel date serial number."""
    today = today or _dt.date.today()
    if value is None:
        return None
    if isinstance(value, _dt.date | _dt.datetime):
        year = value.year
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 1890 <= value <= today.year:
            year = int(value)
        elif 1 <= value <= 80000:
            # A date cell read without its format: days since 1899-12-30.
            year = (_EXCEL_EPOCH + _dt.timedelta(days=int(value))).year
        else:
            raise CellError("bad_birth")
    else:
        text = cell_text(value)
        if not text:
            return None
        m = _DATE.match(text) or _COMPACT_DATE.match(text)
        if not m:
            raise CellError("bad_birth")
        year = int(m.group(1))
        month = int(m.group(2)) if m.group(2) else 1
        day = int(m.group(3)) if m.lastindex and m.lastindex >= 3 and m.group(3) else 1
        try:
            _dt.date(year, month, day)
        except ValueError:
            raise CellError("bad_birth") from None
    if not 1890 <= year <= today.year:
        raise CellError("bad_birth")
    return year


def parse_age(value: object, today: _dt.date | None = None) -> int | None:
    """A 年龄 cell as an approximate birth year."""
    today = today or _dt.date.today()
    text = cell_text(value).removesuffix("周岁").removesuffix("岁").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 <= int(text) <= 130:
        raise CellError("bad_age")
    return today.year - int(text)


_GENDERS = {
    "男": "男",
    "男性": "男",
    "m": "男",
    "male": "男",
    "女": "女",
    "女性": "女",
    "f": "女",
    "female": "女",
}


def parse_gender(value: object) -> str:
    text = cell_text(value).lower()
    if not text:
        return ""
    if text not in _GENDERS:
        raise CellError("bad_gender")
    return _GENDERS[text]


_RELATIONS = {
    "本人": "户主",
    "户主本人": "户主",
    "户主": "户主",
    "妻": "配偶",
    "妻子": "配偶",
    "丈夫": "配偶",
    "夫": "配偶",
    "之妻": "配偶",
    "之夫": "配偶",
    "老伴": "配偶",
    "儿子": "子",
    "之子": "子",
    "长子": "子",
    "次子": "子",
    "女儿": "女",
    "之女": "女",
    "长女": "女",
    "次女": "女",
    "孙": "孙子",
    "之孙": "孙子",
    "孙女儿": "孙女",
    "父": "父亲",
    "母": "母亲",
}


def parse_relation(value: object) -> str:
    text = cell_text(value).replace(" ", "")
    if len(text) > 20:
        raise CellError("bad_relation")
    return _RELATIONS.get(text, text)


_NAME_OK = re.compile(r"^[A-Za-z·•.\- ]+$")


def parse_name(value: object) -> str:
    """A person's name: CJK characters (spaces inside removed), or Latin letters, with the
    middle dot of Uyghur and other transliterated names."""
    text = cell_text(value)
    text = re.sub(r"\s+", " ", text)
    if not text:
        return ""
    # "张 三" as typed to line up two-character names: the space is not part of the name.
    text = "".join(
        ch
        for i, ch in enumerate(text)
        if not (
            ch == " " and 0 < i < len(text) - 1 and (is_cjk(text[i - 1]) or is_cjk(text[i + 1]))
        )
    )
    if len(text) > 40:
        raise CellError("bad_name")
    if (
        not all(is_cjk(ch) or ch in "·•" for ch in text)
        and not _NAME_OK.match(text)
        and not (
            any(is_cjk(ch) for ch in text) and all(is_cjk(ch) or _NAME_OK.match(ch) for ch in text)
        )
    ):
        raise CellError("bad_name")
    return text.replace("•", "·")


# --- addresses ------------------------------------------------------------------------------

_BUILDING_MARK = re.compile(r"(?:号楼|栋楼|栋|幢|座|号院|楼|#)$")
_UNIT_MARK = re.compile(r"(?:单元|门)$")
_ROOM_MARK = re.compile(r"(?:室|号|户)$")
_PART = re.compile(r"^[0-9a-z]+$")


def _part(value: object, marks: re.Pattern[str], before: tuple[str, ...] = ()) -> str:
    text = cell_text(value).lower().replace(" ", "")
    for b in before:
        text = text.removeprefix(b)
    text = marks.sub("", text)
    text = text.removeprefix("第")
    if not text:
        return ""
    if not _PART.match(text):
        raise CellError("bad_address")
    return str(int(text)) if text.isdigit() else text


def parse_building(value: object) -> str:
    return _part(value, _BUILDING_MARK)


def parse_unit(value: object) -> str:
    return _part(value, _UNIT_MARK)


def parse_room(value: object) -> str:
    text = cell_text(value)
    if text and not _PART.match(_ROOM_MARK.sub("", text.lower().replace(" ", ""))):
        raise CellError("bad_address")
    return _part(value, _ROOM_MARK)


_PLACE_PREFIX = re.compile(r"^.*?(?:街道办事处|街道|社区居委会|社区居民委员会|社区|居委会)")


def parse_full_address(
    value: object, known_prefixes: tuple[str, ...] = ()
) -> tuple[str, str, str, str]:
    """(compound, building, unit, room) of a combined 地址 cell such as
    ``阳光小区3栋2单元501`` or ``安静社区阳光小区3号楼2单元501室``; the compound is '' when
    the cell starts at the building."""
    text = cell_text(value).replace(" ", "")
    if not text:
        return "", "", "", ""
    for prefix in sorted((p for p in known_prefixes if p), key=len, reverse=True):
        if text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix) :]
    # Street office and community names before the compound are not part of it.
    while True:
        m = _PLACE_PREFIX.match(text)
        if not m or m.end() >= len(text) or not re.match(r"\D", text[m.end() :]):
            break
        text = text[m.end() :]
    compound, rest = split_compound_prefix(text)
    parsed = parse_address(rest)
    if parsed is None:
        raise CellError("bad_address")
    # split_compound_prefix lower-cases; keep the compound as written.
    compound_written = text[: len(compound)] if compound else ""
    return compound_written, *parsed

"""Case categories: the five groups of DOMAIN.md, each with sub-categories.

The built-in table below is the default; a district can replace it with a TOML file named by
the ``case_categories`` setting (format in docs/cases.md). A case stores the sub-category
code and its group code as immutable registration data, so changing the table later never
rewrites history.

Each sub-category is a simple matter (简单事项, handled at once: a street light, a blocked
drain) or an ordinary one (一般事项, handled quickly); a case assigned without a deadline
gets its kind's number of days (``[deadlines]`` in the file; 3 and 15 by default).
"""

from __future__ import annotations

import datetime as _dt
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from kiosk.core.errors import UserError
from kiosk.core.i18n import language

#: a matter handled at once (简单事项马上办) or quickly (一般事项快速办)
KINDS = ("simple", "ordinary")
#: days from assignment to the deadline, by kind, when the categories file does not say
DEFAULT_DEADLINES = {"simple": 3, "ordinary": 15}
#: the built-in simple matters
_SIMPLE = frozenset(
    {"street_lights", "sanitation", "sewer", "garbage_dump", "vehicle_order", "noise"}
)


@dataclass(frozen=True)
class Category:
    code: str
    group: str
    zh: str
    en: str
    kind: str = "ordinary"

    @property
    def name(self) -> str:
        return self.en if language() == "en" else self.zh


@dataclass(frozen=True)
class Group:
    code: str
    zh: str
    en: str
    subs: tuple[Category, ...]

    @property
    def name(self) -> str:
        return self.en if language() == "en" else self.zh


_DEFAULT: list[tuple[str, str, str, list[tuple[str, str, str]]]] = [
    (
        "urban",
        "城建城管执法",
        "Urban construction and enforcement",
        [
            ("parking", "停车", "Parking"),
            ("ebike_charging", "电动车充电", "E-bike charging"),
            ("street_lights", "路灯", "Street lights"),
            ("road_repair", "路面维修", "Road repair"),
            ("vehicle_order", "车辆停放", "Vehicle parking order"),
            ("sanitation", "环境卫生", "Sanitation"),
            ("roof_leak", "漏雨", "Roof leak"),
            ("sewer", "下水堵", "Blocked sewer"),
            ("dead_end_road", "断头路", "Dead-end road"),
            ("collapsed_road", "塌陷路", "Collapsed road"),
            ("garbage_dump", "垃圾死点", "Garbage dump"),
            ("illegal_building", "违章搭建", "Illegal construction"),
        ],
    ),
    (
        "livelihood",
        "民生服务",
        "Livelihood services",
        [
            ("heating", "供暖", "Heating"),
            ("water_supply", "供水", "Water supply"),
            ("elevator", "电梯", "Elevator"),
            ("property_service", "物业服务", "Property management"),
            ("elderly_care", "养老服务", "Elderly care"),
            ("hardship_aid", "困难帮扶", "Hardship aid"),
        ],
    ),
    (
        "culture_health",
        "文教卫生",
        "Education, culture and health",
        [
            ("vaccination", "疫苗接种", "Vaccination"),
            ("schooling", "入学", "Schooling"),
            ("medical", "就医", "Medical care"),
            ("culture", "文体活动", "Culture and sport"),
        ],
    ),
    (
        "petition_safety",
        "信访维稳安全",
        "Petitions, stability and safety",
        [
            ("noise", "噪音扰民", "Noise"),
            ("dispute", "邻里纠纷", "Neighbour dispute"),
            ("fire_safety", "消防安全", "Fire safety"),
            ("petition", "信访诉求", "Petition"),
        ],
    ),
    (
        "other",
        "其他",
        "Other",
        [
            ("other", "其他事项", "Other matter"),
        ],
    ),
]


@dataclass(frozen=True)
class Categories:
    groups: tuple[Group, ...]
    deadlines: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_DEADLINES))

    def default_due(self, code: str | None, today: _dt.date) -> str:
        """The deadline of a case of category ``code`` assigned ``today`` without one: its
        kind's days later (an unknown category: an ordinary matter's)."""
        c = self.get(code) if code else None
        days = self.deadlines.get(c.kind if c else "ordinary", DEFAULT_DEADLINES["ordinary"])
        return (today + _dt.timedelta(days=days)).isoformat()

    @property
    def all(self) -> list[Category]:
        return [c for g in self.groups for c in g.subs]

    @cached_property
    def _by_code(self) -> dict[str, Category]:
        """Sub-categories by code, the first of each (a ledger asks once per row)."""
        out: dict[str, Category] = {}
        for c in self.all:
            out.setdefault(c.code, c)
        return out

    def get(self, code: str) -> Category | None:
        return self._by_code.get(code)

    def group(self, code: str) -> Group | None:
        return next((g for g in self.groups if g.code == code), None)

    def resolve(self, text: str) -> Category:
        """A sub-category by code, ``group.code``, or Chinese or English name."""
        q = (text or "").strip()
        low = q.lower()
        if "." in low:
            low = low.split(".", 1)[1]
        for c in self.all:
            if low in (c.code, c.en.lower()) or q == c.zh:
                return c
        raise UserError(
            "cases.error.unknown_category",
            exit_code=2,
            category=q[:40],
            known=", ".join(c.code for c in self.all),
        )

    def label(self, code: str) -> str:
        c = self.get(code)
        if c:
            return c.name
        g = self.group(code)
        return g.name if g else code


def _build(
    raw: Sequence[tuple[str, str, str, Sequence[tuple[str, ...]]]],
    deadlines: dict[str, int] | None = None,
) -> Categories:
    def sub(code: str, c: str, czh: str, cen: str, kind: str | None = None) -> Category:
        return Category(c, code, czh, cen, kind or ("simple" if c in _SIMPLE else "ordinary"))

    return Categories(
        tuple(
            Group(code, zh, en, tuple(sub(code, *s) for s in subs)) for code, zh, en, subs in raw
        ),
        {**DEFAULT_DEADLINES, **(deadlines or {})},
    )


def _kind(value: object, path: Path, where: str) -> str:
    kind = str(value or "ordinary")
    if kind not in KINDS:
        raise UserError(
            "cases.error.categories_file",
            path=str(path),
            detail=f"{where}: kind is simple or ordinary, not {kind[:20]!r}",
        )
    return kind


def parse_toml(path: Path) -> Categories:
    """Read a category table (``[[group]]`` with ``[[group.sub]]``, see docs/cases.md)."""
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except OSError:
        raise UserError(
            "cases.error.categories_file", path=str(path), detail="unreadable"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError("cases.error.categories_file", path=str(path), detail=str(exc)) from None
    raw = []
    seen: set[str] = set()
    for i, g in enumerate(doc.get("group", [])):
        if not isinstance(g, dict) or not g.get("code") or not g.get("zh"):
            raise UserError(
                "cases.error.categories_file",
                path=str(path),
                detail=f"group {i + 1}: code and zh are required",
            )
        subs = []
        for j, s in enumerate(g.get("sub", [])):
            if not isinstance(s, dict) or not s.get("code") or not s.get("zh"):
                raise UserError(
                    "cases.error.categories_file",
                    path=str(path),
                    detail=f"group {i + 1} sub {j + 1}: code and zh are required",
                )
            if s["code"] in seen:
                raise UserError(
                    "cases.error.categories_file",
                    path=str(path),
                    detail=f"duplicate code {s['code']}",
                )
            seen.add(s["code"])
            kind = _kind(s.get("kind", g.get("kind")), path, f"group {i + 1} sub {j + 1}")
            subs.append((str(s["code"]), str(s["zh"]), str(s.get("en") or s["zh"]), kind))
        if not subs:
            kind = _kind(g.get("kind"), path, f"group {i + 1}")
            subs = [(str(g["code"]), str(g["zh"]), str(g.get("en") or g["zh"]), kind)]
        raw.append((str(g["code"]), str(g["zh"]), str(g.get("en") or g["zh"]), subs))
    if not raw:
        raise UserError("cases.error.categories_file", path=str(path), detail="no [[group]]")
    deadlines = doc.get("deadlines", {})
    if not isinstance(deadlines, dict) or not all(
        k in KINDS and isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 365
        for k, v in deadlines.items()
    ):
        raise UserError(
            "cases.error.categories_file",
            path=str(path),
            detail="[deadlines]: simple = DAYS, ordinary = DAYS (0 to 365)",
        )
    return _build(raw, deadlines)


DEFAULT = _build(_DEFAULT)


@lru_cache(maxsize=8)
def _from_file(path: str) -> Categories:
    return parse_toml(Path(path).expanduser())


def load_categories(settings: object | None = None) -> Categories:
    """The category table in force: the settings' file if named, else the built-in one."""
    path = getattr(settings, "case_categories", None) if settings is not None else None
    return _from_file(path) if path else DEFAULT


def active_categories() -> Categories:
    """The table the current settings name (the built-in one when the settings cannot be read:
    a bad config file is reported where settings are loaded, not here)."""
    from kiosk.core.config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError:
        return DEFAULT
    return load_categories(settings)

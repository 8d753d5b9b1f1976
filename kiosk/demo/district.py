"""A realistic synthetic district for trying Grid Kiosk and for benchmarks.

Deterministic for a seed: the same ``(households, seed)`` always gives the same district
(ids are UUIDv7 drawn from the seeded generator and a fixed epoch). Names, relations, birth
years, phone and ID numbers are synthetic: ID numbers carry a valid check digit but a random
sequence, phone numbers are random 11-digit mobiles, so nothing points at a real person.

``kiosk demo`` then adds cases (kiosk/demo/cases.py) and visits, feedback and questionnaires
(kiosk/demo/visits.py).
"""

from __future__ import annotations

import json
import random
from bisect import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import accumulate

from db.bulk import Batch, next_household_rid
from db.hlc import format_stamp
from db.normalize import address_key, compound_pinyin
from kiosk.households.roster.fields import ID_WEIGHTS

DISTRICT = "道里区"
#: The demo's documented accounts (README, docs/security.md): role -> (name, PIN). The first
#: grid's worker, the first community's supervisor and the administrator carry these names;
#: every other demo worker, supervisor has the same PIN as their role's account.
DEMO_ACCOUNTS = {
    "worker": ("演示网格员", "246810"),
    "supervisor": ("演示主管", "135790"),
    "admin": ("演示管理员", "975310"),
}
STREETS = [
    "新阳路街道",
    "安静街道",
    "工农街道",
    "尚志街道",
    "斯大林街道",
    "新华街道",
    "康安街道",
    "经纬街道",
    "兆麟街道",
    "抚顺街道",
    "正阳河街道",
    "建国街道",
]
COMMUNITIES = [
    "安静社区",
    "新阳社区",
    "共乐社区",
    "光芒社区",
    "经纬社区",
    "友谊社区",
    "和平社区",
    "工程社区",
    "城乡路社区",
    "通达社区",
    "抚顺社区",
    "爱建社区",
    "顾乡社区",
    "兆麟社区",
    "红星社区",
    "民康社区",
    "霁虹社区",
    "偏脸子社区",
    "安发社区",
    "河润社区",
]
GRID_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
COMPOUND_HEADS = [
    "阳光",
    "和平",
    "安居",
    "幸福",
    "丽江",
    "金色",
    "兴隆",
    "友谊",
    "建设",
    "新城",
    "电机厂",
    "铁路",
    "工程",
    "锦绣",
    "欧洲",
    "群力",
    "河畔",
    "松花江",
    "东方",
    "紫金",
    "华山",
    "明珠",
    "康乐",
    "福泰",
    "春华",
    "秋实",
    "雅居",
    "翠湖",
    "绿洲",
    "祥和",
    "润园",
    "学府",
    "西城",
    "北苑",
    "南岗",
    "景阳",
    "通达",
    "中山",
    "长青",
]
COMPOUND_TAILS = ["小区", "花园", "家园", "家属楼", "公寓", "新村", "嘉园", "雅苑", "名苑", "佳苑"]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙"
    "史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单"
)
MALE_CHARS = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国志成海峰东"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲桂英华红燕萍洁琳雪梅慧颖婷倩晶莉兰凤云月佳欣悦琴焕"
REGION_CODES = ["230102", "230103", "230104", "230108", "230109", "230110"]
EPOCH = date(2026, 1, 5)
EPOCH_MS = 1_767_571_200_000  # 2026-01-05 00:00 UTC: demo ids and stamps count from here


@dataclass
class DemoSummary:
    households: int
    members: int
    grids: int
    compounds: int
    workers: int


class _Ids:
    """UUIDv7 from the seeded generator, so a seed always yields the same ids."""

    def __init__(self, rng: random.Random, epoch_ms: int) -> None:
        self.rng, self.ms = rng, epoch_ms

    def __call__(self) -> str:
        self.ms += 1
        rand = self.rng.getrandbits(74)
        value = (
            (self.ms << 80)
            | (0x7 << 76)
            | ((rand >> 62) << 64)
            | (0b10 << 62)
            | (rand & ((1 << 62) - 1))
        )
        h = f"{value:032x}"  # the text form of uuid.UUID(int=value), without its overhead
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _chinese_number(n: int) -> str:
    """2 -> 二, 12 -> 十二, 35 -> 三十五 (1 <= n < 10000)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = digits[hundreds] + "百"
        if rest == 0:
            return head
        if rest < 10:
            return head + "零" + digits[rest]
        return head + digits[rest // 10] + "十" + (digits[rest % 10] if rest % 10 else "")
    return digits[n // 1000] + "千" + ("" if n % 1000 == 0 else _chinese_number(n % 1000))


@lru_cache(maxsize=4096)
def _weighted(digits: str, start: int) -> int:
    """The check sum's share of ``digits`` standing at ``start`` in the 17-digit body."""
    return sum(int(d) * w for d, w in zip(digits, ID_WEIGHTS[start:], strict=False))


def _id_number(region: str, year: int, month: int, day: int, seq: int) -> str:
    """An 18-character ID number, its check character computed from cached parts (the same
    result as :func:`kiosk.households.roster.fields.id_check_char` of the whole body, faster)."""
    y, m, d, q = f"{year:04d}", f"{month:02d}", f"{day:02d}", f"{seq:03d}"
    total = (
        _weighted(region, 0)
        + _weighted(y, 6)
        + _weighted(m, 10)
        + _weighted(d, 12)
        + _weighted(q, 14)
    )
    return f"{region}{y}{m}{d}{q}" + "10X98765432"[total % 11]


def _below(rng: random.Random) -> Callable[[int], int]:
    """``below(n)``: a number in [0, n) drawn exactly as ``random.Random._randbelow`` draws it
    (so ``seq[below(len(seq))]`` is ``rng.choice(seq)`` and ``a + below(b - a + 1)`` is
    ``rng.randint(a, b)``), at a fraction of the cost of going through those methods."""
    getrandbits = rng.getrandbits

    def below(n: int) -> int:
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return r

    return below


# Household sizes and the head's age band, as weights for rng.choices (drawn the same way).
_SIZES = (1, 2, 3, 4, 5)
_SIZE_CUM = list(accumulate((18, 30, 28, 15, 9)))
_SIZE_TOTAL = _SIZE_CUM[-1] + 0.0
_AGE_CUM = list(accumulate((35, 40, 25)))
_AGE_TOTAL = _AGE_CUM[-1] + 0.0


class DistrictGenerator:
    """Generates the district grid by grid, in batches the bulk writer takes."""

    def __init__(
        self,
        households: int,
        seed: int,
        device_id: str,
        first_rid: int = 1,
        today: date | None = None,
    ) -> None:
        self.target = households
        self.rng = random.Random(seed)
        self.device_id = device_id
        self.rid = first_rid
        self.today = today or date.today()
        self.year = self.today.year
        self.new_id = _Ids(self.rng, EPOCH_MS)
        self.tick = 0
        self.created_at = EPOCH.isoformat() + "T09:00:00+08:00"
        self.n_grids = max(1, -(-households // 300))
        self.code_width = max(3, len(str(self.n_grids)))
        self.summary = DemoSummary(0, 0, 0, 0, 0)
        self.worker_names: set[str] = {name for name, _ in DEMO_ACCOUNTS.values()}
        self._pin_hashes: dict[str, str] = {}
        self.below = _below(self.rng)

    def pin_hash(self, role: str) -> str:
        """The demo PIN of ``role``, hashed once and shared by every demo account of that
        role (one argon2id hash per role keeps a million-household demo fast)."""
        if role not in self._pin_hashes:
            from kiosk.security.auth import hash_pin

            self._pin_hashes[role] = hash_pin(DEMO_ACCOUNTS[role][1])
        return self._pin_hashes[role]

    def stamp(self) -> str:
        self.tick += 1
        return format_stamp(EPOCH_MS + self.tick, 0)

    # --- people ---------------------------------------------------------------------------
    # These run millions of times for a large district. They draw from the generator exactly
    # as random.Random.choice, randint and choices do (see _below), without their overhead.
    def person_name(self, gender: str, surname: str | None = None) -> str:
        rng, below = self.rng, self.below
        surname = surname or SURNAMES[below(len(SURNAMES))]
        chars = MALE_CHARS if gender == "男" else FEMALE_CHARS
        n = len(chars)
        given = chars[below(n)] + (chars[below(n)] if rng.random() < 0.7 else "")
        return surname + given

    def unique_worker_name(self, gender: str) -> str:
        while True:
            name = self.person_name(gender)
            if name not in self.worker_names:
                self.worker_names.add(name)
                return name

    def phone(self) -> str:
        below = self.below
        return "1" + "3578"[below(4)] + str(below(10**9)).zfill(9)

    def id_number(self, birth_year: int, gender: str) -> str:
        below = self.below
        seq = below(500) * 2 + (1 if gender == "男" else 0)
        region = REGION_CODES[below(len(REGION_CODES))]
        month, day = 1 + below(12), 1 + below(28)
        if (birth_year, month, day) > (self.today.year, self.today.month, self.today.day):
            month, day = (
                self.today.month,
                min(day, self.today.day),
            )  # born this year: not later than today
        return _id_number(region, birth_year, month, day, seq)

    def household_members(self) -> list[tuple[str, str, str, int]]:
        """(name, relation, gender, birth_year) for one household."""
        rng, below, year = self.rng, self.below, self.year
        random = rng.random
        size = _SIZES[bisect(_SIZE_CUM, random() * _SIZE_TOTAL, 0, 4)]
        head_gender = "男" if random() < 0.62 else "女"
        ages = (25 + below(20), 45 + below(20), 65 + below(28))
        head_age = ages[bisect(_AGE_CUM, random() * _AGE_TOTAL, 0, 2)]
        surname = SURNAMES[below(len(SURNAMES))]
        out = [(self.person_name(head_gender, surname), "户主", head_gender, year - head_age)]
        if size >= 2:
            g = "女" if head_gender == "男" else "男"
            out.append((self.person_name(g), "配偶", g, year - head_age + (-5 + below(11))))
        for _ in range(size - len(out)):
            if head_age >= 50 and random() < 0.3:
                g = "男女"[below(2)]
                rel = "孙子" if g == "男" else "孙女"
                age = 1 + below(max(1, head_age - 45))
            elif head_age <= 50 and random() < 0.25:
                g = "男女"[below(2)]
                rel = "父亲" if g == "男" else "母亲"
                age = head_age + 22 + below(11)
            else:
                g = "男女"[below(2)]
                rel = "子" if g == "男" else "女"
                age = max(0, head_age - (22 + below(14)))
            name = self.person_name(
                g, surname if rel in ("子", "女", "孙子", "孙女", "父亲") else None
            )
            out.append((name, rel, g, year - age))
        return out

    # --- places ---------------------------------------------------------------------------
    def grids(self) -> Iterator[tuple[int, str, str, str, str]]:
        """(index in community, code, grid name, community, street) for every grid."""
        per_community, per_street = 8, 10
        for i in range(self.n_grids):
            c_index, g_index = divmod(i, per_community)
            s_index = c_index // per_street
            community = (
                COMMUNITIES[c_index] if c_index < len(COMMUNITIES) else f"第{c_index + 1}社区"
            )
            street = STREETS[s_index] if s_index < len(STREETS) else f"第{s_index + 1}街道"
            code = f"G{i + 1:0{self.code_width}d}"
            yield g_index, code, f"{community}第{GRID_NUMERALS[g_index]}网格", community, street

    def batches(self, grids_per_batch: int = 10) -> Iterator[Batch]:
        batch = Batch()
        # The district's administrator (workers, devices, settings).
        self.unique_worker_name("男")  # keeps the generator's sequence of earlier versions
        batch.add(
            "workers",
            (
                self.new_id(),
                DEMO_ACCOUNTS["admin"][0],
                "admin",
                "[]",
                None,
                0,
                self.stamp(),
                None,
                self.device_id,
                self.pin_hash("admin"),
            ),
        )
        self.summary.workers += 1
        remaining = self.target
        used_compounds: set[str] = set()
        for i, (g_index, code, grid_name, community, street) in enumerate(self.grids()):
            if remaining <= 0:
                break
            grid_size = min(remaining, self.rng.randint(260, 340))
            if i == self.n_grids - 1:
                grid_size = remaining
            remaining -= self.add_grid(
                batch,
                code,
                grid_name,
                community,
                street,
                grid_size,
                used_compounds,
                first_in_community=g_index == 0,
            )
            if (i + 1) % grids_per_batch == 0:
                yield batch
                batch = Batch()
        if batch.rows:
            yield batch

    def compound_name(self, used: set[str]) -> str:
        rng = self.rng
        for _ in range(20):
            name = rng.choice(COMPOUND_HEADS) + rng.choice(COMPOUND_TAILS)
            if name not in used:
                used.add(name)
                return name
        # Later phases of an estate: 阳光小区二期, 阳光小区三期 ...
        base = rng.choice(COMPOUND_HEADS) + rng.choice(COMPOUND_TAILS)
        n = 2
        while f"{base}{_chinese_number(n)}期" in used:
            n += 1
        name = f"{base}{_chinese_number(n)}期"
        used.add(name)
        return name

    def add_grid(
        self,
        batch: Batch,
        code: str,
        grid_name: str,
        community: str,
        street: str,
        size: int,
        used_compounds: set[str],
        first_in_community: bool,
    ) -> int:
        rng = self.rng
        grid_id, stamp, dev = self.new_id(), self.stamp(), self.device_id
        batch.add(
            "grids", (grid_id, code, grid_name, community, street, DISTRICT, stamp, None, dev)
        )
        self.summary.grids += 1
        # The grid's worker: a resident of the district like any other.
        worker = self.unique_worker_name("女" if rng.random() < 0.7 else "男")
        first_grid = self.summary.grids == 1
        if first_grid:
            worker = DEMO_ACCOUNTS["worker"][0]
        batch.add(
            "workers",
            (
                self.new_id(),
                worker,
                "worker",
                json.dumps([code]),
                community,
                0,
                stamp,
                None,
                dev,
                self.pin_hash("worker"),
            ),
        )
        self.summary.workers += 1
        if first_in_community:  # one supervisor per community
            supervisor = self.unique_worker_name("男")
            if first_grid:
                supervisor = DEMO_ACCOUNTS["supervisor"][0]
            batch.add(
                "workers",
                (
                    self.new_id(),
                    supervisor,
                    "supervisor",
                    "[]",
                    community,
                    0,
                    stamp,
                    None,
                    dev,
                    self.pin_hash("supervisor"),
                ),
            )
            self.summary.workers += 1
        made = 0
        while made < size:
            name = self.compound_name(used_compounds)
            full, initials = compound_pinyin(name)
            compound_id = self.new_id()
            batch.add(
                "compounds", (compound_id, grid_id, name, full, initials, self.stamp(), None, dev)
            )
            self.summary.compounds += 1
            buildings, units = rng.randint(2, 6), rng.randint(1, 4)
            floors, per_floor = rng.choice([5, 6, 6, 7, 11, 18]), rng.choice([2, 2, 3])
            for b in range(1, buildings + 1):
                for u in range(1, units + 1):
                    for f in range(1, floors + 1):
                        for r in range(1, per_floor + 1):
                            if made >= size:
                                return made
                            if rng.random() < 0.08:
                                continue  # vacant
                            self.add_household(
                                batch, grid_id, compound_id, str(b), str(u), f"{f}{r:02d}"
                            )
                            made += 1
        return made

    def add_household(
        self, batch: Batch, grid_id: str, compound_id: str, building: str, unit: str, room: str
    ) -> None:
        rng, year, dev = self.rng, self.year, self.device_id
        hid, rid, stamp = self.new_id(), self.rid, self.stamp()
        self.rid += 1
        people = self.household_members()
        tags: set[str] = set()
        ages = [year - p[3] for p in people]
        if max(ages) >= 70:
            tags.add("elderly70")
        if len(people) == 1 and ages[0] >= 60:
            tags.add("alone")
        if rng.random() < 0.03:
            tags.add("disabled")
        if rng.random() < 0.04:
            tags.add("hardship")
        if rng.random() < 0.03:
            tags.add("unvaccinated")
        if any(18 <= a <= 22 and p[2] == "男" for a, p in zip(ages, people, strict=True)):
            tags.add("conscription")
        created = self.created_at
        for pos, (name, rel, gender, birth_year) in enumerate(people):
            phone = self.phone() if year - birth_year >= 14 else ""
            member_tags = "disabled" if "disabled" in tags and pos == len(people) - 1 else ""
            batch.add(
                "members",
                (
                    self.new_id(),
                    hid,
                    name,
                    rel,
                    gender,
                    phone,
                    self.id_number(birth_year, gender),
                    birth_year,
                    member_tags,
                    pos,
                    created,
                    created,
                    stamp,
                    None,
                    dev,
                ),
            )
        self.summary.members += len(people)
        key = address_key(building, unit, room)
        batch.add(
            "households",
            (
                rid,
                hid,
                grid_id,
                compound_id,
                building,
                unit,
                room,
                key,
                people[0][0],
                len(people),
                " ".join(sorted(tags)),
                "",
                created,
                created,
                stamp,
                None,
                dev,
            ),
        )
        self.summary.households += 1


def _produce(
    queue, households: int, seed: int, device_id: str, first_rid: int, today: date, parent: int
) -> None:
    """Child process: generate batches and hand them over (the parent writes them).

    The child lets go of the parent's terminal and pipes, and stops as soon as the parent is
    gone (killed mid-way, say), so it never lingers as an orphan.
    """
    import os
    import queue as queue_mod

    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    gen = DistrictGenerator(households, seed, device_id, first_rid=first_rid, today=today)

    def put(item) -> bool:
        while True:
            try:
                queue.put(item, timeout=0.5)
                return True
            except queue_mod.Full:
                if os.getppid() != parent:
                    return False

    from db.bulk import stage_search_keys

    for batch in gen.batches():
        if queue.qsize() >= 2:
            # The writer is behind: derive this batch's search keys here, so both processes
            # stay busy whichever is faster on this machine (the keys are the same either way).
            stage_search_keys(batch)
        if not put((batch.rows, gen.summary)):
            os._exit(0)
    put(None)


def stream_district(
    conn, households: int, seed: int, device_id: str, parallel: bool | None = None
) -> Iterator[tuple[Batch, DemoSummary]]:
    """Batches of the district with the running summary.

    For large districts generation runs in a child process while this one writes, so the two
    halves of the work overlap on two cores; the output is identical either way.
    """
    first_rid, today = next_household_rid(conn), date.today()
    if parallel is None:
        parallel = households >= 50_000
    if not parallel:
        gen = DistrictGenerator(households, seed, device_id, first_rid=first_rid, today=today)
        for batch in gen.batches():
            yield batch, gen.summary
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue(maxsize=4)
    import os

    proc = ctx.Process(
        target=_produce,
        args=(queue, households, seed, device_id, first_rid, today, os.getpid()),
        daemon=True,
    )
    proc.start()
    try:
        while True:
            item = queue.get(timeout=600)
            if item is None:
                break
            rows, summary = item
            yield Batch(rows), summary
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=10)

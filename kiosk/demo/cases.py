"""Demo cases: every status, overdue cases at every escalation level, reopened cases, cases
closed after unanswered follow-ups, repeats, and a roof leak that involves a whole building.

Written in bulk (``executemany``, one transaction) like the rest of the seeded district: the
rows stand for a ledger the hub already holds, so they are not queued in the outbox. The
case count is bounded (a sample of households), so the demo stays fast at a million households.
Each case's state is folded with the same :func:`db.case_fold.fold` the app uses.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from db.case_fold import Event, fold
from db.cases import _STATE_UPDATE, device_tag, state_row
from db.context import WriteContext, set_meta
from db.hlc import format_stamp
from kiosk.domain.categories import DEFAULT

TZ = timezone(timedelta(hours=8))
DEPARTMENTS = [
    "城管执法中队",
    "房产管理所",
    "市政设施维护处",
    "社区居委会",
    "物业公司",
    "供热公司",
    "派出所",
    "环卫所",
    "街道综治中心",
    "水务公司",
]
PERSONS = ["王主任", "李科长", "张队长", "刘经理", "陈书记", "赵所长"]
SUMMARIES = {
    "parking": ["小区内乱停车堵塞消防通道", "楼下停车位不够，车停到人行道上"],
    "ebike_charging": ["楼道里给电动车充电，飞线充电有火灾隐患", "希望增设电动车充电桩"],
    "street_lights": ["小区门口路灯不亮，晚上出行不便", "路灯坏了两个月没人修"],
    "road_repair": ["小区主路坑洼积水", "路面破损，老人出行容易摔倒"],
    "vehicle_order": ["共享单车乱停放", "车辆占道停放影响通行"],
    "sanitation": ["楼道堆放杂物", "垃圾桶满了没人清运"],
    "roof_leak": ["顶楼屋面漏雨，雨天家里漏水", "楼顶防水层老化漏雨多年"],
    "sewer": ["下水道堵塞返水", "化粪池满溢"],
    "dead_end_road": ["断头路不通，绕行很远"],
    "collapsed_road": ["路面塌陷出现大坑"],
    "garbage_dump": ["墙角垃圾死点长期无人清理"],
    "noise": ["楼下烧烤店夜间噪音扰民", "装修噪音太大", "广场舞音响声音过大"],
    "heating": ["暖气不热，室温不达标"],
    "elevator": ["电梯经常故障停运"],
    "property_service": ["物业服务差，不打扫卫生"],
    "dispute": ["邻里因漏水发生纠纷"],
    "fire_safety": ["楼道堆放易燃物品"],
    "elderly_care": ["独居老人需要助餐服务"],
}
WEIGHTED = [
    "parking",
    "ebike_charging",
    "street_lights",
    "road_repair",
    "vehicle_order",
    "sanitation",
    "noise",
    "noise",
    "sewer",
    "roof_leak",
    "heating",
    "elevator",
    "property_service",
    "garbage_dump",
    "dispute",
    "fire_safety",
    "elderly_care",
    "dead_end_road",
    "collapsed_road",
    "parking",
    "sanitation",
]
#: How a case goes; each appears in the demo so every state and level shows up.
SCENARIOS = [
    ("registered", 6),
    ("assigned", 8),
    ("in_progress", 8),
    ("overdue1", 5),
    ("overdue2", 4),
    ("overdue3", 3),
    ("escalated", 2),
    ("resolved", 6),
    ("on_spot", 8),
    ("closed", 22),
    ("closed_basic", 8),
    ("reopened", 6),
    ("reopened_open", 3),
    ("unreachable", 3),
    ("repeat", 4),
]


@dataclass
class CaseRows:
    """Rows for the three case tables, ready for ``executemany``."""

    cases: list[tuple] = field(default_factory=list)
    links: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    by_case: dict[str, list[Event]] = field(default_factory=dict)
    case_info: dict[str, dict] = field(default_factory=dict)


class CaseGenerator:
    """Synthetic cases with realistic timelines, deterministic for a seeded ``rng``."""

    def __init__(
        self,
        rng: random.Random,
        today: date,
        device_id: str,
        workers: dict[str, str],
        supervisor: str | None,
    ) -> None:
        self.rng, self.today, self.device = rng, today, device_id
        self.workers, self.supervisor = workers, supervisor
        self.seq: dict[int, int] = {}
        self.counter = 0
        self.rows = CaseRows()
        self.ids = 0
        self.tag = device_tag(device_id)
        self.now = datetime.now(TZ)

    def new_id(self, when: datetime) -> str:
        import uuid

        self.ids += 1
        ms = int(when.timestamp() * 1000)
        rand = self.rng.getrandbits(74)
        value = (
            (ms << 80)
            | (0x7 << 76)
            | ((rand >> 62) << 64)
            | (0b10 << 62)
            | (rand & ((1 << 62) - 1))
        )
        return str(uuid.UUID(int=value))

    def stamp(self, when: datetime) -> str:
        self.counter += 1
        return format_stamp(int(when.timestamp() * 1000), self.counter % 100000)

    def at(self, day: date, hour: int | None = None) -> datetime:
        h = hour if hour is not None else self.rng.randint(8, 17)
        return datetime(day.year, day.month, day.day, h, self.rng.randint(0, 59), tzinfo=TZ)

    def event(self, case_id: str, type_: str, when: datetime, by: str | None, **data) -> None:
        when = min(when, self.now)  # a timeline never runs into the future
        eid, hlc = self.new_id(when), self.stamp(when)
        at = when.isoformat(timespec="seconds")
        data = {k: v for k, v in data.items() if v is not None}
        self.rows.events.append(
            (
                eid,
                case_id,
                type_,
                at,
                json.dumps(data, ensure_ascii=False, sort_keys=True),
                hlc,
                by,
                self.device,
            )
        )
        self.rows.by_case.setdefault(case_id, []).append(
            Event(eid, type_, hlc, self.device, at, by, data)
        )

    def case(
        self,
        households: list[tuple[str, str, str]],
        grid_code: str,
        scenario: str,
        repeat_target: str | None = None,
        category: str | None = None,
    ) -> str:
        rng, today = self.rng, self.today
        category = category or rng.choice(WEIGHTED)
        cat = DEFAULT.get(category) or DEFAULT.all[0]
        worker = self.workers.get(grid_code) or self.supervisor
        sup = self.supervisor or worker
        if scenario.startswith("overdue") or scenario == "escalated":
            late = {
                "overdue1": rng.randint(1, 6),
                "overdue2": rng.randint(9, 13),
                "overdue3": rng.randint(16, 40),
                "escalated": rng.randint(2, 5),
            }[scenario]
            due = today - timedelta(days=late)
            reg_day = due - timedelta(days=rng.randint(7, 20))
        elif scenario in ("registered", "assigned", "in_progress", "reopened_open"):
            reg_day = today - timedelta(days=rng.randint(1, 6))  # recent: not overdue yet
            due = reg_day + timedelta(days=rng.randint(10, 30))
        else:
            reg_day = today - timedelta(days=rng.randint(1, 120))
            due = reg_day + timedelta(days=rng.randint(7, 30))
        reg = min(self.at(reg_day), self.now)
        cid = self.new_id(reg)
        year = reg.year
        self.seq[year] = self.seq.get(year, 0) + 1
        number = f"{year}-{self.tag}-{self.seq[year]:06d}"
        summary = rng.choice(SUMMARIES.get(cat.code, ["群众反映的问题"]))
        self.rows.cases.append(
            (
                cid,
                number,
                cat.code,
                cat.group,
                summary,
                households[0][1],
                None,
                None,
                reg.isoformat(timespec="seconds"),
                self.stamp(reg),
                worker,
                self.device,
            )
        )
        self.rows.case_info[cid] = {
            "grid_id": households[0][1],
            "category": cat.code,
            "category_group": cat.group,
            "registered_at": reg.isoformat(timespec="seconds"),
        }
        for hid, _grid, _ in households:
            self.rows.links.append(
                (self.new_id(reg), cid, hid, self.stamp(reg), worker, self.device)
            )
        self.event(cid, "register", reg, worker)
        if scenario == "registered":
            return cid
        t = reg
        step = lambda days=1: t + timedelta(days=days, hours=rng.randint(0, 3))  # noqa: E731
        if scenario == "on_spot":
            t = reg + timedelta(minutes=rng.randint(10, 90))
            self.event(cid, "resolve_on_spot", t, worker, note="现场协调解决")
            t = step(rng.randint(1, 3))
            self.event(cid, "follow_up", t, worker, reached=True)
            self.event(cid, "rate", t, worker, rating="satisfied")
            self.event(cid, "close", t + timedelta(hours=1), sup)
            return cid
        if scenario == "repeat":
            t = step()
            self.event(
                cid,
                "repeat_of",
                t,
                worker,
                of=repeat_target,
                of_number=self.number_of(repeat_target),
            )
            return cid
        t = step()
        self.event(
            cid,
            "assign",
            t,
            sup,
            department=rng.choice(DEPARTMENTS),
            person=rng.choice(PERSONS),
            due=due.isoformat(),
        )
        if scenario in ("assigned", "overdue1"):
            return cid
        if scenario == "escalated":
            self.event(
                cid,
                "escalate",
                min(self.at(today, 9), step(3)),
                sup,
                level=2,
                note="多次反映，升级催办",
            )
            return cid
        t = step(rng.randint(1, 4))
        self.event(cid, "progress", t, worker, note="已联系责任单位现场查看")
        if scenario in ("in_progress", "overdue2", "overdue3"):
            if scenario == "overdue3":
                self.event(cid, "escalate", self.at(due + timedelta(days=9)), sup, level=2)
            return cid
        t = step(rng.randint(1, 5))
        self.event(cid, "resolve", t, worker, note="已维修完毕")
        if scenario == "resolved":
            return cid
        if scenario == "unreachable":
            for _ in range(3):
                t = step(rng.randint(1, 3))
                self.event(cid, "follow_up", t, worker, reached=False, note="家中无人")
            self.event(
                cid,
                "close",
                step(),
                sup,
                attempts_required=3,
                reason="三次回访均未联系上，住户长期外出",
            )
            return cid
        t = step(rng.randint(1, 3))
        self.event(cid, "follow_up", t, worker, reached=True)
        if scenario in ("reopened", "reopened_open"):
            self.event(cid, "rate", t, worker, rating="dissatisfied", note="问题没有彻底解决")
            t = step(rng.randint(1, 4))
            self.event(cid, "progress", t, worker, note="责任单位再次处理")
            if scenario == "reopened_open":
                return cid
            t = step(rng.randint(1, 4))
            self.event(cid, "resolve", t, worker, note="返工完成")
            t = step(1)
            self.event(cid, "follow_up", t, worker, reached=True)
        rating = "basic" if scenario == "closed_basic" else "satisfied"
        self.event(cid, "rate", t, worker, rating=rating)
        self.event(cid, "close", t + timedelta(hours=2), sup)
        return cid

    def number_of(self, case_id: str | None) -> str | None:
        for row in self.rows.cases:
            if row[0] == case_id:
                return row[1]
        return None


CASE_INSERT = (
    "INSERT INTO cases(id, number, category, category_group, summary, grid_id,"
    " visit_id, raised_by, registered_at, hlc, worker_id, device_id)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)
LINK_INSERT = (
    "INSERT INTO case_households(id, case_id, household_id, hlc, worker_id, device_id)"
    " VALUES (?,?,?,?,?,?)"
)
EVENT_INSERT = (
    "INSERT INTO case_events(id, case_id, type, at, data, hlc, worker_id, device_id)"
    " VALUES (?,?,?,?,?,?,?,?)"
)


def write_rows(conn: sqlite3.Connection, rows: CaseRows, seq: dict[int, int], tag: str) -> None:
    """Write generated cases and their folded states in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(CASE_INSERT, rows.cases)
        conn.executemany(LINK_INSERT, rows.links)
        conn.executemany(EVENT_INSERT, rows.events)
        conn.executemany(
            _STATE_UPDATE,
            [state_row(cid, rows.case_info[cid], fold(evs)) for cid, evs in rows.by_case.items()],
        )
        for year, n in seq.items():
            prev = conn.execute(
                "SELECT value FROM meta WHERE key = ?", (f"case_seq:{year}",)
            ).fetchone()
            set_meta(conn, f"case_seq:{year}", str(max(n, int(prev[0]) if prev else 0)))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def generate(
    conn: sqlite3.Connection, rng: random.Random, today: date, device_id: str, n_cases: int
) -> CaseGenerator:
    """Generate ``n_cases`` cases over a random sample of the district's households."""
    workers: dict[str, str] = {}
    supervisor = None
    for wid, role, grids in conn.execute("SELECT id, role, grids FROM workers WHERE disabled = 0"):
        if role == "worker":
            for g in json.loads(grids):
                workers.setdefault(g, wid)
        elif supervisor is None:
            supervisor = wid
    gen = CaseGenerator(rng, today, device_id, workers, supervisor)
    max_rid = conn.execute("SELECT COALESCE(max(rid), 0) FROM households").fetchone()[0]
    if not max_rid or n_cases <= 0:
        return gen
    rids = sorted(rng.sample(range(1, max_rid + 1), min(max_rid, n_cases)))
    sample = []
    for i in range(0, len(rids), 900):
        chunk = rids[i : i + 900]
        sample += conn.execute(
            "SELECT h.id, h.grid_id, g.code, h.compound_id, h.building FROM households h"
            f" JOIN grids g ON g.id = h.grid_id WHERE h.rid IN ({','.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
    names = [s for s, _ in SCENARIOS]
    weights = [w for _, w in SCENARIOS]
    made: list[tuple[str, tuple]] = []
    for i in range(n_cases):
        h = sample[i % len(sample)]
        # the first cases walk through every scenario once, so each state always shows up
        scenario = names[i] if i < len(names) else rng.choices(names, weights)[0]
        target = None
        if scenario == "repeat":
            same = [cid for cid, hh in made if hh[3] == h[3]] or [cid for cid, _ in made]
            if not same:
                scenario = "registered"
            else:
                target = rng.choice(same)
        cid = gen.case([(h[0], h[1], h[2])], h[2], scenario, target)
        made.append((cid, h))
    # A roof leak reported for a whole building (one case, many households).
    h = sample[0]
    building = conn.execute(
        "SELECT h.id, h.grid_id, g.code FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE h.compound_id = ? AND h.building = ? LIMIT 500",
        (h[3], h[4]),
    ).fetchall()
    gen.case([tuple(r) for r in building], h[2], "in_progress", category="roof_leak")
    return gen


def case_count(households: int) -> int:
    """How many demo cases for a district of ``households`` (bounded: the demo stays fast)."""
    return max(len(SCENARIOS), min(households // 4, 1500))


def extend_demo(ctx: WriteContext, rng: random.Random, today: date) -> None:
    conn = ctx.conn
    households = conn.execute("SELECT count(*) FROM households").fetchone()[0]
    if not households:
        return
    gen = generate(conn, rng, today, ctx.device_id, case_count(households))
    write_rows(conn, gen.rows, gen.seq, gen.tag)

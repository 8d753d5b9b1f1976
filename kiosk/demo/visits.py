"""Demo data for visits: 60 days of visits, community feedback and questionnaire responses.

A bounded, realistic share: at most :data:`MAX_GRIDS` grids are walked (a laptop holds a few
grids; a 1M-household benchmark database must not take an hour to seed), and in each about
40% of households were visited in the last 60 days, some twice, about one visit in ten found
nobody home (a few of those revisits are due today). Rows are written in bulk with
``executemany``; like the seeded roster they stand for history the hub already holds, so they
are not queued in the outbox. Problems raised are kept as visit items (the case ledger's own
demo makes its cases).
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path

from db.connection import transaction
from db.hlc import format_stamp

DAYS = 60
MAX_GRIDS = 40
SHARE_VISITED = 0.4
FEEDBACK_ITEMS = 120
SURVEY_RESPONSES = 300

PROBLEMS = [
    ("parking", "小区内停车位不够，晚上车停到消防通道"),
    ("ebike_charging", "楼道里有人给电动车充电，担心起火"),
    ("street_lights", "楼前路灯坏了一个多月，晚上看不见路"),
    ("road_repair", "小区门口路面坑洼，下雨积水"),
    ("vehicle_order", "门口车辆乱停，救护车进不来"),
    ("sanitation", "垃圾箱满了没人清，气味很大"),
    ("roof_leak", "顶楼漏雨，墙皮脱落"),
    ("sewer", "下水道堵了，一楼返水"),
    ("noise", "楼下商铺晚上噪音扰民"),
    ("heating", "暖气不热，室温不到十八度"),
    ("elevator", "电梯经常停运"),
    ("garbage_dump", "后院成了垃圾死点，长期没人清理"),
]
SUGGESTIONS = [
    "希望增设老年活动室",
    "建议在小区门口装个监控",
    "希望多组织义诊活动",
    "建议增加垃圾分类宣传",
    "希望楼道里装扶手",
    "建议开设老年食堂",
]
NOTES = [
    "老人身体状况良好",
    "住户反映近期一切正常",
    "子女不在身边，需多关注",
    "已告知社区服务电话",
    "宣传了防诈骗知识",
    "了解了家庭收入情况",
    "",
]
PLACES = ["菜市场门口", "社区广场", "小区南门", "议事会会议室", "街道便民服务站"]
SOURCES = ["stall", "council", "phone", "other"]
HOURS = (9, 10, 11, 14, 15, 16, 17, 19)


def _tz():
    return datetime.now().astimezone().tzinfo


def _new_id(rng: random.Random, ms: int) -> str:
    rand = rng.getrandbits(74)
    value = (
        (ms & ((1 << 48) - 1)) << 80
        | 0x7 << 76
        | ((rand >> 62) & 0xFFF) << 64
        | 0b10 << 62
        | (rand & ((1 << 62) - 1))
    )
    return str(uuid.UUID(int=value))


def extend_demo(ctx, rng: random.Random, today: date) -> None:
    conn = ctx.conn
    tz = _tz()
    dev = ctx.device_id
    grids = conn.execute(
        "SELECT id, code FROM grids ORDER BY code LIMIT ?", (MAX_GRIDS,)
    ).fetchall()
    workers: dict[str, str] = {}
    for wid, codes in conn.execute("SELECT id, grids FROM workers WHERE role = 'worker'"):
        for code in json.loads(codes):
            workers.setdefault(code, wid)
    visits: list[tuple] = []
    items: list[tuple] = []
    seq = [0]

    now = datetime.now(tz)

    def when(day: date) -> tuple[str, int]:
        at = datetime.combine(
            day, time(rng.choice(HOURS), rng.randrange(60), rng.randrange(60)), tzinfo=tz
        )
        if at > now:  # today's work happened earlier today, never later than the demo is made
            at = now - timedelta(minutes=1 + rng.randrange(120))
        return at.isoformat(timespec="seconds"), int(at.timestamp() * 1000)

    def stamp(ms: int) -> str:
        seq[0] += 1
        return format_stamp(ms, seq[0] % 100000)

    for grid_id, code in grids:
        worker = workers.get(code)
        households = conn.execute(
            "SELECT h.id, (SELECT id FROM members m WHERE m.household_id = h.id ORDER BY position"
            " LIMIT 1), (SELECT name FROM members m WHERE m.household_id = h.id ORDER BY position"
            " LIMIT 1) FROM households h WHERE h.grid_id = ?",
            (grid_id,),
        ).fetchall()
        for hid, member_id, member_name in households:
            if rng.random() >= SHARE_VISITED:
                continue
            n = 1 if rng.random() < 0.75 else 2
            days = sorted(rng.sample(range(DAYS), n), reverse=True)
            for ago in days:
                day = today - timedelta(days=ago)
                visited_at, ms = when(day)
                nobody = rng.random() < 0.1
                revisit = None
                if nobody:
                    revisit = (day + timedelta(days=rng.randint(1, 7))).isoformat()
                vtype = rng.choices(
                    ["door", "patrol", "meeting", "phone"], weights=[70, 12, 6, 12]
                )[0]
                met = (
                    []
                    if nobody or not member_id
                    else [{"member_id": member_id, "name": member_name}]
                )
                vid = _new_id(rng, ms)
                visits.append(
                    (
                        vid,
                        hid,
                        grid_id,
                        vtype,
                        visited_at,
                        day.isoformat(),
                        1 if nobody else 0,
                        revisit,
                        json.dumps(met, ensure_ascii=False),
                        "" if nobody else rng.choice(NOTES),
                        stamp(ms),
                        worker,
                        dev,
                    )
                )
                if nobody:
                    continue
                position = 0
                if rng.random() < 0.18:
                    code_, text = rng.choice(PROBLEMS)
                    items.append(
                        (
                            _new_id(rng, ms),
                            vid,
                            "problem",
                            code_,
                            text,
                            position,
                            None,
                            stamp(ms),
                            worker,
                            dev,
                        )
                    )
                    position += 1
                if rng.random() < 0.08:
                    items.append(
                        (
                            _new_id(rng, ms),
                            vid,
                            "suggestion",
                            "",
                            rng.choice(SUGGESTIONS),
                            position,
                            None,
                            stamp(ms),
                            worker,
                            dev,
                        )
                    )
    with transaction(conn):
        conn.executemany(
            "INSERT INTO visits(id, household_id, grid_id, visit_type, visited_at, visit_date,"
            " nobody_home, revisit_on, met, note, hlc, worker_id, device_id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            sorted(visits, key=lambda v: v[4]),
        )
        conn.executemany(
            "INSERT INTO visit_items(id, visit_id, kind, category, text, position, case_id, hlc,"
            " worker_id, device_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            items,
        )
        feedback = []
        grid_ids = [g[0] for g in grids] or [None]
        for _ in range(FEEDBACK_ITEMS if grids else 0):
            day = today - timedelta(days=rng.randrange(DAYS))
            created, ms = when(day)
            code_, text = rng.choice(PROBLEMS)
            anonymous = rng.random() < 0.6
            feedback.append(
                (
                    _new_id(rng, ms),
                    rng.choice(grid_ids),
                    rng.choice(SOURCES),
                    code_,
                    text,
                    1 if anonymous else 0,
                    "" if anonymous else "居民代表",
                    rng.choice(PLACES),
                    created,
                    stamp(ms),
                    None,
                    dev,
                )
            )
        conn.executemany(
            "INSERT INTO feedback(id, grid_id, source, category, text, anonymous, raised_by, place,"
            " created_at, hlc, worker_id, device_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            feedback,
        )
        _demo_survey(ctx, rng, today, grids, when, stamp)


def _demo_survey(ctx, rng: random.Random, today: date, grids, when, stamp) -> None:
    from kiosk.domain.survey import check_answers, import_survey, load_xlsform

    examples = Path(__file__).parents[1] / "examples"
    # the household form (groups, members as a repeat, two languages): to walk through
    import_survey(ctx, load_xlsform(examples / "household_survey.xlsx"))
    definition = load_xlsform(examples / "satisfaction_survey.xlsx")
    sid, _ = import_survey(ctx, definition)
    if not grids:
        return
    conn = ctx.conn
    sample = conn.execute(
        "SELECT id FROM households WHERE grid_id = ? LIMIT ?", (grids[0][0], SURVEY_RESPONSES)
    ).fetchall()
    rows = []
    for i in range(min(SURVEY_RESPONSES, len(sample) or SURVEY_RESPONSES)):
        day = today - timedelta(days=rng.randrange(DAYS))
        submitted, ms = when(day)
        overall = rng.choices(["satisfied", "basic", "dissatisfied"], weights=[80, 17, 3])[0]
        size = rng.randint(1, 5)
        raw = {
            "overall": overall,
            "household_size": str(size),
            "elderly": str(rng.randint(0, size)),
            "concerns": rng.sample(
                ["parking", "ebike_charging", "street_lights", "sanitation", "noise", "heating"],
                rng.randint(0, 3),
            ),
            "why_not": "暖气不热" if overall == "dissatisfied" else "",
            "last_contact": (day - timedelta(days=rng.randint(0, 30))).isoformat(),
        }
        answers = check_answers(definition, raw, today=day)
        household = sample[i][0] if sample and rng.random() < 0.7 else None
        started = (datetime.fromisoformat(submitted) - timedelta(minutes=2)).isoformat()
        rows.append(
            (
                _new_id(rng, ms),
                sid,
                household,
                json.dumps(answers, ensure_ascii=False),
                started,
                submitted,
                stamp(ms),
                None,
                ctx.device_id,
            )
        )
    conn.executemany(
        "INSERT INTO survey_responses(id, survey_id, household_id, answers, started_at,"
        " submitted_at, hlc, worker_id, device_id) VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )

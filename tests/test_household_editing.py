"""Editing households at the door (kiosk/households/editing.py): only what changed is checked,
a corrected number loses its 待核实 mark, nobody is deleted (moving out and dying are a status
with a date), lists and figures count who lives here, and a household found on the walk is
registered once. The same through the real command, and its refusals."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from db.connection import transaction
from db.households import get_household
from db.walklist import walk_list
from kiosk.cases.stats import basic_counts
from kiosk.households.editing import (
    EditInvalid,
    NewHousehold,
    edit_household,
    edit_member,
    member_leaves,
    member_returns,
    new_member,
    parse_day,
    register_household,
)
from kiosk.households.roster.fields import id_check_char
from tests.conftest import GRID_WORKER, SUPERVISOR, acting_as

TODAY = dt.date(2026, 12, 3)


def valid_id(body: str = "11010119500312771") -> str:
    return body + id_check_char(body)


def wrong_id(body: str = "11010119500312771") -> str:
    right = id_check_char(body)
    return body + ("0" if right != "0" else "1")


def _household(conn, grid: str = "G001") -> str:
    return conn.execute(
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id"
        " WHERE g.code = ? AND h.member_count >= 2 ORDER BY h.rid LIMIT 1",
        (grid,),
    ).fetchone()[0]


def _write(runtime, fn):
    with transaction(runtime.conn):
        return fn(runtime.ctx)


def _flag(runtime, member_id: str, phone: str, id_number: str, to_verify: str) -> None:
    """A member as a hand-typed roster leaves them: numbers kept as typed, marked."""
    from db.households import update_member

    _write(
        runtime,
        lambda ctx: update_member(
            ctx, member_id, phone=phone, id_number=id_number, to_verify=to_verify
        ),
    )


# --- the service ----------------------------------------------------------------------------
def test_a_corrected_number_loses_its_mark_and_an_untouched_one_keeps_it(runtime):
    hid = _household(runtime.conn)
    m = get_household(runtime.conn, hid).members[0]
    with acting_as(runtime, GRID_WORKER):
        _flag(runtime, m.id, "1381234", wrong_id(), "id_number phone")
        # the relation changes; the doubtful numbers are not checked again, nor refused
        changes = _write(
            runtime, lambda ctx: edit_member(ctx, m.id, {"relation": "户主"}, today=TODAY)
        )
        assert "phone" not in changes and "to_verify" not in changes
        # the worker types the right phone: it checks out, its mark goes, the ID's stays
        changes = _write(
            runtime, lambda ctx: edit_member(ctx, m.id, {"phone": "138 0013 8000"}, today=TODAY)
        )
    assert changes == {"phone": "13800138000", "to_verify": "id_number"}
    member = get_household(runtime.conn, hid).members[0]
    assert member.phone == "13800138000" and member.to_verify == "id_number"
    op = runtime.conn.execute(
        "SELECT payload FROM outbox WHERE entity = 'member' AND entity_id = ? ORDER BY seq DESC",
        (m.id,),
    ).fetchone()
    assert json.loads(op[0]) == {"phone": "13800138000", "to_verify": "id_number"}


def test_a_wrong_number_typed_at_the_door_is_refused_naming_its_field(runtime):
    hid = _household(runtime.conn)
    m = get_household(runtime.conn, hid).members[0]
    before = runtime.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    with acting_as(runtime, GRID_WORKER):
        for form, field, key in (
            ({"id_number": wrong_id()}, "id_number", "roster.reason.bad_id_check"),
            ({"phone": "12345"}, "phone", "roster.reason.bad_phone"),
            ({"birth_year": "19x0"}, "birth_year", "roster.reason.bad_birth"),
            ({"name": ""}, "name", "roster.reason.missing_name"),
            ({"gender": "未知"}, "gender", "roster.reason.bad_gender"),
            ({"tags": "独居、爱唱歌"}, "tags", "household.edit.unknown_tag"),
        ):
            with pytest.raises(EditInvalid) as err:
                _write(runtime, lambda ctx, f=form: edit_member(ctx, m.id, f, today=TODAY))
            assert (err.value.field, err.value.key) == (field, key)
    assert runtime.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == before


def test_an_id_number_fills_birth_year_and_gender_and_must_agree_with_them(runtime):
    hid = _household(runtime.conn)
    with acting_as(runtime, GRID_WORKER):
        mid = _write(
            runtime,
            lambda ctx: new_member(
                ctx, hid, {"name": "王小明", "id_number": valid_id()}, today=TODAY
            ),
        )
        m = next(x for x in get_household(runtime.conn, hid).members if x.id == mid)
        assert (m.birth_year, m.gender, m.to_verify) == (1950, "男", "")
        with pytest.raises(EditInvalid) as err:
            _write(runtime, lambda ctx: edit_member(ctx, mid, {"birth_year": "1960"}, today=TODAY))
        assert err.value.key == "roster.reason.id_birth_mismatch"
        with pytest.raises(EditInvalid):
            _write(
                runtime,
                lambda ctx: new_member(
                    ctx, hid, {"name": "李", "id_number": valid_id(), "gender": "女"}, today=TODAY
                ),
            )


def test_moving_out_and_dying_keep_the_member_and_stop_counting_them(runtime):
    conn = runtime.conn
    hid = _household(conn)
    h = get_household(conn, hid)
    head = next(m for m in h.members if m.relation == "户主")
    counted = basic_counts(conn)
    with acting_as(runtime, GRID_WORKER):
        _write(
            runtime, lambda ctx: member_leaves(ctx, head.id, "deceased", "2026-11-30", today=TODAY)
        )
    after = get_household(conn, hid)
    assert len(after.members) == len(h.members)  # nobody deleted
    assert after.member_count == h.member_count - 1
    assert after.head_name != head.name  # the household's head is now somebody living there
    gone = next(m for m in after.members if m.id == head.id)
    assert (gone.status, gone.left_on) == ("deceased", "2026-11-30")
    assert after.members[-1].id == head.id  # who has left is listed last
    assert basic_counts(conn)["members"] == counted["members"] - 1
    with acting_as(runtime, GRID_WORKER):
        _write(runtime, lambda ctx: member_returns(ctx, head.id))  # a mistake put right
    assert get_household(conn, hid).member_count == h.member_count
    assert get_household(conn, hid).head_name == head.name


def test_an_empty_flat_leaves_the_walk_list_and_the_figures_and_comes_back(runtime):
    conn = runtime.conn
    hid = _household(conn)
    grid = conn.execute("SELECT grid_id FROM households WHERE id = ?", (hid,)).fetchone()[0]

    def walked() -> set[str]:
        return {e.household_id for e in walk_list(conn, [grid], today=TODAY, limit=10_000)}

    counted = basic_counts(conn)
    assert hid in walked()
    with acting_as(runtime, GRID_WORKER):
        changes = _write(
            runtime,
            lambda ctx: edit_household(
                ctx, hid, {"status": "vacant", "status_on": ""}, today=TODAY
            ),
        )
    assert changes == {"status": "vacant", "status_on": TODAY.isoformat()}
    assert hid not in walked()
    assert basic_counts(conn)["households"] == counted["households"] - 1
    with acting_as(runtime, GRID_WORKER):
        _write(runtime, lambda ctx: edit_household(ctx, hid, {"status": ""}, today=TODAY))
    assert hid in walked()
    assert basic_counts(conn)["households"] == counted["households"]
    assert get_household(conn, hid).status_on == ""


def test_a_household_found_on_the_walk_is_registered_once(runtime):
    from db.areas import grid_by_code
    from db.search import search_households

    conn = runtime.conn
    grid = grid_by_code(conn, "G001")
    new = NewHousehold(
        compound="春华新苑", building="9栋", unit="2单元", room="301室",
        head={"name": "赵 六", "phone": "13912345678"}, tags="独居",
    )  # fmt: skip
    with acting_as(runtime, GRID_WORKER):
        hid = _write(runtime, lambda ctx: register_household(ctx, grid, new, today=TODAY))
        h = get_household(conn, hid)
        assert (h.compound, h.building, h.unit, h.room, h.head_name, h.tags) == (
            "春华新苑", "9", "2", "301", "赵六", ("alone",),
        )  # fmt: skip
        assert h.members[0].relation == "户主"
        # found by search the same way as a roster's household
        assert hid in {hit.household.id for hit in search_households(conn, "春华新苑9-2-301")}
        assert hid in {hit.household.id for hit in search_households(conn, "zl")}
        again = NewHousehold("春华新苑", "9", "2", "301", {"name": "钱七"})
        with pytest.raises(EditInvalid) as err:
            _write(runtime, lambda ctx: register_household(ctx, grid, again, today=TODAY))
        assert (err.value.field, err.value.key) == ("room", "household.edit.duplicate")
        assert hid in err.value.message()
        _write(runtime, lambda ctx: edit_household(ctx, hid, {"status": "moved_out"}, today=TODAY))
        with pytest.raises(EditInvalid) as err:
            _write(runtime, lambda ctx: register_household(ctx, grid, again, today=TODAY))
        assert err.value.key == "household.edit.duplicate_left"
        for bad, field in (
            (NewHousehold("", "9", "2", "302", {"name": "钱七"}), "compound"),
            (NewHousehold("春华新苑", "9", "", "302", {"name": "钱七"}), "unit"),
            (NewHousehold("春华新苑", "9", "2", "3#0?2", {"name": "钱七"}), "room"),
            (NewHousehold("春华新苑", "9", "2", "302", {"name": ""}), "name"),
        ):
            with pytest.raises(EditInvalid) as err:
                _write(runtime, lambda ctx, b=bad: register_household(ctx, grid, b, today=TODAY))
            assert err.value.field == field, bad


def test_the_write_guard_keeps_edits_inside_the_workers_grids(runtime):
    """The service writes through the guarded context: another grid's member is refused."""
    from db.errors import UserError

    other = _household(runtime.conn, "G002")
    m = get_household(runtime.conn, other).members[0]
    with acting_as(runtime, GRID_WORKER), pytest.raises(UserError) as err:
        _write(runtime, lambda ctx: edit_member(ctx, m.id, {"phone": "13800138000"}, today=TODAY))
    assert err.value.key == "error.role_out_of_scope"
    assert get_household(runtime.conn, other).members[0].phone == m.phone


@pytest.mark.parametrize(
    ("typed", "day"),
    [("", "2026-12-03"), ("2026/11/2", "2026-11-02"), ("20261102", "2026-11-02"),
     ("2026年11月2日", "2026-11-02"), ("今天", "2026-12-03")],
)  # fmt: skip
def test_days_are_read_as_typed(typed, day):
    assert parse_day(typed, TODAY) == day


@pytest.mark.parametrize("typed", ["2026-12-04", "1899-01-01", "2026-02-30", "明天", "12/03"])
def test_days_that_cannot_be_are_refused(typed):
    with pytest.raises(EditInvalid):
        parse_day(typed, TODAY)


# --- the command ----------------------------------------------------------------------------
def _rows(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_the_commands_edit_a_household_as_the_screen_does(kiosk, demo_db):
    db = str(demo_db)
    hid = _rows(
        db,
        "SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code = 'G001'"
        " AND h.member_count >= 2 ORDER BY h.rid LIMIT 1",
    )[0][0]
    mid = _rows(db, "SELECT id FROM members WHERE household_id = ? ORDER BY position", hid)[0][0]
    out = kiosk("members", "edit", mid, "--phone", "139-1234-5678", "--json", "--db", db,
                as_worker=GRID_WORKER)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["changed"] == ["phone"]
    out = kiosk("members", "add", hid, "--name", "王小明", "--relation", "儿子", "--birth-year",
                "2026", "--json", "--db", db, as_worker=GRID_WORKER)  # fmt: skip
    assert out.returncode == 0, out.stderr
    new_id = json.loads(out.stdout)["id"]
    assert _rows(db, "SELECT relation, birth_year FROM members WHERE id = ?", new_id) == [
        ("子", 2026)
    ]
    out = kiosk("members", "leave", mid, "--why", "moved_out", "--on", "2026-11-02", "--db", db,
                as_worker=GRID_WORKER)  # fmt: skip
    assert out.returncode == 0, out.stderr
    shown = kiosk("households", "show", hid, "--db", db, as_worker=GRID_WORKER)
    assert "已迁出" in shown.stdout
    out = kiosk("households", "edit", hid, "--status", "vacant", "--tags", "独居,残疾", "--json",
                "--db", db, as_worker=GRID_WORKER)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["changed"] == ["status", "status_on", "tags"]
    out = kiosk("households", "add", "--compound", "春华新苑", "--building", "9", "--unit", "1",
                "--room", "101", "--head", "孙秀兰", "--phone", "13812345678", "--json",
                "--db", db, as_worker=GRID_WORKER)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["grid"] == "G001"  # the worker's one grid


def test_the_commands_refuse_saying_what_is_wrong(kiosk, demo_db):
    db = str(demo_db)
    mid = _rows(
        db,
        "SELECT m.id FROM members m JOIN households h ON h.id = m.household_id"
        " JOIN grids g ON g.id = h.grid_id WHERE g.code = 'G001' LIMIT 1",
    )[0][0]
    before = _rows(db, "SELECT count(*) FROM outbox")
    for args, words in (
        (("members", "edit", mid, "--id-number", wrong_id()), "校验位"),
        (("members", "leave", mid, "--why", "moved_out", "--on", "2099-01-01"), "不能晚于今天"),
        (("members", "edit", "no-such-member", "--phone", "13800138000"), "找不到成员"),
        (("households", "add", "--compound", "春华新苑", "--building", "9", "--unit", "1",
          "--room", "", "--head", "孙秀兰"), "楼栋、单元、房号都要填写"),
    ):  # fmt: skip
        out = kiosk(*args, "--db", db, as_worker=GRID_WORKER)
        assert out.returncode == 2, (args, out.stderr)
        assert words in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert _rows(db, "SELECT count(*) FROM outbox") == before


def test_the_commands_act_only_as_someone_who_proves_it_and_only_in_their_reach(kiosk, demo_db):
    """Hostile: no PIN, a wrong PIN, another grid, a supervisor of another community."""
    db = str(demo_db)
    other = _rows(
        db,
        "SELECT m.id, h.id FROM members m JOIN households h ON h.id = m.household_id"
        " JOIN grids g ON g.id = h.grid_id WHERE g.code = 'G002' LIMIT 1",
    )[0]
    before = _rows(db, "SELECT count(*) FROM outbox")
    out = kiosk("members", "edit", other[0], "--phone", "13800138000", "--db", db,
                as_worker=GRID_WORKER)  # fmt: skip
    assert out.returncode == 3 and "G002" in out.stderr, out.stderr
    out = kiosk("households", "add", "--grid", "G002", "--compound", "春华新苑", "--building", "9",
                "--unit", "1", "--room", "101", "--head", "孙秀兰", "--db", db,
                as_worker=GRID_WORKER)  # fmt: skip
    assert out.returncode == 3, out.stderr
    out = kiosk("households", "edit", other[1], "--status", "vacant", "--db", db,
                as_worker=GRID_WORKER, pin="000000")  # fmt: skip
    assert out.returncode != 0
    out = kiosk("members", "leave", other[0], "--why", "deceased", "--db", db, "--as", GRID_WORKER)
    assert out.returncode != 0  # no PIN typed
    assert _rows(db, "SELECT count(*) FROM outbox") == before
    # the supervisor reaches their community's grids
    out = kiosk("members", "edit", other[0], "--relation", "户主", "--db", db,
                as_worker=SUPERVISOR)  # fmt: skip
    assert out.returncode == 0, out.stderr

"""Erasing a household's personal data on request (``kiosk households forget``).

What goes and what stays (docs/security.md, "Privacy"):

* **Erased**: every member's name, relation, gender, phone, ID number, birth year and care
  tags; the household's unit, room, care tags and note; its search keys; the names of the
  people met at its visits and the visits' notes; the "raised by" of the cases it is part of;
  the household's drafts on this laptop; the photos of the cases it is part of (the pictures
  deleted, each photo's record kept without the picture's name); the values of open sync
  conflicts about it; and the same fields in every stored sync payload (this laptop's outbox and operation log, the hub's
  log). Free text that is kept (problems raised, case summaries, case event notes, survey
  answers) has every occurrence of the erased names, phones and ID numbers replaced by
  :data:`REDACTED`.
* **Kept**: the household row itself (id, grid, compound, building) and one row per member
  (id, position): the figures count households and members, visits and cases by grid and
  week, so the rows stay and only what identifies a person goes. Cases, their events, visits
  and their problems, survey responses and feedback are kept with their ids, categories,
  dates and outcomes: the case history is the public record of what was asked and done.

Everything here runs inside the caller's transaction. :func:`forget_household` is the
request itself (stamped, replicated, audited); :func:`erase` is what every replica does when
the request reaches it (the forgetting laptop runs it too). Values read here are never logged
or stored anywhere else.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from db.context import WriteContext, get_meta, now_iso, set_meta

#: What replaces an erased name, phone or ID number inside text that is kept.
REDACTED = "***"
#: Member fields erased, and the value each takes.
MEMBER_BLANK: dict[str, Any] = {
    "name": "",
    "relation": "",
    "gender": "",
    "phone": "",
    "id_number": "",
    "birth_year": None,
    "tags": "",
}
#: Household fields erased (grid, compound and building stay: the figures and the walk of a
#: building need them, and they identify nobody).
HOUSEHOLD_BLANK: dict[str, Any] = {"unit": "", "room": "", "tags": "", "note": ""}
#: Meta key: the ids of forgotten households and of their members and visits, so operations
#: that arrive later for them are scrubbed before they are applied (see :func:`scrub_op`).
META_FORGOTTEN = "privacy.forgotten"
#: Values shorter than this are not redacted from free text (a one-character name would
#: erase that character everywhere).
MIN_VALUE = 2


class AlreadyForgotten(Exception):
    """The household's personal data was erased already."""


def forgotten_address_key(household_id: str) -> str:
    """The ``address_key`` of a forgotten household: unique (two forgotten households of one
    building must not collide) and matching no address search (``~`` sorts after digits)."""
    return "~" + household_id


# --- pure scrubbing of values and payloads ---------------------------------------------------


def redact(text: str, values: Sequence[str]) -> str:
    """``text`` with every occurrence of ``values`` (longest first) replaced by REDACTED."""
    for v in values:
        if v and v in text:
            text = text.replace(v, REDACTED)
    return text


def _redact_json(value: Any, values: Sequence[str]) -> Any:
    if isinstance(value, str):
        return redact(value, values)
    if isinstance(value, list):
        return [_redact_json(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _redact_json(v, values) for k, v in value.items()}
    return value


def _redact_json_text(text: Any, values: Sequence[str], **dump: Any) -> Any:
    """A JSON document stored as text (case event data, survey answers), redacted."""
    if not isinstance(text, str):
        return _redact_json(text, values)
    if not values or not any(v in text for v in values):
        return text
    try:
        doc = json.loads(text)
    except ValueError:
        return redact(text, values)
    return json.dumps(_redact_json(doc, values), ensure_ascii=False, **dump)


def _blank_met(met: Any) -> Any:
    """Visits' ``met`` list with the names blanked (member ids kept: they name nobody)."""
    as_text = isinstance(met, str)
    try:
        people = json.loads(met) if as_text else met
    except ValueError:
        return "[]"
    if not isinstance(people, list):
        return met
    out = [{"member_id": p.get("member_id"), "name": ""} for p in people if isinstance(p, dict)]
    return json.dumps(out, ensure_ascii=False) if as_text else out


def scrub_payload(
    entity: str,
    payload: dict[str, Any],
    values: Sequence[str] = (),
    *,
    forgotten_at: str | None = None,
) -> dict[str, Any]:
    """A copy of an operation's payload with the household's personal data erased.

    ``entity`` names the record kind (db.replication); ``values`` are the erased names,
    phones and ID numbers to redact from kept free text (longest first). A household
    *insert* given ``forgotten_at`` records it too, so a replica that first sees the
    household after the erasure creates it already forgotten.
    """
    p = dict(payload)
    if entity == "household":
        p.update({k: v for k, v in HOUSEHOLD_BLANK.items() if k in p})
        if forgotten_at and "grid_id" in p:  # an insert
            p["forgotten_at"] = p.get("forgotten_at") or forgotten_at
    elif entity == "member":
        p.update({k: v for k, v in MEMBER_BLANK.items() if k in p})
    elif entity == "visit":
        if "met" in p:
            p["met"] = _blank_met(p["met"])
        if "note" in p:
            p["note"] = ""
    elif entity == "visit_item":
        if isinstance(p.get("text"), str):
            p["text"] = redact(p["text"], values)
    elif entity == "case":
        if "raised_by" in p:
            p["raised_by"] = None
        if isinstance(p.get("summary"), str):
            p["summary"] = redact(p["summary"], values)
    elif entity == "case_event":
        if "data" in p:
            p["data"] = _redact_json_text(p["data"], values, sort_keys=True)
    elif entity == "photo":
        if "sha256" in p:  # the picture is erased; its name would still prove who had it
            p["sha256"] = ""
    elif entity == "survey_response":
        if "answers" in p:
            p["answers"] = _redact_json_text(p["answers"], values, separators=(",", ":"))
    return p


def personal_values(names: Iterable[str | None], numbers: Iterable[str | None]) -> list[str]:
    """The texts to redact: names and numbers worth matching, longest first."""
    out = {v.strip() for v in (*names, *numbers) if v and len(v.strip()) >= MIN_VALUE}
    return sorted(out, key=lambda v: (-len(v), v))


# --- what a household's erasure touches ---------------------------------------------------


@dataclass
class Erasure:
    """The records a household's erasure touched, by entity (ids only) and, in memory only,
    the values redacted from kept text."""

    household_id: str
    members: list[str] = field(default_factory=list)
    visits: list[str] = field(default_factory=list)
    visit_items: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    case_events: list[str] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)
    survey_responses: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list, repr=False)
    drafts: int = 0
    conflicts: int = 0
    logged_ops: int = 0

    def ids(self) -> dict[str, list[str]]:
        return {
            "household": [self.household_id],
            "member": self.members,
            "visit": self.visits,
            "visit_item": self.visit_items,
            "case": self.cases,
            "case_event": self.case_events,
            "photo": self.photos,
            "survey_response": self.survey_responses,
        }

    def counts(self) -> dict[str, int]:
        """For the audit entry and the CLI: counts, never values."""
        return {
            "members": len(self.members),
            "visits": len(self.visits),
            "visit_items": len(self.visit_items),
            "cases": len(self.cases),
            "case_events": len(self.case_events),
            "photos": len(self.photos),
            "survey_responses": len(self.survey_responses),
            "drafts": self.drafts,
            "conflicts": self.conflicts,
            "logged_ops": self.logged_ops,
        }


def _column(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    return [r[0] for r in conn.execute(sql, params)]


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _in(conn: sqlite3.Connection, sql: str, ids: Sequence[str]) -> list[Any]:
    """``sql`` has one ``{marks}``: run it for each chunk of ``ids``."""
    out: list[Any] = []
    for chunk in _chunks(list(ids)):
        out += conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk).fetchall()
    return out


def _table_exists(conn: sqlite3.Connection, name: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        is not None
    )


def survey(conn: sqlite3.Connection, household_id: str) -> Erasure:
    """Which records belong to the household, and the values to redact (read before
    anything is blanked)."""
    er = Erasure(household_id)
    er.members = _column(
        conn, "SELECT id FROM members WHERE household_id = ? ORDER BY position", (household_id,)
    )
    people = conn.execute(
        "SELECT name, phone, id_number FROM members WHERE household_id = ?", (household_id,)
    ).fetchall()
    names = [r[0] for r in people]
    numbers = [n for r in people for n in (r[1], r[2])]
    er.visits = _column(conn, "SELECT id FROM visits WHERE household_id = ?", (household_id,))
    for (met,) in _in(conn, "SELECT met FROM visits WHERE id IN ({marks})", er.visits):
        try:
            names += [p.get("name") for p in json.loads(met) if isinstance(p, dict)]
        except ValueError:
            pass
    er.visit_items = [
        r[0] for r in _in(conn, "SELECT id FROM visit_items WHERE visit_id IN ({marks})", er.visits)
    ]
    er.cases = _column(
        conn, "SELECT DISTINCT case_id FROM case_households WHERE household_id = ?", (household_id,)
    )
    names += [
        r[0]
        for r in _in(
            conn,
            "SELECT raised_by FROM cases WHERE id IN ({marks}) AND raised_by IS NOT NULL",
            er.cases,
        )
    ]
    er.case_events = [
        r[0] for r in _in(conn, "SELECT id FROM case_events WHERE case_id IN ({marks})", er.cases)
    ]
    if _table_exists(conn, "photos"):
        er.photos = [
            r[0] for r in _in(conn, "SELECT id FROM photos WHERE case_id IN ({marks})", er.cases)
        ]
    er.survey_responses = _column(
        conn, "SELECT id FROM survey_responses WHERE household_id = ?", (household_id,)
    )
    er.values = personal_values(names, numbers)
    return er


def erase(
    conn: sqlite3.Connection,
    household_id: str,
    *,
    forgotten_at: str | None = None,
    er: Erasure | None = None,
) -> Erasure:
    """Erase the household's personal data from this replica's rows (no operations: the
    request's own operations carry the replicated fields). Idempotent. Stored operation
    payloads are scrubbed separately by :func:`scrub_logs`, once the operations of the page
    being merged are in the log.

    What it deletes or overwrites is zeroed on its pages (``secure_delete``) rather than left
    in free space, where a raw read of the file would still find a name or a picture.
    """
    (was,) = conn.execute("PRAGMA secure_delete").fetchone()
    conn.execute("PRAGMA secure_delete = ON")
    try:
        return _erase(conn, household_id, forgotten_at=forgotten_at, er=er)
    finally:
        conn.execute(f"PRAGMA secure_delete = {int(was)}")


def _erase(
    conn: sqlite3.Connection,
    household_id: str,
    *,
    forgotten_at: str | None,
    er: Erasure | None,
) -> Erasure:
    er = er or survey(conn, household_id)
    hid, values = household_id, er.values
    blank_h = ", ".join(f"{k} = :{k}" for k in HOUSEHOLD_BLANK)
    conn.execute(
        f"UPDATE households SET {blank_h}, head_name = '', address_key = :key,"
        " forgotten_at = COALESCE(forgotten_at, :at) WHERE id = :id",
        {
            **HOUSEHOLD_BLANK,
            "key": forgotten_address_key(hid),
            "at": forgotten_at or now_iso(),
            "id": hid,
        },
    )
    blank_m = ", ".join(f"{k} = :{k}" for k in MEMBER_BLANK)
    conn.execute(
        f"UPDATE members SET {blank_m} WHERE household_id = :id", {**MEMBER_BLANK, "id": hid}
    )
    rid = conn.execute("SELECT rid FROM households WHERE id = ?", (hid,)).fetchone()
    if rid is not None:
        conn.execute("DELETE FROM search_terms WHERE hh = ?", (rid[0],))
        conn.execute("DELETE FROM search_terms_staged WHERE hh = ?", (rid[0],))
    for vid, met in _in(conn, "SELECT id, met FROM visits WHERE id IN ({marks})", er.visits):
        conn.execute("UPDATE visits SET met = ?, note = '' WHERE id = ?", (_blank_met(met), vid))
    if values:
        for iid, text in _in(
            conn, "SELECT id, text FROM visit_items WHERE id IN ({marks})", er.visit_items
        ):
            new = redact(text, values)
            if new != text:
                conn.execute("UPDATE visit_items SET text = ? WHERE id = ?", (new, iid))
        for eid, data in _in(
            conn, "SELECT id, data FROM case_events WHERE id IN ({marks})", er.case_events
        ):
            new = _redact_json_text(data, values, sort_keys=True)
            if new != data:
                conn.execute("UPDATE case_events SET data = ? WHERE id = ?", (new, eid))
        for sid, answers in _in(
            conn,
            "SELECT id, answers FROM survey_responses WHERE id IN ({marks})",
            er.survey_responses,
        ):
            new = _redact_json_text(answers, values, separators=(",", ":"))
            if new != answers:
                conn.execute("UPDATE survey_responses SET answers = ? WHERE id = ?", (new, sid))
    for cid, summary in _in(conn, "SELECT id, summary FROM cases WHERE id IN ({marks})", er.cases):
        conn.execute(
            "UPDATE cases SET raised_by = NULL, summary = ? WHERE id = ?",
            (redact(summary, values), cid),
        )
    # The pictures of its cases go entirely; each photo's record stays, without its name.
    for (sha,) in _in(conn, "SELECT DISTINCT sha256 FROM photos WHERE id IN ({marks})", er.photos):
        conn.execute("DELETE FROM photo_blobs WHERE sha256 = ?", (sha,))
        conn.execute("DELETE FROM photo_blobs_pending WHERE sha256 = ?", (sha,))
    for chunk in _chunks(er.photos):
        conn.execute(
            f"UPDATE photos SET sha256 = '' WHERE id IN ({','.join('?' * len(chunk))})", chunk
        )
    # Drafts are local forms in progress (a visit to this household, a case naming it).
    er.drafts = conn.execute(
        "DELETE FROM drafts WHERE instr(key, :h) > 0 OR instr(payload, :h) > 0", {"h": hid}
    ).rowcount
    remember(conn, [hid, *er.members, *er.visits])
    return er


def _scrub_conflicts(conn: sqlite3.Connection, er: Erasure) -> int:
    """Both values of every conflict about the household or its members are erased, and the
    conflicts closed (there is nothing left to choose between)."""
    n = 0
    for entity, ids, blank in (
        ("household", [er.household_id], HOUSEHOLD_BLANK),
        ("member", er.members, MEMBER_BLANK),
    ):
        for cid, name, status in _in(
            conn,
            "SELECT id, field, status FROM sync_conflicts WHERE entity = '"
            + entity
            + "' AND entity_id IN ({marks})",
            ids,
        ):
            value = json.dumps(blank.get(name, ""), ensure_ascii=False)
            conn.execute(
                "UPDATE sync_conflicts SET local_value = ?, remote_value = ?, status = 'resolved',"
                " resolution = COALESCE(resolution, 'forgotten'),"
                " resolved_at = COALESCE(resolved_at, ?) WHERE id = ?",
                (value, value, now_iso(), cid),
            )
            n += status == "open"
    return n


def scrub_logs(conn: sqlite3.Connection, er: Erasure, *, forgotten_at: str | None = None) -> int:
    """Scrub the stored payloads of the household's records in this laptop's outbox (still to
    be pushed) and operation log (pushed or received), and the values of sync conflicts about
    it; returns how many operations changed."""
    if _table_exists(conn, "sync_conflicts"):
        er.conflicts += _scrub_conflicts(conn, er)
    changed = 0
    for table, key in (("outbox", "seq"), ("oplog", "op_id")):
        if not _table_exists(conn, table):
            continue
        for entity, ids in er.ids().items():
            if not ids:
                continue
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT {key}, payload FROM {table} WHERE entity = ?"
                    f" AND entity_id IN ({marks})",
                    [entity, *chunk],
                ).fetchall()
                for k, text in rows:
                    payload = json.loads(text)
                    clean = scrub_payload(entity, payload, er.values, forgotten_at=forgotten_at)
                    if clean != payload:
                        conn.execute(
                            f"UPDATE {table} SET payload = ? WHERE {key} = ?",
                            (json.dumps(clean, ensure_ascii=False, separators=(",", ":")), k),
                        )
                        changed += 1
    er.logged_ops += changed
    return changed


def empty_wal(conn: sqlite3.Connection) -> None:
    """After an erasure is committed: the pages as they were before it live on in the
    write-ahead log until a checkpoint; copy them back and empty the log now (best effort: a
    reader in another process may hold it, then SQLite does so at its next checkpoint)."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --- operations that arrive after the erasure -----------------------------------------------


def forgotten_ids(conn: sqlite3.Connection) -> set[str]:
    """Ids of forgotten households and their members and visits on this replica."""
    text = get_meta(conn, META_FORGOTTEN)
    return set(json.loads(text)) if text else set()


def remember(conn: sqlite3.Connection, ids: Iterable[str]) -> None:
    known = forgotten_ids(conn)
    new = known | set(ids)
    if new != known:
        set_meta(conn, META_FORGOTTEN, json.dumps(sorted(new)))


def touches(op: dict[str, Any], forgotten: set[str]) -> bool:
    """Does an operation concern a forgotten household, one of its members or visits?"""
    if op["entity_id"] in forgotten:
        return True
    payload = op["payload"]
    return payload.get("household_id") in forgotten or payload.get("visit_id") in forgotten


def scrub_op(op: dict[str, Any]) -> dict[str, Any]:
    """An operation that arrived after its household was forgotten (an edit made offline
    before the erasure reached that laptop), with the personal fields erased. Free text is
    kept as written: the erased values are no longer known here to redact."""
    return {**op, "payload": scrub_payload(op["entity"], op["payload"])}


# --- the request ------------------------------------------------------------------------------


def forget_household(ctx: WriteContext, household_id: str) -> Erasure:
    """Erase a household's personal data on this laptop and queue the operations that erase
    it everywhere else. Call inside a transaction; audits ``forget`` with counts.

    The household's update (``forgotten_at`` and its blanked fields) is emitted first, then
    each member's: a replica erases everything it holds when the household's update arrives,
    while it still knows the names to redact from kept text.
    """
    conn = ctx.conn
    row = conn.execute(
        "SELECT hlc, forgotten_at FROM households WHERE id = ?", (household_id,)
    ).fetchone()
    if row is None:
        raise KeyError(household_id)
    if row["forgotten_at"]:
        raise AlreadyForgotten(household_id)
    er = survey(conn, household_id)
    at, hlc = now_iso(), ctx.stamp()
    fields = {**HOUSEHOLD_BLANK, "forgotten_at": at}
    sets = ", ".join(f"{k} = :{k}" for k in fields)
    conn.execute(
        f"UPDATE households SET {sets}, head_name = '', address_key = :key, updated_at = :at,"
        " hlc = :hlc, worker_id = :w, device_id = :d WHERE id = :id",
        {
            **fields,
            "key": forgotten_address_key(household_id),
            "at": at,
            "hlc": hlc,
            "w": ctx.worker_id,
            "d": ctx.device_id,
            "id": household_id,
        },
    )
    ctx.emit("household", household_id, "update", fields, hlc, base_version=row["hlc"])
    blank = ", ".join(f"{k} = :{k}" for k in MEMBER_BLANK)
    for mid, base in conn.execute(
        "SELECT id, hlc FROM members WHERE household_id = ? ORDER BY position", (household_id,)
    ).fetchall():
        mhlc = ctx.stamp()
        conn.execute(
            f"UPDATE members SET {blank}, updated_at = :at, hlc = :hlc, worker_id = :w,"
            " device_id = :d WHERE id = :id",
            {
                **MEMBER_BLANK,
                "at": at,
                "hlc": mhlc,
                "w": ctx.worker_id,
                "d": ctx.device_id,
                "id": mid,
            },
        )
        ctx.emit("member", mid, "update", dict(MEMBER_BLANK), mhlc, base_version=base)
    labels = _retire_labels(ctx, household_id)
    erase(conn, household_id, forgotten_at=at, er=er)
    scrub_logs(conn, er, forgotten_at=at)
    ctx.audit(
        "forget",
        "household",
        household_id,
        household_id=household_id,
        detail={**er.counts(), "labels_retired": labels},
    )
    return er


def _retire_labels(ctx: WriteContext, household_id: str) -> int:
    """The door label leads to a record with nobody in it: retire it (a scan says so)."""
    if not _table_exists(ctx.conn, "labels"):
        return 0
    from db.labels import _retire_active

    return _retire_active(ctx, household_id)

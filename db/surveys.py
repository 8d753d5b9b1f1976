"""Questionnaires (imported XLSForm definitions) and their responses.

The definition is parsed and checked by :mod:`kiosk.domain.survey`; this module stores it as JSON
and stores responses (answers as JSON keyed by question name). Both are append-only: a new
version of a form is a new row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from db.context import WriteContext, now_iso
from db.ids import uuid7


@dataclass(frozen=True)
class Survey:
    id: str
    name: str
    title: str
    version: str
    definition: dict[str, Any]
    imported_at: str


@dataclass(frozen=True)
class Response:
    id: str
    survey_id: str
    household_id: str | None
    answers: dict[str, Any]
    started_at: str | None
    submitted_at: str
    worker_id: str | None


def _survey(r: sqlite3.Row) -> Survey:
    return Survey(
        r["id"], r["name"], r["title"], r["version"], json.loads(r["definition"]), r["imported_at"]
    )


def find_survey(conn: sqlite3.Connection, name: str, version: str | None = None) -> Survey | None:
    """The named form (its latest import unless ``version`` is given)."""
    if version is not None:
        row = conn.execute(
            "SELECT * FROM surveys WHERE name = ? AND version = ?", (name, version)
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT * FROM surveys WHERE name = ? ORDER BY imported_at DESC, id DESC LIMIT 1",
            (name,),
        ).fetchone()
    return _survey(row) if row else None


def survey_versions(conn: sqlite3.Connection, name: str) -> list[Survey]:
    """Every imported version of the named form, the newest first."""
    rows = conn.execute(
        "SELECT * FROM surveys WHERE name = ? ORDER BY imported_at DESC, id DESC", (name,)
    )
    return [_survey(r) for r in rows]


def get_survey(conn: sqlite3.Connection, survey_id: str) -> Survey | None:
    row = conn.execute("SELECT * FROM surveys WHERE id = ?", (survey_id,)).fetchone()
    return _survey(row) if row else None


def list_surveys(conn: sqlite3.Connection) -> list[Survey]:
    """The latest version of every form, by name."""
    rows = conn.execute(
        "SELECT * FROM surveys s WHERE s.id = (SELECT id FROM surveys t WHERE t.name = s.name"
        " ORDER BY imported_at DESC, id DESC LIMIT 1) ORDER BY name"
    )
    return [_survey(r) for r in rows]


def save_survey(
    ctx: WriteContext, *, name: str, title: str, version: str, definition: dict[str, Any]
) -> str:
    sid, hlc = uuid7(), ctx.stamp()
    fields = {
        "id": sid,
        "name": name,
        "title": title,
        "version": version,
        "definition": json.dumps(definition, ensure_ascii=False, separators=(",", ":")),
        "imported_at": now_iso(),
    }
    ctx.conn.execute(
        "INSERT INTO surveys(id, name, title, version, definition, imported_at, hlc, worker_id,"
        " device_id) VALUES (:id, :name, :title, :version, :definition, :imported_at, :hlc, :w, :d)",
        {**fields, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("survey", sid, "insert", fields, hlc)
    return sid


def save_response(
    ctx: WriteContext,
    survey_id: str,
    answers: dict[str, Any],
    *,
    household_id: str | None = None,
    started_at: str | None = None,
    submitted_at: str | None = None,
) -> str:
    rid, hlc = uuid7(), ctx.stamp()
    fields = {
        "id": rid,
        "survey_id": survey_id,
        "household_id": household_id,
        "answers": json.dumps(answers, ensure_ascii=False, separators=(",", ":")),
        "started_at": started_at,
        "submitted_at": submitted_at or now_iso(),
    }
    ctx.conn.execute(
        "INSERT INTO survey_responses(id, survey_id, household_id, answers, started_at,"
        " submitted_at, hlc, worker_id, device_id) VALUES (:id, :survey_id, :household_id,"
        " :answers, :started_at, :submitted_at, :hlc, :w, :d)",
        {**fields, "hlc": hlc, "w": ctx.worker_id, "d": ctx.device_id},
    )
    ctx.emit("survey_response", rid, "insert", fields, hlc)
    return rid


# A changed response is a new one naming the one it replaces in ``meta.deprecatedID``, as ODK
# does: responses stay immutable records (append-only, audited, synced as a set), and every
# list below shows the newest version only.
# Only a response from the same laptop and the same form may replace one: a device cannot
# hide another's answers by naming them in its own.
_CURRENT = (
    "NOT EXISTS (SELECT 1 FROM survey_responses n"
    " WHERE json_extract(n.answers, '$.meta.deprecatedID') = r.id"
    " AND n.device_id = r.device_id AND n.survey_id = r.survey_id)"
)


def _response(r: sqlite3.Row) -> Response:
    return Response(
        r["id"],
        r["survey_id"],
        r["household_id"],
        json.loads(r["answers"]),
        r["started_at"],
        r["submitted_at"],
        r["worker_id"],
    )


def iter_responses(conn: sqlite3.Connection, name: str) -> Iterator[Response]:
    """Every current response to any version of the named form, oldest first (streamed)."""
    cur = conn.execute(
        "SELECT r.* FROM survey_responses r JOIN surveys s ON s.id = r.survey_id"
        f" WHERE s.name = ? AND {_CURRENT} ORDER BY r.submitted_at, r.id",
        (name,),
    )
    for r in cur:
        yield _response(r)


def count_responses(conn: sqlite3.Connection, survey_id: str) -> int:
    return conn.execute(
        f"SELECT count(*) FROM survey_responses r WHERE survey_id = ? AND {_CURRENT}",
        (survey_id,),
    ).fetchone()[0]


def get_response(conn: sqlite3.Connection, response_id: str) -> Response | None:
    row = conn.execute("SELECT * FROM survey_responses WHERE id = ?", (response_id,)).fetchone()
    return _response(row) if row else None


def own_responses(
    conn: sqlite3.Connection, device_id: str, *, household_id: str | None = None, limit: int = 200
) -> list[tuple[Response, str]]:
    """This laptop's current responses, newest first, with their form's title: the ones a
    worker may review and change."""
    where = "r.device_id = ? AND " + _CURRENT
    params: list[object] = [device_id]
    if household_id is not None:
        where += " AND r.household_id = ?"
        params.append(household_id)
    rows = conn.execute(
        "SELECT r.*, s.title AS form_title FROM survey_responses r"
        f" JOIN surveys s ON s.id = r.survey_id WHERE {where}"
        " ORDER BY r.submitted_at DESC, r.id DESC LIMIT ?",
        (*params, limit),
    )
    return [(_response(r), r["form_title"]) for r in rows]


def last_response(conn: sqlite3.Connection, survey_id: str, device_id: str) -> Response | None:
    """The response last saved on this laptop with this form version (ODK's last-saved)."""
    row = conn.execute(
        "SELECT * FROM survey_responses r WHERE survey_id = ? AND device_id = ?"
        f" AND {_CURRENT} ORDER BY submitted_at DESC, id DESC LIMIT 1",
        (survey_id, device_id),
    ).fetchone()
    return _response(row) if row else None


def edit_response(ctx: WriteContext, response_id: str, answers: dict[str, Any]) -> str:
    """Change a response: a new one replacing it (same form version, household and start)."""
    old = get_response(ctx.conn, response_id)
    if old is None:
        raise LookupError(response_id)
    meta = dict(answers.get("meta") or {})
    meta["deprecatedID"] = old.id
    return save_response(
        ctx,
        old.survey_id,
        {**answers, "meta": meta},
        household_id=old.household_id,
        started_at=old.started_at,
    )

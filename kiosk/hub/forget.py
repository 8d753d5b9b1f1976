"""A household's erasure on request, as the hub carries it out (docs/security.md, "Privacy").

The hub keeps every operation it was sent (``hub_ops``), so when a push brings a household's
erasure (an update setting ``forgotten_at``, made by ``kiosk households forget``), the hub
scrubs the stored payloads of that household's records with the same rules as the laptops
(:func:`db.forget.scrub_payload`): the household and its members, its visits and their
problems, its survey responses, the cases it is part of and their events. A laptop that
pulls them later gets them erased.

It remembers the erased records as ``hub_scope`` rows of the pseudo-entity ``forgotten``
(no new table), and an operation pushed later for one of them (an edit made offline before
the erasure reached that laptop) is scrubbed before it is stored.

Finding the records reads the log of those entities once, in log order (an insert is always
stored before the updates of its record): no index is added to the ingest's hot path for an
operation this rare.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from db.forget import personal_values, scrub_payload
from kiosk.sync.protocol import Op

FORGOTTEN = "forgotten"
#: Entities whose records are found from the household by a field of their payload.
_LINKED = ("household", "member", "visit", "visit_item", "case_household", "survey_response")


def erasures(ops: list[Op]) -> list[tuple[str, str]]:
    """(household id, forgotten_at) of the erasures a batch carries."""
    return [
        (op.entity_id, str(op.payload["forgotten_at"]))
        for op in ops
        if op.entity == "household" and op.kind == "update" and op.payload.get("forgotten_at")
    ]


def scrub_late(store: Any, cur: Any, ops: list[Op]) -> list[Op]:
    """``ops`` with those that concern an erased household, member or visit scrubbed, and
    photos of an erased household's cases without their picture's name (and a new member or
    visit of an erased household remembered as erased too)."""
    cur.execute(store._q("SELECT 1 FROM hub_scope WHERE entity = ? LIMIT 1"), (FORGOTTEN,))
    if cur.fetchone() is None:
        return ops  # nothing was ever erased on this hub: the usual case costs one lookup
    wanted: set[str] = set()
    for op in ops:
        if op.entity in ("household", "member", "visit"):
            wanted.add(op.entity_id)
        for key in ("household_id", "visit_id"):
            value = op.payload.get(key)
            if isinstance(value, str) and value:
                wanted.add(value)
        if op.entity == "photo" and isinstance(op.payload.get("case_id"), str):
            wanted.add(op.payload["case_id"])  # a photo of an erased household's case
    forgotten = _known(store, cur, sorted(wanted))
    if not forgotten:
        return ops
    out, new = [], []
    for op in ops:
        p = op.payload
        if (
            op.entity_id in forgotten
            or p.get("household_id") in forgotten
            or p.get("visit_id") in forgotten
            or (op.entity == "photo" and p.get("case_id") in forgotten)
        ):
            op = msgspec.structs.replace(op, payload=scrub_payload(op.entity, p))
            if op.kind in ("insert", "append") and op.entity in ("member", "visit"):
                forgotten.add(op.entity_id)
                new.append(op.entity_id)
        out.append(op)
    _remember(store, cur, new)
    return out


def _known(store: Any, cur: Any, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        cur.execute(
            store._q(
                f"SELECT entity_id FROM hub_scope WHERE entity = ? AND entity_id IN"
                f" ({','.join('?' * len(chunk))})"
            ),
            [FORGOTTEN, *chunk],
        )
        found.update(r[0] for r in cur.fetchall())
    return found


def _remember(store: Any, cur: Any, ids: list[str]) -> None:
    if ids:
        store._insert_scope(cur, [(FORGOTTEN, i, None, None, None) for i in ids])


def erase(store: Any, cur: Any, household_id: str, forgotten_at: str) -> int:
    """Scrub every stored operation of the household's records (inside the ingest's
    transaction); returns how many payloads changed."""
    matched: list[tuple[str, str, dict[str, Any]]] = []  # (op_id, entity, payload)
    members: set[str] = set()
    visits: set[str] = set()
    cases: set[str] = set()
    marks = ",".join("?" * len(_LINKED))
    cur.execute(
        store._q(
            f"SELECT op_id, entity, entity_id, payload FROM hub_ops"
            f" WHERE entity IN ({marks}) ORDER BY {store.ORDER}"
        ),
        list(_LINKED),
    )
    for op_id, entity, entity_id, text in cur:  # streamed: the log may be large
        if entity == "household":
            if entity_id == household_id:
                matched.append((op_id, entity, json.loads(text)))
            continue
        if entity == "member" and entity_id in members:
            matched.append((op_id, entity, json.loads(text)))
            continue
        if household_id in text:
            payload = json.loads(text)
            if payload.get("household_id") == household_id:
                matched.append((op_id, entity, payload))
                if entity == "member":
                    members.add(entity_id)
                elif entity == "visit":
                    visits.add(entity_id)
                elif entity == "case_household" and payload.get("case_id"):
                    cases.add(payload["case_id"])
                continue
        if entity == "visit_item" and visits and any(v in text for v in visits):
            payload = json.loads(text)
            if payload.get("visit_id") in visits:
                matched.append((op_id, entity, payload))
    ids = sorted(cases)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        cur.execute(
            store._q(
                f"SELECT op_id, entity, payload FROM hub_ops WHERE case_id IN"
                f" ({','.join('?' * len(chunk))}) AND entity IN ('case', 'case_event', 'photo')"
            ),
            chunk,
        )
        matched += [(r[0], r[1], json.loads(r[2])) for r in cur.fetchall()]
    values = personal_values(_names(matched), _numbers(matched))
    changed = []
    for op_id, entity, payload in matched:
        clean = scrub_payload(entity, payload, values, forgotten_at=forgotten_at)
        if clean != payload:
            changed.append((json.dumps(clean, ensure_ascii=False, separators=(",", ":")), op_id))
    if changed:
        cur.executemany(store._q("UPDATE hub_ops SET payload = ? WHERE op_id = ?"), changed)
    # the pictures of its cases' photos go entirely (kiosk/hub/store/blobs.py)
    store._forget_photos(cur, sorted({p.get("id") or "" for _, e, p in matched if e == "photo"}))
    # its cases too: a photo of one that arrives later loses its picture's name on the way in
    _remember(store, cur, [household_id, *sorted(members), *sorted(visits), *sorted(cases)])
    return len(changed)


def _names(matched: list[tuple[str, str, dict[str, Any]]]) -> list[str | None]:
    out: list[str | None] = []
    for _, entity, p in matched:
        if entity == "member" and isinstance(p.get("name"), str):
            out.append(p["name"])
        elif entity == "case" and isinstance(p.get("raised_by"), str):
            out.append(p["raised_by"])
        elif entity == "visit":
            met = p.get("met")
            try:
                people = json.loads(met) if isinstance(met, str) else met
            except ValueError:
                continue
            if isinstance(people, list):
                out += [m.get("name") for m in people if isinstance(m, dict)]
    return out


def _numbers(matched: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return [
        p[k]
        for _, entity, p in matched
        if entity == "member"
        for k in ("phone", "id_number")
        if isinstance(p.get(k), str)
    ]

"""Seeding a hub from a laptop database (``kiosk hub seed --from PATH``).

Rows written in bulk (the demo district, a roster import) stand for data the office already
holds, so they never went through an outbox. Seeding turns every row of every replicated
entity into an insert operation with a deterministic op id (so seeding twice stores nothing
new), authored by the device and stamped with the HLC recorded on the row.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator

from db.replication import ENTITIES
from db.sync import LOCAL_COLUMNS, STAMP_COLUMNS
from kiosk.sync.protocol import Op

_NS = uuid.UUID("6f1c1d1e-5a0b-4e38-9a57-0b1f3c1d2e4f")
#: Derived columns a replica computes itself; not part of an insert payload.
DERIVED = frozenset({"address_key", "head_name", "member_count"})


def _schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def seed_ops(conn: sqlite3.Connection, batch: int = 2000) -> Iterator[list[Op]]:
    version = _schema_version(conn)
    out: list[Op] = []
    for name, ent in ENTITIES.items():
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (ent.table,)
        ).fetchone()
        if not exists:
            continue
        cur = conn.execute(f"SELECT * FROM {ent.table} ORDER BY hlc")
        cols = [d[0] for d in cur.description]
        for values in cur:
            row = dict(zip(cols, values, strict=True))
            payload = {
                k: v
                for k, v in row.items()
                if k not in STAMP_COLUMNS and k not in LOCAL_COLUMNS and k not in DERIVED
            }
            key = str(row[ent.key])
            out.append(
                Op(
                    op_id=str(uuid.uuid5(_NS, f"{name}:{key}")),
                    hlc=row["hlc"],
                    entity=name,
                    entity_id=key,
                    kind="insert",
                    payload=json.loads(json.dumps(payload)),
                    schema_version=version,
                    device_id=row["device_id"],
                    worker_id=row["worker_id"],
                )
            )
            if len(out) >= batch:
                yield out
                out = []
    if out:
        yield out

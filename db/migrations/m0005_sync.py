"""Sync on the laptop: the operation log (every operation received from the hub and every own
operation the hub acknowledged, so nothing is ever discarded), per-field versions for
last-writer-wins merging, the conflicts a worker reviews, and each outbox operation's
per-field base versions (filled by a trigger, so every writer's updates carry them without
knowing about sync). See docs/sync.md."""

from db.migrations import execute_script

VERSION = 5


def up(conn):
    execute_script(
        conn,
        """
        -- Every operation this replica has seen besides its pending outbox: received from the
        -- hub (origin 'hub') or pushed and acknowledged (origin 'local'). op_id is the
        -- primary key, so an operation is applied at most once however often it arrives.
        -- status: applied | duplicate (row already there) | orphan (its row has not arrived
        -- yet; retried when it does) | failed (kept, with the reason) | unknown (an entity
        -- this version does not know).
        CREATE TABLE oplog (
            op_id          TEXT PRIMARY KEY,
            hlc            TEXT NOT NULL,
            entity         TEXT NOT NULL,
            entity_id      TEXT NOT NULL,
            kind           TEXT NOT NULL,
            payload        TEXT NOT NULL,
            base_version   TEXT,
            field_bases    TEXT,
            schema_version INTEGER NOT NULL,
            worker_id      TEXT,
            device_id      TEXT NOT NULL,
            origin         TEXT NOT NULL CHECK (origin IN ('hub', 'local')),
            status         TEXT NOT NULL,
            detail         TEXT,
            logged_at      TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX oplog_pending ON oplog(entity, entity_id) WHERE status = 'orphan';

        -- The version ("<hlc> <device id>") of each field last written by an update, for
        -- per-field last-writer-wins. A field never updated since its row was inserted has
        -- no row here (its version is the insert's, older than any update).
        CREATE TABLE field_versions (
            entity    TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            field     TEXT NOT NULL,
            version   TEXT NOT NULL,
            PRIMARY KEY (entity, entity_id, field)
        ) WITHOUT ROWID;

        -- Concurrent edits of one field: both values kept; the winner (by HLC, then device
        -- id) is applied on every replica alike; the worker reviews and resolves.
        CREATE TABLE sync_conflicts (
            id             INTEGER PRIMARY KEY,
            entity         TEXT NOT NULL,
            entity_id      TEXT NOT NULL,
            field          TEXT NOT NULL,
            local_value    TEXT,           -- JSON
            local_version  TEXT NOT NULL,
            remote_value   TEXT,           -- JSON
            remote_version TEXT NOT NULL,
            remote_op_id   TEXT NOT NULL,
            winner         TEXT NOT NULL CHECK (winner IN ('local', 'remote')),
            status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
            resolution     TEXT,           -- mine | theirs | edit
            detected_at    TEXT NOT NULL,
            resolved_at    TEXT,
            UNIQUE (remote_op_id, field)
        );
        CREATE INDEX sync_conflicts_open ON sync_conflicts(status, id);

        ALTER TABLE outbox ADD COLUMN field_bases TEXT;

        -- A local update records, for each field it changes, the version it overwrote (the
        -- merge on other replicas compares it with theirs to tell a successor from a
        -- concurrent edit), then becomes that field's version.
        CREATE TRIGGER outbox_field_versions AFTER INSERT ON outbox WHEN NEW.kind = 'update'
        BEGIN
            UPDATE outbox SET field_bases = (
                SELECT json_group_object(j.key, fv.version)
                  FROM json_each(NEW.payload) j
                  JOIN field_versions fv
                    ON fv.entity = NEW.entity AND fv.entity_id = NEW.entity_id
                   AND fv.field = j.key)
             WHERE seq = NEW.seq;
            INSERT INTO field_versions(entity, entity_id, field, version)
                SELECT NEW.entity, NEW.entity_id, j.key, NEW.hlc || ' ' || NEW.device_id
                  FROM json_each(NEW.payload) j WHERE true
                ON CONFLICT(entity, entity_id, field) DO UPDATE SET version = excluded.version;
        END;
        """,
    )

"""Sign-in, audit and privacy: workers' PIN hashes, failed sign-ins on this laptop,
the append-only audit trail with its per-device hash chain, and households erased on request.
See docs/security.md."""

from db.migrations import execute_script

VERSION = 6


def up(conn):
    execute_script(
        conn,
        """
        -- argon2id hash of the worker's PIN (never the PIN). It replicates with the worker, so
        -- a worker can sign in on any laptop of their community after a sync.
        ALTER TABLE workers ADD COLUMN pin_hash TEXT;

        -- Failed sign-ins on this laptop, for the growing delay. Local: not replicated, and
        -- cleared by a successful sign-in.
        CREATE TABLE signin_failures (
            worker_id      TEXT PRIMARY KEY,
            failures       INTEGER NOT NULL,
            last_failed_at TEXT NOT NULL,     -- ISO time
            blocked_until  TEXT               -- ISO time; no attempt is checked before it
        ) WITHOUT ROWID;

        -- Who did what, when, from which device. Append-only: the triggers below refuse any
        -- UPDATE or DELETE. Each device's entries form a hash chain in dseq order
        -- (hash = sha256 over prev_hash and the entry's fields), so an edited, removed or
        -- inserted row breaks the chain. detail holds ids, field names and counts, never a
        -- personal value.
        CREATE TABLE audit (
            seq          INTEGER PRIMARY KEY,  -- local order of arrival
            id           TEXT NOT NULL UNIQUE, -- UUIDv7
            device_id    TEXT NOT NULL,
            dseq         INTEGER NOT NULL,     -- position in the device's chain, from 1
            at           TEXT NOT NULL,        -- ISO time with offset
            worker_id    TEXT,
            action       TEXT NOT NULL,
            entity       TEXT,
            entity_id    TEXT,
            household_id TEXT,
            detail       TEXT NOT NULL DEFAULT '{}',
            prev_hash    TEXT NOT NULL,
            hash         TEXT NOT NULL,
            UNIQUE (device_id, dseq)
        );
        CREATE INDEX audit_household ON audit(household_id, seq) WHERE household_id IS NOT NULL;
        CREATE INDEX audit_worker ON audit(worker_id, seq);
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit entries cannot be changed'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit entries cannot be deleted'); END;

        -- When the household's personal data was erased on request (kiosk households forget).
        ALTER TABLE households ADD COLUMN forgotten_at TEXT;
        """,
    )

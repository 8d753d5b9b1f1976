"""QR labels: household labels (``HH1:``) and case slips (``CS1:``).

A label row is created once and later only retired (``retired_at`` set), so it replicates
as a last-writer-wins entity whose one mutable field only ever goes from NULL to a time.
``generation`` counts a household's labels (1 for the first print, +1 per reprint). Two
devices that reprint the same household while apart both keep their new label active after
sync: each may already be on a door (see docs/qr.md).
"""

from db.migrations import execute_script

VERSION = 4

STAMPS = """
    hlc        TEXT NOT NULL,
    worker_id  TEXT,
    device_id  TEXT NOT NULL
"""


def up(conn):
    execute_script(
        conn,
        f"""
        CREATE TABLE labels (
            id            TEXT PRIMARY KEY,               -- UUIDv7
            kind          TEXT NOT NULL CHECK (kind IN ('HH', 'CS')),
            code          TEXT NOT NULL UNIQUE,           -- 12 Crockford base32 characters
            household_id  TEXT REFERENCES households(id), -- HH labels
            case_id       TEXT,                           -- CS slips (cases may arrive later)
            generation    INTEGER NOT NULL DEFAULT 1,
            created_at    TEXT NOT NULL,
            retired_at    TEXT,                           -- NULL while the label is valid
            {STAMPS},
            CHECK ((kind = 'HH' AND household_id IS NOT NULL)
                   OR (kind = 'CS' AND case_id IS NOT NULL))
        );
        CREATE INDEX labels_household ON labels(household_id, generation)
            WHERE household_id IS NOT NULL;
        CREATE INDEX labels_case ON labels(case_id) WHERE case_id IS NOT NULL;
        """,
    )

"""Photos on community feedback (``feedback_photos``): a replicated record per attachment,
owned by one feedback item, naming a picture kept once in ``photo_blobs`` (migration 16).

A table and entity of its own rather than a nullable ``feedback_id`` on ``photos``: every
replicated record has one owner, its first reference (db/replication.py), from which the
laptop's write guard and the hub derive its grid; a case photo's owner is its case, a
feedback photo's its feedback, with no "one of two owners" rule in either checker, and the
erasure of a household's case photos (db/forget.py) stays as it is."""

from db.migrations import execute_script

VERSION = 20


def up(conn):
    execute_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS feedback_photos (
            id          TEXT PRIMARY KEY,
            feedback_id TEXT NOT NULL,
            sha256      TEXT NOT NULL,
            width       INTEGER NOT NULL DEFAULT 0,
            height      INTEGER NOT NULL DEFAULT 0,
            bytes       INTEGER NOT NULL DEFAULT 0,
            added_at    TEXT NOT NULL,
            hlc         TEXT NOT NULL,
            worker_id   TEXT,
            device_id   TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS feedback_photos_feedback ON feedback_photos(feedback_id);
        CREATE INDEX IF NOT EXISTS feedback_photos_sha ON feedback_photos(sha256);
        """,
    )

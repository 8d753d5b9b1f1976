"""Photos as evidence on a case: the picture itself stored once by its SHA-256
(``photo_blobs``, not replicated as an operation: content moves on its own), and a replicated
record per attachment (``photos``: which case, which of its events, which picture).

A blob is the re-encoded JPEG only (kiosk/photos/prepare.py), never a file as it came from a
phone; it lives in the database so it is written in the same transaction as its record,
encrypted with the database when encryption at rest is on, and erased with it."""

from db.migrations import execute_script

VERSION = 16

STAMPS = """
    hlc        TEXT NOT NULL,
    worker_id  TEXT,
    device_id  TEXT NOT NULL
"""


def up(conn):
    execute_script(
        conn,
        f"""
        CREATE TABLE IF NOT EXISTS photo_blobs (
            sha256     TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
            data       BLOB NOT NULL,
            bytes      INTEGER NOT NULL,
            width      INTEGER NOT NULL,
            height     INTEGER NOT NULL,
            stored_at  TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS photos (
            id         TEXT PRIMARY KEY,
            case_id    TEXT NOT NULL,
            event_id   TEXT NOT NULL,
            sha256     TEXT NOT NULL,
            width      INTEGER NOT NULL DEFAULT 0,
            height     INTEGER NOT NULL DEFAULT 0,
            bytes      INTEGER NOT NULL DEFAULT 0,
            added_at   TEXT NOT NULL,
            {STAMPS}
        );
        CREATE INDEX IF NOT EXISTS photos_case ON photos(case_id);
        CREATE INDEX IF NOT EXISTS photos_sha ON photos(sha256);
        """,
    )

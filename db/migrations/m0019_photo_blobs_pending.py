"""The pictures the hub has not confirmed move to a table of their own
(``photo_blobs_pending``). Marking a picture sent used to update its row in ``photo_blobs``,
and SQLite writes a row whole: every confirmation rewrote the picture's bytes (146 MB
written again to confirm 500 pictures, 1.4 s of a sync)."""

VERSION = 19


def up(conn):
    conn.execute("DROP INDEX IF EXISTS photo_blobs_unsent")  # m0017's, on photo_blobs.sent_at
    conn.execute(
        "CREATE TABLE IF NOT EXISTS photo_blobs_pending (sha256 TEXT PRIMARY KEY) WITHOUT ROWID"
    )
    cols = {r[1] for r in conn.execute("PRAGMA table_info(photo_blobs)")}
    if "sent_at" in cols:
        conn.execute(
            "INSERT OR IGNORE INTO photo_blobs_pending(sha256)"
            " SELECT sha256 FROM photo_blobs WHERE sent_at IS NULL"
        )
        conn.execute("ALTER TABLE photo_blobs DROP COLUMN sent_at")

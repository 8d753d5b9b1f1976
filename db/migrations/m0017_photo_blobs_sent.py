"""A picture remembers when the hub confirmed it holds it (``sent_at``), so each sync asks the
hub only about pictures not confirmed yet (kiosk/sync/client.py)."""

VERSION = 17


def up(conn):
    cols = {r[1] for r in conn.execute("PRAGMA table_info(photo_blobs)")}
    if "sent_at" not in cols:
        conn.execute("ALTER TABLE photo_blobs ADD COLUMN sent_at TEXT")
    conn.execute(
        "CREATE INDEX IF NOT EXISTS photo_blobs_unsent ON photo_blobs(sha256) WHERE sent_at IS NULL"
    )

"""The trail keeps no index by household: ``kiosk audit --household`` reads the trail in
order instead (12 ms through 200,000 entries).

The index was the trail's one random-order structure: every batch of entries
(db/audit.py) put each entry in another part of it, so each commit wrote a page of it per
entry, and those pages crowded the write path's own out of SQLite's page cache (a visit's
link to its household took twice as long on a database larger than the cache). Measured in
``python -m bench audit``; docs/benchmarks.md#audit."""

from db.migrations import execute_script

VERSION = 13


def up(conn):
    execute_script(conn, "DROP INDEX IF EXISTS audit_household;")

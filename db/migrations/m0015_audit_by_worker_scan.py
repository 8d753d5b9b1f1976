"""The trail keeps no index by worker either: on a field laptop nearly every entry is its one
grid worker's, so the index narrowed nothing for ``kiosk audit --worker``, while each batch
of entries (db/audit.py) wrote pages of it at commit. The listing reads the trail newest
first, as for ``--household`` (m0013)."""

from db.migrations import execute_script

VERSION = 15


def up(conn):
    execute_script(conn, "DROP INDEX IF EXISTS audit_worker;")

"""Workers of role ``kiosk``: the identity a community's resident self-service counter acts
as (kiosk/security/roles.py). The first migration wrote the allowed roles into a CHECK
constraint, which SQLite cannot alter: the ``workers`` table is rebuilt from its own
definition with the list widened (the street and district overseers' roles included, so
their records replicate to every laptop whatever order the two changes arrive in)."""

import re

VERSION = 22

ROLES = ("worker", "supervisor", "admin", "street", "district", "kiosk")
_CHECK = re.compile(r"CHECK\s*\(\s*role\s+IN\s*\([^)]*\)\s*\)", re.IGNORECASE)


def up(conn):
    (sql,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'workers'"
    ).fetchone()
    allowed = ", ".join(f"'{r}'" for r in ROLES)
    wider = _CHECK.sub(f"CHECK (role IN ({allowed}))", sql, count=1)
    if wider == sql:
        return  # no such constraint: nothing to widen
    columns = ", ".join(r[1] for r in conn.execute("PRAGMA table_info(workers)"))
    conn.execute(wider.replace("workers", "workers_new", 1))
    conn.execute(f"INSERT INTO workers_new({columns}) SELECT {columns} FROM workers")
    conn.execute("DROP TABLE workers")
    conn.execute("ALTER TABLE workers_new RENAME TO workers")

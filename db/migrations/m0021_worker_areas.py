"""The street and district of a worker who oversees one (roles ``street`` and ``district``):
a 街道 supervisor reaches every grid whose ``street`` is theirs, a district's every grid of
the district (kiosk/security/roles.py). Columns of the replicated ``workers`` record, so the
office replica and every laptop know them. NULL for the other roles.

The first schema held ``role`` to three values with a CHECK constraint, which SQLite cannot
alter: the table is rebuilt without it (the roles are checked where a worker is written,
db/workers.py ROLES, and a role this version does not know is allowed nothing:
kiosk/security/roles.py)."""

import re

VERSION = 21

_ROLE_CHECK = re.compile(r"\s*CHECK\s*\(\s*role\s+IN\s*\([^)]*\)\s*\)", re.IGNORECASE)


def up(conn):
    (sql,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'workers'"
    ).fetchone()
    if _ROLE_CHECK.search(sql):
        indexes = [
            r[0]
            for r in conn.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'workers'"
                " AND type IN ('index', 'trigger') AND sql IS NOT NULL"
            )
        ]
        columns = ", ".join(r[1] for r in conn.execute("PRAGMA table_info(workers)"))
        new = _ROLE_CHECK.sub("", sql, count=1)
        new = re.sub(
            r"^CREATE TABLE\s+(IF NOT EXISTS\s+)?\"?workers\"?", "CREATE TABLE workers_new", new
        )
        conn.execute(new)
        conn.execute(f"INSERT INTO workers_new({columns}) SELECT {columns} FROM workers")
        conn.execute("DROP TABLE workers")
        conn.execute("ALTER TABLE workers_new RENAME TO workers")
        for statement in indexes:
            conn.execute(statement)
    have = {r[1] for r in conn.execute("PRAGMA table_info(workers)")}
    for column in ("street", "district"):
        if column not in have:
            conn.execute(f"ALTER TABLE workers ADD COLUMN {column} TEXT")

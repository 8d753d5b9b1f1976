"""The responsible departments (责任单位) each community assigns its cases to: a list kept by
the community's supervisor (or the administrator), replicated to every device so a case is
assigned by choosing from it. A department is retired, never deleted: cases assigned to it
keep its name. See docs/cases.md#departments."""

from db.migrations import execute_script
from db.migrations.m0001_foundation import STAMPS

VERSION = 11


def up(conn):
    execute_script(
        conn,
        f"""
        CREATE TABLE departments (
            id          TEXT PRIMARY KEY,
            community   TEXT NOT NULL,
            name        TEXT NOT NULL,
            retired_at  TEXT,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL,
            {STAMPS}
        );
        CREATE INDEX departments_community ON departments(community, name);
        """,
    )

"""Who still lives here. A member who moves out or dies, and a household that moves out or
leaves its flat empty, keep their rows (history, cases, visits stay readable): ``status``
says what happened ('' while living here) and ``left_on`` / ``status_on`` when, as an ISO
date. Lists, the walk list and the figures count only who lives here. See
docs/household-editing.md."""

from db.migrations import execute_script

VERSION = 10


def up(conn):
    execute_script(
        conn,
        """
        ALTER TABLE members ADD COLUMN status TEXT NOT NULL DEFAULT '';
        ALTER TABLE members ADD COLUMN left_on TEXT NOT NULL DEFAULT '';
        ALTER TABLE households ADD COLUMN status TEXT NOT NULL DEFAULT '';
        ALTER TABLE households ADD COLUMN status_on TEXT NOT NULL DEFAULT '';
        """,
    )

"""A grid or compound that no longer exists on the ground (merged, pulled down) is retired,
never deleted: its households' history keeps its name, and it is no longer offered when a
household is registered or a roster names it. See docs/areas.md."""

from db.migrations import execute_script

VERSION = 12


def up(conn):
    execute_script(
        conn,
        """
        ALTER TABLE grids ADD COLUMN retired_at TEXT;
        ALTER TABLE compounds ADD COLUMN retired_at TEXT;
        """,
    )

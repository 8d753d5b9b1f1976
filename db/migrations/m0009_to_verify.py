"""Numbers a roster gave that do not check out (an ID number whose check character is wrong,
a phone that is not a phone) are kept as typed and marked to verify (待核实) rather than
losing the person: ``to_verify`` names the fields, space-separated (``phone id_number``);
empty when nothing is doubtful. See docs/roster-import.md."""

from db.migrations import execute_script

VERSION = 9


def up(conn):
    execute_script(
        conn,
        """
        ALTER TABLE members ADD COLUMN to_verify TEXT NOT NULL DEFAULT '';
        CREATE INDEX members_to_verify ON members(household_id) WHERE to_verify != '';
        """,
    )

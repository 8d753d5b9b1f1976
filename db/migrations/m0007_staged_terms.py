"""Bulk loads stage a household's search keys as one row (a JSON array) instead of one row
per key: a million-household demo hands SQLite a million rows here, not thirteen million.
Keys an interrupted load left in the old per-key table move over, grouped by household."""

from db.migrations import execute_script

VERSION = 7


def up(conn):
    execute_script(
        conn,
        """
        -- Search keys of a bulk load (the demo), folded into search_terms in key order when
        -- the load ends, or when the database is next opened if the load was interrupted.
        CREATE TABLE search_terms_staged (
            hh    INTEGER NOT NULL,
            terms TEXT NOT NULL          -- JSON array of keys: ["n:张焕丽", "p:zhanghuanli", ...]
        );
        INSERT INTO search_terms_staged(hh, terms)
            SELECT hh, json_group_array(term) FROM search_terms_pending GROUP BY hh;
        DROP TABLE search_terms_pending;
        """,
    )

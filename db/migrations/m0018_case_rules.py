"""A community's rules for its cases, kept by its supervisor and replicated to every device
(entity ``case_rule``), so every laptop of the community applies the same ones. One row per
(community, category group); ``after_photo`` = 1: resolving a case of that group needs a
photo of the repair on the resolution step. See docs/cases.md#after-photos."""

from db.migrations import execute_script
from db.migrations.m0001_foundation import STAMPS

VERSION = 18


def up(conn):
    execute_script(
        conn,
        f"""
        CREATE TABLE IF NOT EXISTS case_rules (
            id              TEXT PRIMARY KEY,
            community       TEXT NOT NULL,
            category_group  TEXT NOT NULL,
            after_photo     INTEGER NOT NULL DEFAULT 0,
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL,
            {STAMPS}
        );
        CREATE INDEX IF NOT EXISTS case_rules_community ON case_rules(community, category_group);
        """,
    )

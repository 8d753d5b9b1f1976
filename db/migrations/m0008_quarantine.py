"""Operations the hub refused stay in the outbox, held with the hub's reason, until they are
sent again (their cause fixed) or a supervisor discards them (then they move to the operation
log, status ``discarded``): one refused change never stops the others, and nothing is
dropped. See docs/sync.md, "Refused changes"."""

from db.migrations import execute_script

VERSION = 8


def up(conn):
    execute_script(
        conn,
        """
        -- NULL: waiting to be pushed. Else JSON {code, params, message, at}: the hub refused
        -- it; pushes and bundles skip it until it is released.
        ALTER TABLE outbox ADD COLUMN refused TEXT;
        CREATE INDEX outbox_refused ON outbox(seq) WHERE refused IS NOT NULL;
        """,
    )

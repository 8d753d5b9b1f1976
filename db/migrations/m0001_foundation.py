"""The foundation: device metadata, workers, the address hierarchy, households, members,
search terms and the sync outbox."""

from db.migrations import execute_script

VERSION = 1

# Every replicated row says who wrote it, on which device, and when (HLC stamp).
STAMPS = """
    hlc        TEXT NOT NULL,
    worker_id  TEXT,
    device_id  TEXT NOT NULL
"""


def up(conn):
    execute_script(
        conn,
        f"""
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        CREATE TABLE devices (
            id    TEXT PRIMARY KEY,
            name  TEXT NOT NULL,
            {STAMPS}
        );

        CREATE TABLE workers (
            id        TEXT PRIMARY KEY,
            name      TEXT NOT NULL UNIQUE,
            role      TEXT NOT NULL CHECK (role IN ('worker', 'supervisor', 'admin')),
            grids     TEXT NOT NULL DEFAULT '[]',      -- JSON list of grid codes
            community TEXT,
            disabled  INTEGER NOT NULL DEFAULT 0,
            {STAMPS}
        );

        -- The address hierarchy above the compound is denormalised into grids: a grid
        -- belongs to one community, which belongs to one street office and district.
        CREATE TABLE grids (
            id        TEXT PRIMARY KEY,
            code      TEXT NOT NULL UNIQUE,
            name      TEXT NOT NULL,
            community TEXT NOT NULL,
            street    TEXT NOT NULL,
            district  TEXT NOT NULL,
            {STAMPS}
        );

        CREATE TABLE compounds (
            id        TEXT PRIMARY KEY,
            grid_id   TEXT NOT NULL REFERENCES grids(id),
            name      TEXT NOT NULL,
            pinyin    TEXT NOT NULL,     -- full pinyin, no spaces: yangguangxiaoqu
            initials  TEXT NOT NULL,     -- ygxq
            {STAMPS},
            UNIQUE (grid_id, name)
        );
        CREATE INDEX compounds_name ON compounds(name);
        CREATE INDEX compounds_pinyin ON compounds(pinyin);
        CREATE INDEX compounds_initials ON compounds(initials);

        -- rid is a local integer key for the search index; id is the replicated UUIDv7.
        CREATE TABLE households (
            rid          INTEGER PRIMARY KEY,
            id           TEXT NOT NULL UNIQUE,
            grid_id      TEXT NOT NULL REFERENCES grids(id),
            compound_id  TEXT NOT NULL REFERENCES compounds(id),
            building     TEXT NOT NULL,
            unit         TEXT NOT NULL,
            room         TEXT NOT NULL,
            address_key  TEXT NOT NULL,   -- normalised "building-unit-room"
            head_name    TEXT NOT NULL DEFAULT '',
            member_count INTEGER NOT NULL DEFAULT 0,
            tags         TEXT NOT NULL DEFAULT '',  -- space-separated care tag codes
            note         TEXT NOT NULL DEFAULT '',
            created_at   TEXT NOT NULL,
            updated_at   TEXT NOT NULL,
            {STAMPS},
            UNIQUE (compound_id, address_key)
        );
        CREATE INDEX households_walk ON households(grid_id, compound_id, address_key);

        CREATE TABLE members (
            id           TEXT PRIMARY KEY,
            household_id TEXT NOT NULL REFERENCES households(id),
            name         TEXT NOT NULL,
            relation     TEXT NOT NULL DEFAULT '',
            gender       TEXT NOT NULL DEFAULT '',
            phone        TEXT NOT NULL DEFAULT '',
            id_number    TEXT NOT NULL DEFAULT '',
            birth_year   INTEGER,
            tags         TEXT NOT NULL DEFAULT '',
            position     INTEGER NOT NULL DEFAULT 0,
            created_at   TEXT NOT NULL,
            updated_at   TEXT NOT NULL,
            {STAMPS}
        );
        CREATE INDEX members_household ON members(household_id, position);

        -- Precomputed search keys ("n:张焕丽", "p:zhanghuanli", "i:zhl", "t:5678",
        -- "a:3-2-501"), one row per (key, household). Prefix search is an index range scan.
        CREATE TABLE search_terms (
            term TEXT NOT NULL,
            hh   INTEGER NOT NULL,
            PRIMARY KEY (term, hh)
        ) WITHOUT ROWID;

        -- Bulk loads (the demo) stage search keys here and fold them into search_terms in
        -- key order at the end: one sequential pass instead of millions of random inserts.
        -- Any rows left by an interrupted load are folded in when the database is next opened.
        CREATE TABLE search_terms_pending (
            term TEXT NOT NULL,
            hh   INTEGER NOT NULL
        );

        -- Operations waiting to be pushed to the hub, written in the same transaction as the
        -- change they describe. seq is this device's sequence number (never reused).
        CREATE TABLE outbox (
            seq            INTEGER PRIMARY KEY AUTOINCREMENT,
            op_id          TEXT NOT NULL UNIQUE,
            hlc            TEXT NOT NULL,
            entity         TEXT NOT NULL,
            entity_id      TEXT NOT NULL,
            kind           TEXT NOT NULL,     -- insert | update | append | delete
            payload        TEXT NOT NULL,     -- JSON: the fields written
            base_version   TEXT,              -- the row's HLC before this change
            schema_version INTEGER NOT NULL,
            worker_id      TEXT,
            device_id      TEXT NOT NULL
        );
        """,
    )

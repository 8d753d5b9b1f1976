"""The case ledger: cases (immutable registration data), the households each case involves,
the append-only event log, and a local cache of each case's folded state.

``case_state`` is derived data, never replicated: a trigger marks a case dirty whenever an
event (or the case) arrives by any path, local write or sync, and :func:`db.cases.refresh_dirty`
re-folds the dirty ones. Lists, filters and figures read the cache so they page and count in
SQL.
"""

from db.migrations import execute_script

VERSION = 3

STAMPS = """
    hlc        TEXT NOT NULL,
    worker_id  TEXT,
    device_id  TEXT NOT NULL
"""


def up(conn):
    execute_script(
        conn,
        f"""
        CREATE TABLE cases (
            rid            INTEGER PRIMARY KEY,
            id             TEXT NOT NULL UNIQUE,
            number         TEXT NOT NULL,       -- 2026-3F9A-000123: year, device tag, sequence
            category       TEXT NOT NULL,       -- sub-category code (parking, roof_leak...)
            category_group TEXT NOT NULL,       -- group code (urban, livelihood...)
            summary        TEXT NOT NULL,
            grid_id        TEXT,                -- grid of the first household
            visit_id       TEXT,                -- the visit it was raised at, if any
            raised_by      TEXT,                -- who raised it (free text)
            registered_at  TEXT NOT NULL,       -- ISO date-time
            {STAMPS}
        );
        CREATE INDEX cases_number ON cases(number);
        CREATE INDEX cases_visit ON cases(visit_id) WHERE visit_id IS NOT NULL;

        CREATE TABLE case_households (
            id           TEXT PRIMARY KEY,
            case_id      TEXT NOT NULL,
            household_id TEXT NOT NULL,
            {STAMPS},
            UNIQUE (case_id, household_id)
        );
        CREATE INDEX case_households_household ON case_households(household_id);

        CREATE TABLE case_events (
            id       TEXT PRIMARY KEY,
            case_id  TEXT NOT NULL,
            type     TEXT NOT NULL,
            at       TEXT NOT NULL,             -- ISO date-time the step was taken
            data     TEXT NOT NULL DEFAULT '{{}}',  -- JSON: department, person, due, note, rating...
            {STAMPS}
        );
        CREATE INDEX case_events_case ON case_events(case_id, hlc, device_id, id);

        CREATE TABLE case_state (
            case_id        TEXT PRIMARY KEY,
            dirty          INTEGER NOT NULL DEFAULT 1,
            status         TEXT NOT NULL DEFAULT 'registered',
            grid_id        TEXT,
            category       TEXT,
            category_group TEXT,
            registered_at  TEXT,
            department     TEXT,
            person         TEXT,
            due            TEXT,
            manual_level   INTEGER NOT NULL DEFAULT 0,
            reopen_count   INTEGER NOT NULL DEFAULT 0,
            resolve_count  INTEGER NOT NULL DEFAULT 0,
            on_spot        INTEGER NOT NULL DEFAULT 0,
            resolved_at    TEXT,
            first_resolved_at TEXT,
            rating         TEXT,
            last_rating    TEXT,
            closed_at      TEXT,
            close_kind     TEXT,
            repeat_of      TEXT,
            unreached      INTEGER NOT NULL DEFAULT 0,
            n_events       INTEGER NOT NULL DEFAULT 0,
            n_invalid      INTEGER NOT NULL DEFAULT 0,
            last_at        TEXT,
            week           TEXT,                -- Monday of the registration week
            fig            INTEGER NOT NULL DEFAULT 0  -- figure flags (kiosk.cases.figures.FLAG_*)
        );
        CREATE INDEX case_state_list ON case_state(status, registered_at);
        CREATE INDEX case_state_grid ON case_state(grid_id, registered_at);
        CREATE INDEX case_state_dirty ON case_state(dirty) WHERE dirty = 1;
        -- Covering indexes for the figures: each breakdown is an index-ordered scan.
        CREATE INDEX case_state_fig_grid ON case_state(grid_id, fig, due, manual_level, registered_at);
        CREATE INDEX case_state_fig_category ON case_state(category, fig, due, manual_level, registered_at, grid_id);
        CREATE INDEX case_state_fig_group ON case_state(category_group, fig, due, manual_level, registered_at, grid_id);
        CREATE INDEX case_state_fig_department ON case_state(department, fig, due, manual_level, registered_at, grid_id);
        CREATE INDEX case_state_fig_week ON case_state(week, fig, due, manual_level, registered_at, grid_id);

        CREATE TRIGGER cases_state_new AFTER INSERT ON cases BEGIN
            INSERT INTO case_state(case_id, dirty) VALUES (NEW.id, 1)
                ON CONFLICT(case_id) DO UPDATE SET dirty = 1;
        END;
        CREATE TRIGGER case_events_state_dirty AFTER INSERT ON case_events BEGIN
            INSERT INTO case_state(case_id, dirty) VALUES (NEW.case_id, 1)
                ON CONFLICT(case_id) DO UPDATE SET dirty = 1;
        END;
        """,
    )

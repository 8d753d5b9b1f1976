"""Visits and their problems/suggestions, community feedback, questionnaires and their
responses, the walk-list state kept by a trigger, and local (never replicated) form drafts."""

from db.migrations import execute_script

VERSION = 2

STAMPS = """
    hlc        TEXT NOT NULL,
    worker_id  TEXT,
    device_id  TEXT NOT NULL
"""


def up(conn):
    execute_script(
        conn,
        f"""
        -- One visit to one household (append-only: a visit is a record of what happened).
        CREATE TABLE visits (
            id           TEXT PRIMARY KEY,
            household_id TEXT NOT NULL REFERENCES households(id),
            grid_id      TEXT NOT NULL,
            visit_type   TEXT NOT NULL CHECK (visit_type IN ('door', 'patrol', 'meeting', 'phone')),
            visited_at   TEXT NOT NULL,     -- ISO 8601 local time with offset
            visit_date   TEXT NOT NULL,     -- YYYY-MM-DD, local date of visited_at
            nobody_home  INTEGER NOT NULL DEFAULT 0 CHECK (nobody_home IN (0, 1)),
            revisit_on   TEXT,              -- YYYY-MM-DD, set when nobody was home
            met          TEXT NOT NULL DEFAULT '[]',  -- JSON [{{"member_id": id|null, "name": str}}]
            note         TEXT NOT NULL DEFAULT '',
            {STAMPS}
        );
        CREATE INDEX visits_household ON visits(household_id, visited_at);
        CREATE INDEX visits_date ON visits(visit_date);

        -- Problems and suggestions raised during a visit. A problem is registered as a case
        -- (case_id) in the same transaction once the case ledger is present.
        CREATE TABLE visit_items (
            id        TEXT PRIMARY KEY,
            visit_id  TEXT NOT NULL REFERENCES visits(id),
            kind      TEXT NOT NULL CHECK (kind IN ('problem', 'suggestion')),
            category  TEXT NOT NULL DEFAULT '',
            text      TEXT NOT NULL,
            position  INTEGER NOT NULL DEFAULT 0,
            case_id   TEXT,
            {STAMPS}
        );
        CREATE INDEX visit_items_visit ON visit_items(visit_id, position);

        -- Derived, local: the latest visit per household, for the walk list. Kept by the
        -- trigger below, so rows arriving by sync (in any order) update it too.
        CREATE TABLE visit_status (
            household_id  TEXT PRIMARY KEY,
            last_visit_at TEXT NOT NULL,
            last_visit_id TEXT NOT NULL,
            nobody_home   INTEGER NOT NULL,
            revisit_on    TEXT,
            last_met_at   TEXT            -- latest visit where somebody was met
        ) WITHOUT ROWID;

        CREATE TRIGGER visits_status_ai AFTER INSERT ON visits BEGIN
            INSERT INTO visit_status(household_id, last_visit_at, last_visit_id, nobody_home,
                                     revisit_on, last_met_at)
            VALUES (NEW.household_id, NEW.visited_at, NEW.id, NEW.nobody_home, NEW.revisit_on,
                    CASE WHEN NEW.nobody_home = 0 THEN NEW.visited_at END)
            ON CONFLICT(household_id) DO UPDATE SET
                nobody_home = CASE WHEN excluded.last_visit_at >= last_visit_at
                                   THEN excluded.nobody_home ELSE nobody_home END,
                revisit_on = CASE WHEN excluded.last_visit_at >= last_visit_at
                                  THEN excluded.revisit_on ELSE revisit_on END,
                last_visit_id = CASE WHEN excluded.last_visit_at >= last_visit_at
                                     THEN excluded.last_visit_id ELSE last_visit_id END,
                last_met_at = CASE
                    WHEN excluded.last_met_at IS NULL THEN last_met_at
                    WHEN last_met_at IS NULL OR excluded.last_met_at > last_met_at
                        THEN excluded.last_met_at
                    ELSE last_met_at END,
                last_visit_at = max(last_visit_at, excluded.last_visit_at);
        END;

        -- Community feedback not tied to one household (street stall, residents' council).
        CREATE TABLE feedback (
            id          TEXT PRIMARY KEY,
            grid_id     TEXT,
            source      TEXT NOT NULL DEFAULT 'other'
                        CHECK (source IN ('stall', 'council', 'phone', 'other')),
            category    TEXT NOT NULL,
            text        TEXT NOT NULL,
            anonymous   INTEGER NOT NULL DEFAULT 0 CHECK (anonymous IN (0, 1)),
            raised_by   TEXT NOT NULL DEFAULT '',   -- empty when anonymous
            place       TEXT NOT NULL DEFAULT '',
            created_at  TEXT NOT NULL,
            {STAMPS}
        );
        CREATE INDEX feedback_created ON feedback(created_at);

        -- Questionnaires: an imported XLSForm (definition as parsed JSON), one row per version.
        CREATE TABLE surveys (
            id          TEXT PRIMARY KEY,
            name        TEXT NOT NULL,     -- the form_id
            title       TEXT NOT NULL,
            version     TEXT NOT NULL,
            definition  TEXT NOT NULL,     -- JSON, see kiosk/domain/survey.py
            imported_at TEXT NOT NULL,
            {STAMPS},
            UNIQUE (name, version)
        );

        CREATE TABLE survey_responses (
            id           TEXT PRIMARY KEY,
            survey_id    TEXT NOT NULL REFERENCES surveys(id),
            household_id TEXT,               -- NULL: anonymous
            answers      TEXT NOT NULL,      -- JSON {{question name: value}}
            started_at   TEXT,
            submitted_at TEXT NOT NULL,
            {STAMPS}
        );
        CREATE INDEX survey_responses_survey ON survey_responses(survey_id, submitted_at);
        CREATE INDEX survey_responses_household ON survey_responses(household_id);

        -- Drafts of open forms, saved as the worker types. Local to this laptop: never in the
        -- outbox, never replicated (see docs/visits.md).
        CREATE TABLE drafts (
            key        TEXT PRIMARY KEY,    -- "visit:<household id>", "feedback", ...
            kind       TEXT NOT NULL,
            payload    TEXT NOT NULL,       -- JSON of the form's fields
            updated_at TEXT NOT NULL
        );
        """,
    )

"""Databases migrated by an early build of m0003 lack the figure columns of the case cache
(``case_state.week``, ``fig``) and their indexes: add them and mark every case to be folded
again (the cache is derived data, so this loses nothing). Other databases are unchanged.

This was checked at every fold of a case, where asking SQLite for the table's columns cost a
visit with three problems 60 us of its 1.2 ms; once, here, it costs nothing afterwards."""

from db.migrations import execute_script

VERSION = 14

FIGURE_INDEXES = {
    "case_state_fig_grid": "grid_id, fig, due, manual_level, registered_at",
    "case_state_fig_category": "category, fig, due, manual_level, registered_at, grid_id",
    "case_state_fig_group": "category_group, fig, due, manual_level, registered_at, grid_id",
    "case_state_fig_department": "department, fig, due, manual_level, registered_at, grid_id",
    "case_state_fig_week": "week, fig, due, manual_level, registered_at, grid_id",
}


def up(conn):
    columns = {r[1] for r in conn.execute("PRAGMA table_info(case_state)")}
    if "fig" in columns:
        return
    script = ""
    if "week" not in columns:
        script += "ALTER TABLE case_state ADD COLUMN week TEXT;\n"
    script += "ALTER TABLE case_state ADD COLUMN fig INTEGER NOT NULL DEFAULT 0;\n"
    for name, indexed in FIGURE_INDEXES.items():
        script += f"CREATE INDEX IF NOT EXISTS {name} ON case_state({indexed});\n"
    script += "UPDATE case_state SET dirty = 1;\n"
    execute_script(conn, script)

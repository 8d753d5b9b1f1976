"""Grid Kiosk's data layer: SQLite schema, migrations, queries and the change outbox.

This package imports nothing above it: no kiosk, no screens, no Textual (import-linter holds
it, pyproject.toml). Everything here returns plain dataclasses so the CLI, the hub and the
interface can share it. Import its modules (db.connection, db.context...), not this root.
"""

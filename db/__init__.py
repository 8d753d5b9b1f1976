"""Grid Kiosk's data layer: SQLite schema, migrations, queries and the change outbox.

This package never imports Textual (tests/test_import_hygiene.py proves it): everything here
returns plain dataclasses so the CLI, the hub and the interface can share it.
"""

from db.connection import Database, open_database, transaction
from db.context import WriteContext

__all__ = ["Database", "WriteContext", "open_database", "transaction"]

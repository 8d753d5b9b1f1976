"""Which hub store a URL names: ``postgresql://...`` or a SQLite file."""

from __future__ import annotations

from kiosk.hub.store.base import HubStore


def open_store(url: str | None) -> HubStore:
    """The store at ``url``: ``postgresql://...`` or a SQLite file path (default: the hub's
    data dir)."""
    if url and url.startswith(("postgresql://", "postgres://")):
        from kiosk.hub.store.postgres import PostgresHubStore

        return PostgresHubStore(url)
    from kiosk.hub.store.sqlite import SqliteHubStore

    if not url:
        from kiosk.core.config import data_dir

        url = str(data_dir() / "hub.db")
    return SqliteHubStore(url.removeprefix("sqlite:///").removeprefix("sqlite://"))

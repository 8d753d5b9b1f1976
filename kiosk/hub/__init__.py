"""The hub: an ASGI app (Starlette on uvicorn) that stores every device's operations and
serves each device the ones in its scope. Storage is behind :class:`kiosk.hub.store.base.HubStore`:
embedded SQLite for a community office, PostgreSQL for a district. See docs/sync.md.
"""

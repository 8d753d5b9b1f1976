"""kiosk.households: see docs/architecture.md."""

"""kiosk.core: see docs/architecture.md."""

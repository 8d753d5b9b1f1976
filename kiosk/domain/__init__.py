"""kiosk.domain: see docs/architecture.md."""
